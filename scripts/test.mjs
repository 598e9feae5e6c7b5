// `npm test`: runs the specs against throwaway Redis and PostgreSQL servers of its own, so a contributor needs the
// binaries installed and nothing else. REDIS_URL / DATABASE_URL / CHROMIUM_PATH, when set, win and nothing is
// started for them. Services listen on free loopback ports with data in a temporary directory, and are stopped
// (and the directory deleted) when the test runner ends, fails or is interrupted. Node's closing test summary
// stays the last thing printed: start-up lines go to stderr before the runner starts, and nothing after it.
//
//   npm test                                    every spec (spec/*.spec.ts, spec/*/*.spec.ts)
//   npm test -- spec/session/*.spec.ts          some of them (globs are expanded here too)
//   npm test -- --test-name-pattern=lock        node test runner options go before any file
import { spawn, spawnSync } from "node:child_process";
import {
  accessSync,
  constants,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** Every spec: those at the top of spec/ (options.spec.ts) and those in its folders. */
export const DEFAULT_SPECS = ["spec/*.spec.ts", "spec/*/*.spec.ts"];

const log = (line) => process.stderr.write(`[test] ${line}\n`);

/** Thrown when the tests cannot start; its message is the whole explanation (no stack needed). */
export class HarnessError extends Error {}

// ---------------------------------------------------------------- spec files and runner arguments

function globToRegExp(segment) {
  return new RegExp(
    `^${segment
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, "[^/]*")
      .replace(/\?/g, "[^/]")}$`,
  );
}

/** Expands `*` and `?` within path segments, relative to `cwd`, sorted. No match gives no paths. */
export function expandGlob(pattern, cwd = root) {
  let paths = [pattern.startsWith("/") ? "/" : ""];
  for (const segment of pattern.split("/").filter(Boolean)) {
    if (!/[*?]/.test(segment)) {
      paths = paths.map((p) => (p === "" ? segment : path.posix.join(p, segment)));
      continue;
    }
    const re = globToRegExp(segment);
    paths = paths.flatMap((p) => {
      let entries;
      try {
        entries = readdirSync(path.resolve(cwd, p || "."));
      } catch {
        return [];
      }
      return entries
        .filter((e) => re.test(e) && (segment.startsWith(".") || !e.startsWith(".")))
        .map((e) => (p === "" ? e : path.posix.join(p, e)));
    });
  }
  return paths.filter((p) => existsSync(path.resolve(cwd, p))).sort();
}

const looksLikeFile = (arg) => !arg.startsWith("-") && (/[/*?]/.test(arg) || /\.[cm]?[jt]s$/.test(arg));

/**
 * The test runner's arguments after `node`: `--import tsx --test --test-concurrency=1`, then the caller's
 * arguments in order with globs expanded; every spec when the caller names no file.
 */
export function runnerArgs(args, cwd = root) {
  const out = ["--import", "tsx", "--test", "--test-concurrency=1"];
  let files = 0;
  for (const arg of args) {
    if (!looksLikeFile(arg)) {
      out.push(arg);
      continue;
    }
    files++;
    if (!/[*?]/.test(arg)) {
      out.push(arg);
      continue;
    }
    const matches = expandGlob(arg, cwd);
    if (matches.length === 0) throw new HarnessError(`No spec file matches ${arg}.`);
    out.push(...matches);
  }
  if (files === 0) out.push(...DEFAULT_SPECS.flatMap((glob) => expandGlob(glob, cwd)));
  return out;
}

/** Whether one of the runner's spec files drives a browser (imports spec/helpers/browser). */
export function needsChromium(args, cwd = root) {
  return args.filter(looksLikeFile).some((file) => {
    try {
      return /helpers\/browser(\.js|\.ts)?["']/.test(readFileSync(path.resolve(cwd, file), "utf8"));
    } catch {
      return false;
    }
  });
}

// ---------------------------------------------------------------- finding binaries

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name, env) {
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

const versionOf = (dir) => (dir.match(/(\d+(?:\.\d+)*)/g) ?? ["0"]).at(-1).split(".").map(Number);
function newestFirst(dirs) {
  return dirs.sort((a, b) => {
    const [x, y] = [versionOf(a), versionOf(b)];
    for (let i = 0; i < Math.max(x.length, y.length); i++)
      if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
    return 0;
  });
}

/** Where PostgreSQL server binaries live when they are not on PATH: Debian/Ubuntu, RHEL, Homebrew, Postgres.app. */
export function defaultPgDirs() {
  const globbed = [
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
  ].map((g) => newestFirst(expandGlob(g, "/")));
  return [
    ...globbed.flat(),
    "/opt/homebrew/opt/postgresql/bin",
    "/usr/local/opt/postgresql/bin",
    "/Applications/Postgres.app/Contents/Versions/latest/bin",
  ];
}

/**
 * A directory holding initdb, pg_ctl and postgres: initdb's (resolved) directory when on PATH, else the first of
 * `pgDirs`.
 */
export function findPgBin(env, pgDirs = defaultPgDirs()) {
  const complete = (dir) => ["initdb", "pg_ctl", "postgres"].every((b) => isExecutable(path.join(dir, b)));
  const initdb = onPath("initdb", env);
  if (initdb) {
    const dir = path.dirname(realpathSync(initdb));
    if (complete(dir)) return dir;
  }
  return pgDirs.find(complete);
}

export function findRedisServer(env) {
  return (
    onPath("redis-server", env) ??
    ["/opt/homebrew/opt/redis/bin/redis-server", "/usr/local/opt/redis/bin/redis-server"].find(isExecutable)
  );
}

export function findChromium(env) {
  for (const name of ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]) {
    const found = onPath(name, env);
    if (found) return found;
  }
  return [
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
  ].find(isExecutable);
}

const INSTALL = {
  redis: { debian: "redis-server", brew: "redis", what: "redis-server", variable: "REDIS_URL=redis://127.0.0.1:6379" },
  postgres: {
    debian: "postgresql",
    brew: "postgresql@17",
    what: "PostgreSQL (initdb, pg_ctl, postgres)",
    variable: "DATABASE_URL=postgresql://user:password@127.0.0.1:5432/db",
  },
  chromium: {
    debian: "chromium",
    brew: "--cask chromium",
    what: "Chromium",
    variable: "CHROMIUM_PATH=/path/to/chromium",
  },
};

/** The one message for missing binaries: what is missing, what to install on this platform, and the alternatives. */
export function missingMessage(missing, { platform = process.platform, isRoot = process.getuid?.() === 0 } = {}) {
  const items = missing.map((m) => INSTALL[m]);
  const sudo = isRoot ? "" : "sudo ";
  const lines = [
    `Cannot run the tests: ${items.map((i) => i.what).join(", ")} not found (searched ` +
      `PATH${missing.includes("postgres") ? ", /usr/lib/postgresql/*/bin and Homebrew's locations" : ""}).`,
  ];
  const debian = `${sudo}apt-get install ${items.map((i) => i.debian).join(" ")}`;
  const brewFormulae = items.filter((i) => !i.brew.startsWith("--cask")).map((i) => i.brew);
  const brewCasks = items.filter((i) => i.brew.startsWith("--cask")).map((i) => i.brew);
  const brew = [
    brewFormulae.length ? `brew install ${brewFormulae.join(" ")}` : "",
    ...brewCasks.map((c) => `brew install ${c}`),
  ]
    .filter(Boolean)
    .join(" && ");
  if (platform === "darwin") lines.push(`Install: ${brew}`);
  else if (platform === "linux") lines.push(`Install (Debian/Ubuntu): ${debian}`);
  else lines.push(`Install (Debian/Ubuntu): ${debian}`, `Install (macOS): ${brew}`);
  lines.push(`Or use services you already run: ${items.map((i) => i.variable).join(" ")} npm test`);
  if (platform === "linux")
    lines.push("Or, on Debian as root, do what CI does (installs the packages, then runs the suite): bash .ci/run");
  return lines.join("\n");
}

// ---------------------------------------------------------------- starting services

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command to completion; rejects with its output when it fails. */
function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.once("error", reject);
    child.once("close", (code, signal) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${path.basename(cmd)} ${args.join(" ")} failed (${signal ?? code}):\n${out.trim()}`)),
    );
  });
}

function tail(file, lines = 30) {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** Sends PING until +PONG comes back. */
function redisPing(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => done(d.toString().startsWith("+PONG")));
  });
}

async function startRedis(bin, dir) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logfile = path.join(dir, "redis.log");
    const child = spawn(
      bin,
      [
        "--bind",
        "127.0.0.1",
        "--port",
        String(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--logfile",
        logfile,
        "--daemonize",
        "no",
      ],
      {
        stdio: "ignore",
      },
    );
    let exited = false;
    child.once("exit", () => (exited = true));
    child.once("error", () => (exited = true));
    for (let i = 0; i < 200 && !exited; i++) {
      if (await redisPing(port)) {
        return {
          url: `redis://127.0.0.1:${port}`,
          port,
          child,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const gone = new Promise((r) => child.once("exit", r));
            child.kill("SIGTERM");
            const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
            await gone;
            clearTimeout(timer);
          },
        };
      }
      await delay(50);
    }
    child.kill("SIGKILL");
    if (attempt < 3 && /address already in use/i.test(tail(logfile))) continue;
    throw new HarnessError(`redis-server did not start on 127.0.0.1:${port}.\n${tail(logfile)}`);
  }
}

function idOf(user, flag) {
  const r = spawnSync("id", [flag, user], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : undefined;
}

function shellQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * How to run PostgreSQL's binaries: directly, or, as root (which initdb and postgres refuse), as the `postgres`
 * system user through runuser, setpriv or su.
 */
export function pgRunner(env = process.env, isRoot = process.getuid?.() === 0) {
  if (!isRoot) return { user: undefined, wrap: (cmd, args) => [cmd, args] };
  const uid = idOf("postgres", "-u");
  const gid = idOf("postgres", "-g");
  if (uid === undefined || gid === undefined) {
    throw new HarnessError(
      "PostgreSQL refuses to run as root, and there is no `postgres` user to run it as. Run npm test as a non-root " +
        "user, " +
        "create the user (useradd --system postgres), or set DATABASE_URL to a running server.",
    );
  }
  const runuser = onPath("runuser", env) ?? ["/usr/sbin/runuser", "/sbin/runuser"].find(isExecutable);
  if (runuser) return { user: { uid, gid }, wrap: (cmd, args) => [runuser, ["-u", "postgres", "--", cmd, ...args]] };
  const setpriv = onPath("setpriv", env);
  if (setpriv)
    return {
      user: { uid, gid },
      wrap: (cmd, args) => [setpriv, [`--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "--", cmd, ...args]],
    };
  const su = onPath("su", env) ?? "/bin/su";
  return {
    user: { uid, gid },
    wrap: (cmd, args) => [su, ["-s", "/bin/sh", "postgres", "-c", ["exec", cmd, ...args].map(shellQuote).join(" ")]],
  };
}

async function startPostgres(pgBin, dir, runner) {
  const pgDir = path.join(dir, "pg");
  const data = path.join(pgDir, "data");
  const logfile = path.join(pgDir, "server.log");
  mkdirSync(pgDir, { mode: 0o700 });
  if (runner.user) chownSync(pgDir, runner.user.uid, runner.user.gid);
  const as = (bin, args) => {
    const [cmd, argv] = runner.wrap(path.join(pgBin, bin), args);
    return run(cmd, argv, { cwd: pgDir });
  };
  const locale = process.platform === "linux" ? ["--locale=C.UTF-8"] : ["--no-locale"];
  await as("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", ...locale, "--no-sync"]).catch((e) => {
    throw new HarnessError(`initdb failed.\n${e.message}`);
  });

  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    const options =
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${pgDir} -c fsync=off -c synchronous_commit=off -c ` +
      `full_page_writes=off`;
    try {
      await as("pg_ctl", ["-D", data, "-l", logfile, "-w", "-t", "60", "-o", options, "start"]);
      break;
    } catch (e) {
      if (attempt < 3 && /could not bind|address already in use/i.test(tail(logfile))) continue;
      throw new HarnessError(`PostgreSQL did not start on 127.0.0.1:${port}.\n${tail(logfile) || e.message}`);
    }
  }

  const stop = async () => {
    const pidfile = path.join(data, "postmaster.pid");
    if (!existsSync(pidfile)) return;
    await as("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]).catch(() => {});
    if (!existsSync(pidfile)) return;
    const pid = Number(readFileSync(pidfile, "utf8").split("\n")[0]);
    try {
      if (pid > 0) process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  };
  try {
    const { default: pg } = await import("pg");
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" });
    await client.connect();
    try {
      await client.query("CREATE ROLE app LOGIN PASSWORD 'app' CREATEDB");
      await client.query("CREATE DATABASE app OWNER app");
    } finally {
      await client.end();
    }
  } catch (e) {
    await stop();
    throw new HarnessError(`Could not create the app role and database: ${e.message}`);
  }
  return { url: `postgresql://app:app@127.0.0.1:${port}/app`, port, data, stop };
}

/**
 * The environment the specs run with. Variables the caller set are kept as they are; for each missing one the
 * service is started (or Chromium found). Missing binaries fail before anything starts, with one message.
 * `stop()` stops whatever was started and deletes its data; it never throws and prints nothing.
 */
export async function prepareServices({
  env = process.env,
  args = [],
  pgDirs,
  platform = process.platform,
  isRoot = process.getuid?.() === 0,
  onStarted = () => {},
  logLine = log,
} = {}) {
  const has = (name) => env[name] !== undefined && env[name] !== "";
  const out = { ...env };
  const redisBin = has("REDIS_URL") ? undefined : findRedisServer(env);
  const pgBin = has("DATABASE_URL") ? undefined : findPgBin(env, pgDirs);
  const chromium = has("CHROMIUM_PATH") ? undefined : findChromium(env);
  const missing = [];
  if (!has("REDIS_URL") && !redisBin) missing.push("redis");
  if (!has("DATABASE_URL") && !pgBin) missing.push("postgres");
  if (!has("CHROMIUM_PATH") && !chromium && needsChromium(runnerArgs(args))) missing.push("chromium");
  if (missing.length) throw new HarnessError(missingMessage(missing, { platform, isRoot }));
  if (chromium) out.CHROMIUM_PATH = chromium;
  for (const name of ["REDIS_URL", "DATABASE_URL"])
    if (has(name)) logLine(`${name} from the environment: nothing started for it`);

  const stops = [];
  let dir;
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    dir = undefined;
  };
  if (!redisBin && !pgBin) return { env: out, stop };

  try {
    const runner = pgBin ? pgRunner(env, isRoot) : undefined;
    // short: PostgreSQL's socket path
    const base = process.platform === "win32" || !existsSync("/tmp") ? os.tmpdir() : "/tmp";
    dir = mkdtempSync(path.join(base, "stm-test-"));
    chmodSync(dir, 0o755);
    if (redisBin) {
      const redis = await startRedis(redisBin, dir);
      stops.push(redis.stop);
      onStarted({ kind: "redis", pid: redis.child.pid });
      out.REDIS_URL = redis.url;
      logLine(`redis-server on 127.0.0.1:${redis.port} (${redisBin}, throwaway)`);
    }
    if (pgBin) {
      const postgres = await startPostgres(pgBin, dir, runner);
      stops.push(postgres.stop);
      onStarted({ kind: "postgres", data: postgres.data });
      out.DATABASE_URL = postgres.url;
      logLine(
        `PostgreSQL on 127.0.0.1:${postgres.port} (${pgBin}${runner.user ? ", as user postgres" : ""}, throwaway)`,
      );
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { env: out, stop };
}

// ---------------------------------------------------------------- main

async function main(argv) {
  let stop = async () => {};
  let runner;
  let signalled;
  // Last resort when this process dies without running `stop` (an uncaught error): no server may outlive it.
  const started = [];
  process.on("exit", () => {
    for (const s of started) {
      try {
        if (s.kind === "redis") process.kill(s.pid, "SIGKILL");
        else process.kill(Number(readFileSync(path.join(s.data, "postmaster.pid"), "utf8").split("\n")[0]), "SIGQUIT");
      } catch {
        // already gone
      }
    }
  });
  const onSignal = (signal) => {
    if (signalled) return;
    signalled = signal;
    // While services start, the signal is acted on once prepareServices returns or fails (a terminal's Ctrl-C
    // reaches its children too, so that is quick); then the runner gets it, and the services stop when it exits.
    if (runner && runner.exitCode === null && runner.signalCode === null) {
      runner.kill(signal);
      setTimeout(() => runner.kill("SIGKILL"), 10_000).unref();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // npm runs this through `sh -c`, and sh dies of a SIGTERM sent to npm without passing it on: being orphaned
  // means the same thing as the signal.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && onSignal("SIGTERM"), 500).unref();

  let args;
  try {
    args = runnerArgs(argv);
    const prepared = await prepareServices({ args: argv, onStarted: (s) => started.push(s) });
    stop = prepared.stop;
    if (signalled) {
      await stop();
      started.length = 0;
      process.exit(128 + os.constants.signals[signalled]);
    }
    runner = spawn(process.execPath, args, { cwd: root, env: prepared.env, stdio: "inherit" });
  } catch (e) {
    await stop();
    started.length = 0;
    if (signalled) process.exit(128 + os.constants.signals[signalled]);
    process.stderr.write(
      `[test] ${e instanceof HarnessError ? e.message.replace(/\n/g, "\n[test] ") : (e?.stack ?? e)}\n`,
    );
    process.exit(1);
  }
  const [code, signal] = await new Promise((resolve) => {
    runner.once("error", (e) => resolve([1, null, e]));
    runner.once("exit", (c, s) => resolve([c, s]));
  });
  await stop();
  started.length = 0;
  process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
}

const invoked =
  process.argv[1] &&
  (() => {
    try {
      return realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
    } catch {
      return false;
    }
  })();
if (invoked) await main(process.argv.slice(2));
