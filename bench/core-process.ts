import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface CoreProcess {
  url: string;
  /** The server's process id (taskset execs it, so it is the server's own), for reading its memory from /proc. */
  pid: number | undefined;
  /** The CPU the server is pinned to, or undefined when it is not pinned. */
  cpu: number | undefined;
  /**
   * CPU seconds the server process has used so far (all threads, user + system), or undefined off Linux.
   * Requests per CPU-second do not depend on what else the machine is running, unlike requests per second.
   */
  cpuSeconds(): number | undefined;
  close(): Promise<void>;
}

function hasTaskset() {
  return process.platform === "linux" && spawnSync("taskset", ["--version"], { stdio: "ignore" }).status === 0;
}

const clockTicks = 100; // USER_HZ: fixed at 100 for /proc on every Linux architecture Node supports

function procCpuSeconds(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * The dev core in its own process, started through the real CLI (`lib/cli/main.ts dev-core`), so the load
 * generator and the server never share an event loop: in one process every millisecond autocannon spends
 * building requests and parsing responses is a millisecond the core cannot sign, and the figure would measure
 * both together. On Linux with ≥ 2 CPUs the server is pinned to the last CPU (BENCH_PIN=0 turns that off), so
 * it gets exactly one core, as one Node process gets in production, and the load generator gets the rest.
 * BENCH_PROFILE=1 writes a V8 CPU profile of the server to .bench-out/.
 */
export function startCoreProcess(config?: Record<string, unknown>): Promise<CoreProcess> {
  return startServerProcess("dev core", path.join(root, "lib/cli/main.ts"), [
    "dev-core",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    ...(config ? ["--config", JSON.stringify(config)] : []),
  ]);
}

/**
 * Any server script (run with tsx) that prints `listening on <url>`, started and pinned as the dev core is.
 * `pin: false` leaves it unpinned (an app under load beside a pinned core); `env` is added to this process's.
 */
export async function startServerProcess(
  label: string,
  script: string,
  scriptArgs: string[] = [],
  options: { pin?: boolean; env?: Record<string, string> } = {},
): Promise<CoreProcess> {
  const nodeArgs = ["--import", "tsx"];
  if (process.env.BENCH_PROFILE === "1") {
    const dir = path.join(root, ".bench-out");
    mkdirSync(dir, { recursive: true });
    nodeArgs.unshift("--cpu-prof", `--cpu-prof-dir=${dir}`);
  }
  const args = [...nodeArgs, script, ...scriptArgs];
  const cpuCount = os.availableParallelism();
  const pin = options.pin !== false && process.env.BENCH_PIN !== "0";
  const cpu = pin && cpuCount >= 2 && hasTaskset() ? cpuCount - 1 : undefined;
  const spawnOptions = {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "inherit"] as ["ignore", "pipe", "inherit"],
  };
  const child =
    cpu === undefined
      ? spawn(process.execPath, args, spawnOptions)
      : spawn("taskset", ["-c", String(cpu), process.execPath, ...args], spawnOptions);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(
      () => reject(new Error(`${label} did not start within 20 s; stdout so far: ${out}`)),
      20_000,
    );
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with code ${code} before listening; stdout: ${out}`));
    });
  });

  return {
    url,
    pid: child.pid,
    cpu,
    cpuSeconds: () => (child.pid === undefined ? undefined : procCpuSeconds(child.pid)),
    async close() {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      if (code !== 0) throw new Error(`${label} exited with code ${code} after SIGTERM`);
    },
  };
}
