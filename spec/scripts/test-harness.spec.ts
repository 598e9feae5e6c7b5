// The `npm test` harness (scripts/test.mjs) on its own: what it says when binaries are missing, that variables the
// caller set are used as they are, and which spec files it hands to the runner. It never runs a nested suite; the
// one test that starts services starts the real binaries when installed (they are, wherever this suite runs).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, chmodSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import {
  HarnessError,
  expandGlob,
  findPgBin,
  findRedisServer,
  missingMessage,
  needsChromium,
  prepareServices,
  runnerArgs,
} from "../../scripts/test.mjs";

/** A PATH that holds nothing. */
function emptyDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "stm-harness-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function rejection(promise: Promise<unknown>): Promise<HarnessError> {
  const error = await promise.then(
    () => assert.fail("expected prepareServices to fail"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HarnessError, `not a HarnessError: ${String(error)}`);
  return error;
}

describe("npm test harness", () => {
  it("without redis-server and REDIS_URL, fails before starting anything and says what to install", async (t) => {
    const PATH = emptyDir(t);
    const error = await rejection(
      prepareServices({
        env: { PATH, DATABASE_URL: "postgresql://app:app@127.0.0.1:1/app", CHROMIUM_PATH: "/nowhere" },
        pgDirs: [],
        platform: "linux",
        isRoot: false,
      }),
    );
    assert.match(error.message, /redis-server not found/);
    assert.match(error.message, /sudo apt-get install redis-server\n/);
    assert.match(error.message, /REDIS_URL=redis:\/\/127\.0\.0\.1:6379 npm test/);
    assert.match(error.message, /bash \.ci\/run/);
    assert.doesNotMatch(error.message, /postgresql|DATABASE_URL|chromium/i, "only what is missing is named");
    assert.doesNotMatch(error.message, /services\.env/);
  });

  it("names every missing binary in one message, with the Homebrew names on macOS", async (t) => {
    const PATH = emptyDir(t);
    const args = ["spec/demo/demo-browser.spec.ts"];
    const linux = await rejection(
      prepareServices({ env: { PATH }, args, pgDirs: [], platform: "linux", isRoot: true }),
    );
    assert.match(
      linux.message,
      /^Cannot run the tests: redis-server, PostgreSQL \(initdb, pg_ctl, postgres\), Chromium not found/,
    );
    assert.match(linux.message, /\nInstall \(Debian\/Ubuntu\): apt-get install redis-server postgresql chromium\n/);
    assert.match(linux.message, /REDIS_URL=\S+ DATABASE_URL=\S+ CHROMIUM_PATH=\S+ npm test/);
    const mac = await rejection(
      prepareServices({ env: { PATH }, args, pgDirs: [], platform: "darwin", isRoot: false }),
    );
    assert.match(mac.message, /brew install redis postgresql@17 && brew install --cask chromium/);
    assert.doesNotMatch(mac.message, /apt-get|\.ci\/run/, "no Debian advice on macOS");
  });

  it("asks for Chromium only when a chosen spec drives a browser", async (t) => {
    const PATH = emptyDir(t);
    const env = { PATH, REDIS_URL: "redis://127.0.0.1:1", DATABASE_URL: "postgresql://app:app@127.0.0.1:1/app" };
    const prepared = await prepareServices({
      env,
      args: ["spec/session/legacy-store.spec.ts"],
      pgDirs: [],
      logLine: () => {},
    });
    assert.equal(prepared.env.CHROMIUM_PATH, undefined);
    await prepared.stop();
    const error = await rejection(
      prepareServices({ env, args: ["spec/demo/demo-browser.spec.ts"], pgDirs: [], platform: "linux" }),
    );
    assert.match(error.message, /Chromium not found/);
    assert.match(error.message, /apt-get install chromium\n/);
    assert.equal(needsChromium(runnerArgs([])), true, "the whole suite has browser tests");
  });

  it(
    "passes REDIS_URL, DATABASE_URL and CHROMIUM_PATH set by the caller through untouched, starting " + "nothing",
    async (t) => {
      const PATH = emptyDir(t); // nothing could be started from here anyway
      const env = {
        PATH,
        REDIS_URL: "redis://:secret@10.1.2.3:6400/2",
        DATABASE_URL: "postgresql://u:p@db.example:5433/x?sslmode=disable",
        CHROMIUM_PATH: "/opt/chrome",
        OTHER: "kept",
      };
      const lines: string[] = [];
      const prepared = await prepareServices({
        env,
        pgDirs: [],
        logLine: (l) => lines.push(l),
        onStarted: () => assert.fail("started a service"),
      });
      assert.deepEqual(prepared.env, env);
      assert.notEqual(prepared.env, env, "a copy: the caller's environment is not modified");
      assert.deepEqual(lines, [
        "REDIS_URL from the environment: nothing started for it",
        "DATABASE_URL from the environment: nothing started for it",
      ]);
      await prepared.stop();
    },
  );

  it("finds PostgreSQL's server binaries in a versioned directory when initdb is not on PATH", (t) => {
    const PATH = emptyDir(t);
    const base = emptyDir(t);
    const make = (dir: string, names: string[]) => {
      mkdirSync(dir, { recursive: true });
      for (const n of names) {
        writeFileSync(path.join(dir, n), "#!/bin/sh\n");
        chmodSync(path.join(dir, n), 0o755);
      }
      return dir;
    };
    const incomplete = make(path.join(base, "16/bin"), ["initdb", "pg_ctl"]);
    const complete = make(path.join(base, "15/bin"), ["initdb", "pg_ctl", "postgres"]);
    assert.equal(findPgBin({ PATH }, [incomplete, complete]), complete);
    assert.equal(findPgBin({ PATH }, [incomplete]), undefined);
    const onPath = make(path.join(base, "path-bin"), ["initdb", "pg_ctl", "postgres"]);
    assert.equal(findPgBin({ PATH: onPath }, [complete]), onPath, "PATH first");
  });

  it("hands the runner every spec by default, and the caller's files and options in order, globs expanded", () => {
    const all = runnerArgs([]);
    assert.deepEqual(all.slice(0, 4), ["--import", "tsx", "--test", "--test-concurrency=1"]);
    assert.ok(all.includes("spec/scripts/test-harness.spec.ts"));
    assert.ok(all.includes("spec/options.spec.ts"), "the specs at the top of spec/ too");
    assert.deepEqual(all.slice(4), [...expandGlob("spec/*.spec.ts"), ...expandGlob("spec/*/*.spec.ts")]);
    assert.ok(all.slice(4).every((f) => /^spec\/([^/]+\/)?[^/]+\.spec\.ts$/.test(f) && existsSync(f)));

    const some = runnerArgs(["--test-name-pattern=lock", "spec/session/l*.spec.ts", "spec/auth/pg.spec.ts"]);
    assert.deepEqual(some.slice(4), [
      "--test-name-pattern=lock",
      ...expandGlob("spec/session/l*.spec.ts"),
      "spec/auth/pg.spec.ts",
    ]);
    assert.ok(some.includes("spec/session/legacy-store.spec.ts"));
    assert.throws(() => runnerArgs(["spec/nothing/*.spec.ts"]), /No spec file matches spec\/nothing\/\*\.spec\.ts/);
  });

  it("starts throwaway Redis and PostgreSQL on loopback when their variables are unset, and stops them", async (t) => {
    if (!findRedisServer(process.env) || !findPgBin(process.env)) {
      // Only reachable when the caller set REDIS_URL and DATABASE_URL instead of installing the servers.
      t.skip("redis-server or PostgreSQL is not installed");
      return;
    }
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.REDIS_URL;
    delete env.DATABASE_URL;
    env.CHROMIUM_PATH = "/unused";
    const started: Array<{ kind: string }> = [];
    const prepared = await prepareServices({ env, logLine: () => {}, onStarted: (s) => started.push(s) });
    t.after(() => prepared.stop());
    assert.deepEqual(
      started.map((s) => s.kind),
      ["redis", "postgres"],
    );
    const redis = new URL(prepared.env.REDIS_URL!);
    const postgres = new URL(prepared.env.DATABASE_URL!);
    assert.equal(redis.hostname, "127.0.0.1");
    assert.equal(postgres.hostname, "127.0.0.1");
    assert.equal(postgres.pathname, "/app");
    assert.equal(prepared.env.CHROMIUM_PATH, "/unused");

    const { default: pg } = await import("pg");
    const client = new pg.Client({ connectionString: prepared.env.DATABASE_URL });
    await client.connect();
    const { rows } = await client.query("SELECT current_user AS who");
    await client.end();
    assert.equal(rows[0].who, "app");

    await prepared.stop();
    for (const port of [Number(redis.port), Number(postgres.port)]) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = net.connect(port, "127.0.0.1");
        socket.once("connect", () => (socket.destroy(), resolve(false)));
        socket.once("error", () => resolve(true));
      });
      assert.ok(refused, `port ${port} still accepts connections after stop()`);
    }
  });

  it("says nothing about a file that does not exist", () => {
    for (const platform of ["linux", "darwin", "win32"] as const) {
      assert.doesNotMatch(missingMessage(["redis", "postgres", "chromium"], { platform }), /services\.env|\/tmp\//);
    }
  });
});
