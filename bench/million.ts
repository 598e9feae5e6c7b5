// A million users: `supertokens-migrate import` into the dev core on PostgreSQL (PostgresStorage, the core's own
// table layout) from an NDJSON file and from a PostgreSQL query, then `export` and `status` on what was imported,
// at several sizes, each with users/s and the peak RSS of every process involved. Sizes come from MILLION_SIZES
// (default 100000,300000,1000000; 10000 for a quick run), sources from MILLION_SOURCES (default ndjson,postgres);
// status, export and the idempotent re-run (smallest size) follow the first source's imports unless
// MILLION_IMPORT_ONLY=1; MILLION_RERUN=1 re-runs the first source's import at every size; MILLION_STEP_TIMEOUT
// (seconds, default 1200) stops a status or an export that takes longer, reporting how far it got.
// Needs DATABASE_URL. Every process is the real CLI in its own process, as an operator runs it; each import goes
// into a fresh schema of its own, so a size's figures do not include the rows of the size before.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import bcrypt from "bcrypt";
import pg from "pg";
import { startServerProcess, type CoreProcess } from "./core-process.js";
import type { BenchRow } from "./types.js";

const goal = 5000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "lib/cli/main.ts");
const headers = { "content-type": "application/json", "cdi-version": "5.4" };

function list(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

function sizes(): number[] {
  const raw = list("MILLION_SIZES", "100000,300000,1000000");
  const n = raw.map(Number);
  if (n.length === 0 || n.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`MILLION_SIZES must be positive integers, comma-separated; received ${JSON.stringify(raw)}.`);
  return n.sort((a, b) => a - b);
}

function sources(): ("ndjson" | "postgres")[] {
  const raw = list("MILLION_SOURCES", "ndjson,postgres");
  for (const s of raw)
    if (s !== "ndjson" && s !== "postgres")
      throw new Error(`MILLION_SOURCES takes ndjson and postgres; received ${JSON.stringify(s)}.`);
  return raw as ("ndjson" | "postgres")[];
}

/** Peak (VmHWM) and current (VmRSS) resident set of a live process, in MB; undefined once it is gone or off Linux. */
export function rss(pid: number | undefined): { peak: number; now: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    const peak = kb("VmHWM");
    // A process that has exited but not been reaped has no memory lines.
    return Number.isNaN(peak) ? undefined : { peak: peak / 1024, now: kb("VmRSS") / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used, from /proc; undefined once it is gone or off Linux. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 for /proc on Linux
  } catch {
    return undefined;
  }
}

/** Local ports of the TCP connections a process holds: its socket inodes matched in /proc/<pid>/net/tcp*. */
function localPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  const ports = new Set<number>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed while we looked
      }
    }
    for (const file of ["tcp", "tcp6"]) {
      for (const line of readFileSync(`/proc/${pid}/net/${file}`, "utf8").split("\n").slice(1)) {
        const cols = line.trim().split(/\s+/);
        if (cols.length > 9 && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(":")[1], 16));
      }
    }
  } catch {
    // not Linux, or the process is gone
  }
  return ports;
}

/**
 * CPU used by the dev core's PostgreSQL backends (found by the client ports of its pool's connections) while a step
 * runs, sampled every second; with the dev core's own CPU it gives users per CPU-second, a figure the rest of the
 * machine's load does not move the way it moves users per second.
 */
function backendCpu(pool: pg.Pool, corePid: number | undefined) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const sample = async () => {
    if (corePid === undefined) return;
    const ports = localPorts(corePid);
    const { rows } = await pool.query<{ pid: number; client_port: number }>(
      `SELECT pid, client_port FROM pg_stat_activity WHERE client_port IS NOT NULL`,
    );
    for (const r of rows) {
      if (!ports.has(r.client_port)) continue;
      const cpu = cpuSeconds(r.pid);
      if (cpu === undefined) continue;
      if (!first.has(r.pid)) first.set(r.pid, cpu);
      last.set(r.pid, cpu);
    }
  };
  let sampling = sample();
  const timer = setInterval(() => {
    sampling = sampling.then(sample, sample);
  }, 1000);
  return async (): Promise<number> => {
    clearInterval(timer);
    await sampling.then(sample, sample);
    let total = 0;
    for (const [pid, cpu] of last) total += cpu - (first.get(pid) ?? cpu);
    return total;
  };
}

/** Lines of a file, read as a stream. */
async function lineCount(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** An import that takes longer than this is a failure of the benchmark, not a figure. */
const importTimeoutMs = 3 * 3600 * 1000;

/** Seconds a status or an export may take (MILLION_STEP_TIMEOUT); a step that runs longer is stopped and reported. */
function stepTimeoutMs(): number {
  const raw = process.env.MILLION_STEP_TIMEOUT;
  const n = raw === undefined || raw === "" ? 1200 : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`MILLION_STEP_TIMEOUT must be seconds; received ${raw}.`);
  return n * 1000;
}

export interface CliRun {
  timedOut: boolean;
  seconds: number;
  /** The last peak read before the process exited (read every 100 ms; the peak only grows). */
  peakMb: number | undefined;
  /** The process's CPU seconds, as last read (every 100 ms) before it exited. */
  cpu: number | undefined;
  stdout: string;
}

/** The CLI in its own process; its peak RSS sampled from /proc until it exits. */
export async function runCli(args: string[], timeoutMs: number): Promise<CliRun> {
  const start = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout = (stdout + c).slice(-200_000)));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr = (stderr + c).slice(-4000)));
  let peakMb: number | undefined;
  let cpu: number | undefined;
  const sample = setInterval(() => {
    peakMb = rss(child.pid)?.peak ?? peakMb;
    cpu = (child.pid === undefined ? undefined : cpuSeconds(child.pid)) ?? cpu;
  }, 100);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, timeoutMs);
  const [code] = (await once(child, "close")) as [number | null];
  clearInterval(sample);
  clearTimeout(killer);
  if (code !== 0 && !timedOut) throw new Error(`${args[0]} exited with ${code}: ${stderr}`);
  return { timedOut, seconds: (performance.now() - start) / 1000, peakMb, cpu, stdout };
}

const mb = (n: number | undefined) => (n === undefined ? "?" : `${Math.round(n)} MB`);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** Cost-10 bcrypt hashes: four computed once and shared; every user has their own id and email. */
async function hashes(): Promise<string[]> {
  return Promise.all(["Million-pw-0", "Million-pw-1", "Million-pw-2", "Million-pw-3"].map((p) => bcrypt.hash(p, 10)));
}

/** The legacy users table: `n` rows generated by one INSERT … SELECT FROM generate_series, with a primary key. */
async function legacyTable(pool: pg.Pool, schema: string, n: number, h: string[]): Promise<string> {
  const table = `"${schema}".legacy_users`;
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(
    `CREATE TABLE ${table} (seq int NOT NULL, id text PRIMARY KEY, email text NOT NULL, password_hash text,
       email_verified boolean NOT NULL, time_joined bigint NOT NULL)`,
  );
  await pool.query(
    `INSERT INTO ${table} SELECT g, 'legacy-' || g, 'user' || g || '@example.com', ($2::text[])[1 + g % 4], g % 2 = 0,
       1577836800000 + g FROM generate_series(1, $1::int) AS g`,
    [n, h],
  );
  await pool.query(`ANALYZE ${table}`);
  return table;
}

/** The same users as NDJSON, written as a stream (a million lines are about 170 MB). */
async function ndjsonFile(file: string, n: number, h: string[]): Promise<void> {
  const out = createWriteStream(file);
  for (let g = 1; g <= n; g++) {
    const line = JSON.stringify({
      id: `legacy-${g}`,
      email: `user${g}@example.com`,
      password_hash: h[g % 4],
      email_verified: g % 2 === 0,
      time_joined: 1577836800000 + g,
    });
    if (!out.write(line + "\n")) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

export async function startCore(
  databaseUrl: string,
  schema: string,
): Promise<CoreProcess & { pidRss(): ReturnType<typeof rss> }> {
  const url = new URL(databaseUrl);
  url.searchParams.set("currentSchema", schema);
  const core = await startServerProcess("dev core", cli, [
    "dev-core",
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--data",
    url.toString(),
  ]);
  return Object.assign(core, { pidRss: () => rss(core.pid) });
}

async function coreCount(core: CoreProcess): Promise<number> {
  return ((await (await fetch(`${core.url}/users/count`, { headers })).json()) as { count: number }).count;
}

interface ImportRun extends CliRun {
  /** CPU seconds of the dev core process and of its PostgreSQL backends during the import. */
  coreCpu: number | undefined;
  backendCpu: number;
  imported: number;
  skipped: number;
  corePeakMb: number | undefined;
}

async function importInto(
  pool: pg.Pool,
  core: CoreProcess & { pidRss(): ReturnType<typeof rss> },
  source: string[],
  n: number,
  dir: string,
  tag: string,
): Promise<ImportRun> {
  const report = path.join(dir, `${tag}-report.json`);
  const coreCpuBefore = core.cpuSeconds();
  const backends = backendCpu(pool, core.pid);
  const run = await runCli(
    ["import", ...source, "--core", core.url, "--mode", "bulk", "--batch-size", "10000", "--report", report],
    importTimeoutMs,
  );
  const backendSeconds = await backends();
  const coreCpuAfter = core.cpuSeconds();
  if (run.timedOut) throw new Error(`import ${tag} did not finish within ${importTimeoutMs / 1000} s`);
  const counts = (JSON.parse(await readFile(report, "utf8")) as { counts: { imported: number; skipped: number } })
    .counts;
  const counted = await coreCount(core);
  if (counted !== n) throw new Error(`import ${tag}: the core counts ${counted} users, expected ${n}`);
  const coreCpu = coreCpuBefore === undefined || coreCpuAfter === undefined ? undefined : coreCpuAfter - coreCpuBefore;
  return {
    ...run,
    coreCpu,
    backendCpu: backendSeconds,
    imported: counts.imported,
    skipped: counts.skipped,
    corePeakMb: core.pidRss()?.peak,
  };
}

export async function bench(): Promise<BenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("bench million needs DATABASE_URL (a PostgreSQL the bench may create schemas in)");
  const ns = sizes();
  const srcs = sources();
  const stamp = `${Date.now().toString(36)}${process.pid}`;
  const legacySchema = `bench_million_legacy_${stamp}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-million-"));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const schemas: string[] = [legacySchema];
  const rows: BenchRow[] = [];
  const load = () => `load ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs`;
  try {
    const h = await hashes();
    const max = ns[ns.length - 1];
    const legacy = await legacyTable(pool, legacySchema, max, h);
    process.stdout.write(`  legacy table of ${fmt(max)} users ready\n`);
    for (const n of ns) {
      const file = path.join(dir, `users-${n}.ndjson`);
      if (srcs.includes("ndjson")) await ndjsonFile(file, n, h);
      const query = `SELECT id, email, password_hash, email_verified, time_joined FROM ${legacy} WHERE seq <= ${n}`;
      for (const src of srcs) {
        const schema = `bench_million_core_${stamp}_${src}_${n}`;
        schemas.push(schema);
        const printed = rows.length;
        const core = await startCore(databaseUrl, schema);
        try {
          const args = src === "ndjson" ? ["--file", file] : ["--from", databaseUrl, "--query", query];
          const first = await importInto(pool, core, args, n, dir, `${src}-${n}`);
          if (first.imported !== n) throw new Error(`import ${src} ${n}: imported ${first.imported}, expected ${n}`);
          const rate = n / first.seconds;
          const cpu = first.coreCpu === undefined ? undefined : first.coreCpu + first.backendCpu;
          rows.push({
            name: `million: import ${fmt(n)} bcrypt users from ${src === "ndjson" ? "NDJSON" : "a PostgreSQL query"}`,
            value: rate,
            unit: "users/s",
            note:
              `goal ≥ ${fmt(goal)}: ${rate >= goal ? "PASS" : "MISS"}; ${first.seconds.toFixed(1)} s wall; ` +
              (cpu
                ? `${fmt(n / cpu)} users per CPU-second of dev core + its PostgreSQL backends ` +
                  `(${first.coreCpu?.toFixed(1)} + ${first.backendCpu.toFixed(1)} s); `
                : "") +
              `import CLI ${first.cpu?.toFixed(1) ?? "?"} CPU-s; ` +
              `peak RSS import ${mb(first.peakMb)}, dev core ${mb(first.corePeakMb)}; ${load()}`,
          });
          const extras = process.env.MILLION_IMPORT_ONLY !== "1";
          const rerun = process.env.MILLION_RERUN === "1" ? src === srcs[0] : extras && n === ns[0] && src === srcs[0];
          if (rerun) {
            // The same input again: every user is skipped as already imported, nothing is written twice.
            const again = await importInto(pool, core, args, n, dir, `${src}-${n}-again`);
            if (again.imported !== 0 || again.skipped !== n)
              throw new Error(`re-run: imported ${again.imported}, skipped ${again.skipped}, expected 0 and ${n}`);
            rows.push({
              name: `million: the same ${fmt(n)} users again (idempotent re-run)`,
              value: n / again.seconds,
              unit: "users/s",
              note:
                `all ${fmt(n)} skipped, the core still counts ${fmt(n)}; peak RSS import ${mb(again.peakMb)}; ` +
                load(),
            });
          }
          if (extras && src === srcs[0]) {
            // status on the legacy table of n rows, with the core that holds them all.
            const status = await runCli(
              ["status", "--from", databaseUrl, "--query", query, "--core", core.url, "--json", "--timeout", "60000"],
              stepTimeoutMs(),
            );
            if (!status.timedOut) {
              const users = (JSON.parse(status.stdout) as { users?: { total: number; moved: number } }).users;
              if (users?.total !== n || users.moved !== n)
                throw new Error(`status: ${JSON.stringify(users)}, expected ${n} users, all moved`);
            }
            rows.push({
              name: `million: status over ${fmt(n)} legacy users, all moved`,
              value: status.seconds,
              unit: "s",
              note:
                (status.timedOut ? `STOPPED: no answer within ${status.seconds.toFixed(0)} s; ` : "") +
                `peak RSS status ${mb(status.peakMb)}, dev core ${mb(core.pidRss()?.peak)}; ${load()}`,
            });
            const out = path.join(dir, `export-${n}.ndjson`);
            const exported = await runCli(
              ["export", "--from", databaseUrl, "--schema", schema, "--out", out, "--keys-out", `${out}.keys`],
              stepTimeoutMs(),
            );
            const bytes = (await stat(out)).size;
            // The users' lines (the NDJSON also holds a reset-token section, empty here).
            const written = exported.timedOut ? await lineCount(out) : n;
            await rm(out, { force: true });
            rows.push({
              name: `million: export ${fmt(n)} users as NDJSON`,
              value: written / exported.seconds,
              unit: "users/s",
              note:
                (exported.timedOut
                  ? `STOPPED after ${exported.seconds.toFixed(0)} s with about ${fmt(written)} users written; `
                  : "") + `${(bytes / 1e6).toFixed(0)} MB; peak RSS export ${mb(exported.peakMb)}; ${load()}`,
            });
          }
        } finally {
          await core.close();
        }
        // Each row as soon as it is measured: a later step that fails must not take the figures with it.
        for (const r of rows.slice(printed))
          process.stdout.write(`  ${r.name}: ${fmt(r.value)} ${r.unit}; ${r.note}\n`);
      }
      await rm(file, { force: true });
    }
    return rows;
  } finally {
    if (process.env.MILLION_KEEP !== "1")
      for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => {});
    await pool.end();
    await rm(dir, { recursive: true, force: true });
  }
}
