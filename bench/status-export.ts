// `status` and `export` at 100k, 300k and 1M users, on the dev core on PostgreSQL. The data set is written straight
// into the dev core's own tables with generate_series (no import: that has its own benchmark, `million`), in one
// fresh schema that grows from one size to the next, beside a legacy users table of the same users, all of them
// moved (mapped to their legacy id, as the import maps them). At each size: `status` over the legacy table and the
// core (the real CLI, `--json`), then `export` as NDJSON, each in its own process with its peak RSS sampled from /proc
// (bench/million.ts's runCli). Sizes from STATUS_EXPORT_SIZES (default 100000,300000,1000000), a step's limit from
// STATUS_EXPORT_TIMEOUT (seconds, default 1200); STATUS_EXPORT_KEEP=1 keeps the schema. Needs DATABASE_URL.
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import bcrypt from "bcrypt";
import pg from "pg";
import { runCli, startCore } from "./million.js";
import type { BenchRow } from "./types.js";

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const mb = (n: number | undefined) => (n === undefined ? "?" : `${Math.round(n)} MB`);
const load = () => `load ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} CPUs`;

function sizes(): number[] {
  const raw = (process.env.STATUS_EXPORT_SIZES ?? "100000,300000,1000000").split(",").map((s) => s.trim());
  const n = raw.filter(Boolean).map(Number);
  if (n.length === 0 || n.some((x) => !Number.isInteger(x) || x < 1))
    throw new Error(`STATUS_EXPORT_SIZES must be positive integers, comma-separated; received ${JSON.stringify(raw)}.`);
  return n.sort((a, b) => a - b);
}

function stepTimeoutMs(): number {
  const raw = process.env.STATUS_EXPORT_TIMEOUT;
  const n = raw === undefined || raw === "" ? 1200 : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`STATUS_EXPORT_TIMEOUT must be seconds; received ${raw}.`);
  return n * 1000;
}

/**
 * Users `from`..`to` (1-based, inclusive) into the core tables of `schema` and its `legacy_users`: the four rows of
 * an email-password sign-up, a mapping to the legacy id, the email verified for every second user and metadata for
 * every tenth (both under the legacy id, where the core keeps them once mapped). The SuperTokens ids are md5-derived
 * UUIDs, so their order is as random as real ones. One statement per table.
 */
export async function growDataSet(pool: pg.Pool, schema: string, from: number, to: number, hash: string) {
  const s = (t: string) => `"${schema}".${t}`;
  const users = `SELECT g, md5('st-' || g)::uuid::text AS id, 'legacy-' || g AS ext, 'user' || g || '@example.com'
      AS email, 1577836800000 + g AS tj FROM generate_series($1::int, $2::int) AS g`;
  const statements = [
    `INSERT INTO ${s("app_id_to_user_id")} (app_id, user_id, recipe_id, primary_or_recipe_user_id)
       SELECT 'public', id, 'emailpassword', id FROM (${users}) u`,
    `INSERT INTO ${s("all_auth_recipe_users")} (app_id, tenant_id, user_id, primary_or_recipe_user_id, recipe_id,
       time_joined, primary_or_recipe_user_time_joined)
       SELECT 'public', 'public', id, id, 'emailpassword', tj, tj FROM (${users}) u`,
    `INSERT INTO ${s("emailpassword_users")} (app_id, user_id, email, password_hash, time_joined)
       SELECT 'public', id, email, $3::text, tj FROM (${users}) u`,
    `INSERT INTO ${s("emailpassword_user_to_tenant")} (app_id, tenant_id, user_id, email)
       SELECT 'public', 'public', id, email FROM (${users}) u`,
    `INSERT INTO ${s("userid_mapping")} (app_id, supertokens_user_id, external_user_id)
       SELECT 'public', id, ext FROM (${users}) u`,
    `INSERT INTO ${s("emailverification_verified_emails")} (app_id, user_id, email)
       SELECT 'public', ext, email FROM (${users}) u WHERE g % 2 = 0`,
    `INSERT INTO ${s("user_metadata")} (app_id, user_id, user_metadata)
       SELECT 'public', ext, '{"plan":"legacy"}' FROM (${users}) u WHERE g % 10 = 0`,
    `INSERT INTO ${s("legacy_users")} (seq, id, email, password_hash, email_verified, time_joined)
       SELECT g, ext, email, $3::text, g % 2 = 0, tj FROM (${users}) u`,
  ];
  // Each table is analysed as soon as it is written: the next table's foreign-key checks are planned on its
  // statistics, and on a fresh schema they would otherwise go through an index that does not fit.
  for (const sql of statements) {
    await pool.query(sql, sql.includes("$3") ? [from, to, hash] : [from, to]);
    await pool.query(`ANALYZE ${/INSERT INTO (\S+)/.exec(sql)![1]}`);
  }
}

async function lineCount(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file)) for (const byte of chunk as Buffer) if (byte === 10) n++;
  return n;
}

export async function createLegacyTable(pool: pg.Pool, schema: string) {
  await pool.query(
    `CREATE TABLE "${schema}".legacy_users (seq int NOT NULL, id text PRIMARY KEY, email text NOT NULL,
       password_hash text, email_verified boolean NOT NULL, time_joined bigint NOT NULL)`,
  );
}

export async function bench(): Promise<BenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("bench status-export needs DATABASE_URL (a PostgreSQL it may create a schema in)");
  const ns = sizes();
  const schema = `bench_status_export_${Date.now().toString(36)}${process.pid}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-status-export-"));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  const rows: BenchRow[] = [];
  const hash = await bcrypt.hash("Status-export-pw", 10);
  // The dev core creates the schema, its tables and the public app and tenant on start.
  const core = await startCore(databaseUrl, schema);
  try {
    await createLegacyTable(pool, schema);
    let have = 0;
    for (const n of ns) {
      const started = performance.now();
      await growDataSet(pool, schema, have + 1, n, hash);
      have = n;
      process.stdout.write(
        `  data set grown to ${fmt(n)} users in ${((performance.now() - started) / 1000).toFixed(0)} s; ${load()}\n`,
      );
      const printed = rows.length;

      const status = await runCli(
        [
          "status",
          "--from",
          databaseUrl,
          "--query",
          `SELECT id, password_hash FROM "${schema}".legacy_users`,
          "--core",
          core.url,
          "--json",
          "--timeout",
          "60000",
        ],
        stepTimeoutMs(),
      );
      if (!status.timedOut) {
        const users = (JSON.parse(status.stdout) as { users?: { total: number; moved: number } }).users;
        if (users?.total !== n || users.moved !== n)
          throw new Error(`status: ${JSON.stringify(users)}, expected ${n} users, all moved`);
      }
      rows.push({
        name: `status-export: status over ${fmt(n)} legacy users, all moved`,
        value: status.timedOut ? 0 : n / status.seconds,
        unit: "users/s",
        note:
          (status.timedOut ? `STOPPED: no answer within ${status.seconds.toFixed(0)} s; ` : "") +
          `${status.seconds.toFixed(1)} s; peak RSS status ${mb(status.peakMb)}, ` +
          `dev core ${mb(core.pidRss()?.peak)}; ${load()}`,
      });

      const out = path.join(dir, `export-${n}.ndjson`);
      const exported = await runCli(
        ["export", "--from", databaseUrl, "--schema", schema, "--out", out, "--keys-out", `${out}.keys`],
        stepTimeoutMs(),
      );
      const bytes = (await stat(out)).size;
      // The users' lines, less the header, of an export that was stopped.
      const written = exported.timedOut ? (await lineCount(out)) - 1 : n;
      await rm(out, { force: true });
      rows.push({
        name: `status-export: export ${fmt(n)} users as NDJSON`,
        value: written / exported.seconds,
        unit: "users/s",
        note:
          (exported.timedOut
            ? `STOPPED after ${exported.seconds.toFixed(0)} s with about ${fmt(written)} users written; `
            : "") +
          `${exported.seconds.toFixed(1)} s; ${(bytes / 1e6).toFixed(0)} MB; peak RSS export ${mb(exported.peakMb)}; ` +
          load(),
      });
      for (const r of rows.slice(printed)) process.stdout.write(`  ${r.name}: ${fmt(r.value)} ${r.unit}; ${r.note}\n`);
    }
    return rows;
  } finally {
    await core.close().catch((err: unknown) => process.stdout.write(`  dev core: ${String(err)}\n`));
    if (process.env.STATUS_EXPORT_KEEP !== "1")
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await pool.end();
    await rm(dir, { recursive: true, force: true });
  }
}
