// Export throughput of `supertokens-migrate export` (issue 6, item 5): users per second read from the
// SuperTokens core's PostgreSQL layout and serialised, with the CLI's single REPEATABLE READ snapshot.
// Setup inserts the users with SQL straight into the core's tables (fast), a quarter of them mapped, half with
// metadata, a third verified, so every join of the export query has work to do.
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import bcrypt from "bcrypt";
import pg from "pg";
import { PostgresStorage } from "../lib/core/storage/postgres.js";
import { exportSuperTokens } from "../lib/export/index.js";
import type { BenchRow } from "./types.js";

const defaultUsers = 20_000;
const runs = 3;

function userCount(): number {
  const raw = process.env.BENCH_EXPORT_USERS;
  if (raw === undefined || raw === "") return defaultUsers;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`BENCH_EXPORT_USERS must be a positive integer; received ${JSON.stringify(raw)}.`);
  return n;
}

async function seed(pool: pg.Pool, schema: string, users: number) {
  const storage = await PostgresStorage.create(pool, { schema });
  await storage.putApp({ appId: "public", coreConfig: {}, createdAt: Date.now() });
  const hash = await bcrypt.hash("bench-password", 10);
  const s = `"${schema}"`;
  const ext = (g: string) => `CASE WHEN ${g} % 4 = 0 THEN 'legacy-' || ${g} ELSE id END`;
  await pool.query(
    `CREATE TABLE ${s}.bench_src AS SELECT gen_random_uuid()::text AS id, g FROM generate_series(1, $1::int) AS g`,
    [users],
  );
  // One statement per table, each followed by ANALYZE: the foreign-key checks of the next insert are planned on
  // fresh statistics (on an unanalysed all_auth_recipe_users the planner picks the (app_id, tenant_id) index
  // over the primary key and every check scans the tenant).
  const steps = [
    `INSERT INTO ${s}.app_id_to_user_id (app_id, user_id, recipe_id, primary_or_recipe_user_id)
     SELECT 'public', id, 'emailpassword', id FROM ${s}.bench_src`,
    `INSERT INTO ${s}.all_auth_recipe_users (app_id, tenant_id, user_id, primary_or_recipe_user_id, recipe_id,
      time_joined, primary_or_recipe_user_time_joined)
     SELECT 'public', 'public', id, id, 'emailpassword', 1700000000000 + g, 1700000000000 + g FROM ${s}.bench_src`,
    `INSERT INTO ${s}.emailpassword_users (app_id, user_id, email, password_hash, time_joined)
     SELECT 'public', id, 'user' || g || '@example.com', '${hash}', 1700000000000 + g FROM ${s}.bench_src`,
    `INSERT INTO ${s}.emailpassword_user_to_tenant (app_id, tenant_id, user_id, email)
     SELECT 'public', 'public', id, 'user' || g || '@example.com' FROM ${s}.bench_src`,
    `INSERT INTO ${s}.userid_mapping (app_id, supertokens_user_id, external_user_id)
     SELECT 'public', id, 'legacy-' || g FROM ${s}.bench_src WHERE g % 4 = 0`,
    `INSERT INTO ${s}.user_metadata (app_id, user_id, user_metadata)
     SELECT 'public', ${ext("g")}, '{"plan":"pro","n":' || g || '}' FROM ${s}.bench_src WHERE g % 2 = 0`,
    `INSERT INTO ${s}.emailverification_verified_emails (app_id, user_id, email)
     SELECT 'public', ${ext("g")}, 'user' || g || '@example.com' FROM ${s}.bench_src WHERE g % 3 = 0`,
  ];
  for (const sql of steps) {
    await pool.query(sql);
    const table = /INSERT INTO (\S+)/.exec(sql)![1];
    await pool.query(`ANALYZE ${table}`);
  }
}

/** A sink that counts bytes: the figure is the export's own cost, not the disk's. */
function sink() {
  let bytes = 0;
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      done();
    },
  });
  return { out, bytes: () => bytes };
}

async function timeExport(pool: pg.Pool, schema: string, format: "ndjson" | "csv") {
  const client = await pool.connect();
  try {
    const { out, bytes } = sink();
    const start = performance.now();
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    const report = await exportSuperTokens({ db: client, out, schema, format, tokensOut: out, keysOut: out });
    await client.query("COMMIT");
    return { seconds: (performance.now() - start) / 1000, users: report.users, bytes: bytes() };
  } finally {
    client.release();
  }
}

export async function bench(): Promise<BenchRow[]> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("bench export needs DATABASE_URL (a PostgreSQL it may create and drop a schema in).");
  const users = userCount();
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const schema = `stm_bench_export_${process.pid}`;
  const rows: BenchRow[] = [];
  try {
    const seedStart = performance.now();
    await seed(pool, schema, users);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    for (const format of ["ndjson", "csv"] as const) {
      const results = [];
      for (let i = 0; i < runs; i++) results.push(await timeExport(pool, schema, format));
      if (results.some((r) => r.users !== users))
        throw new Error(`export ${format} wrote ${results.map((r) => r.users).join(",")} users, expected ${users}`);
      results.sort((a, b) => a.seconds - b.seconds);
      const median = results[Math.floor(runs / 2)];
      rows.push({
        name: `export: ${format}, ${users.toLocaleString("en-US")} users (PostgreSQL, 1 snapshot)`,
        value: users / median.seconds,
        unit: "users/s",
        note:
          `median of ${runs}: ${median.seconds.toFixed(2)} s, ${(median.bytes / 1e6).toFixed(1)} MB; seeded by ` +
          `SQL in ${seedSeconds.toFixed(1)} s`,
      });
    }
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
  }
  return rows;
}
