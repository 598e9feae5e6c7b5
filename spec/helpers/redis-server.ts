/**
 * A redis-server of our own on a free port, so a test can really stop it (kill -9) and start it again on the
 * same port. The append-only file (fsync on every write) is what lets a legacy session survive the outage,
 * as it would on a production Redis with persistence.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { closedPort } from "./services.js";

export interface OwnRedis {
  url: string;
  port: number;
  /** SIGKILL: connections drop at once and new ones are refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (no-op when running); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it for good and deletes its data directory. */
  dispose(): Promise<void>;
}

export async function spawnRedis(): Promise<OwnRedis> {
  const port = await closedPort();
  const dir = await mkdtemp(path.join(tmpdir(), "stm-redis-"));
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child) return;
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = proc;
    await new Promise<void>((resolve, reject) => {
      let out = "";
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("Ready to accept connections")) {
          proc.stdout.off("data", onData);
          proc.stdout.resume();
          resolve();
        }
      };
      proc.stdout.on("data", onData);
      proc.once("exit", (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${out}`)));
    });
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    });
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
