// What each migration coordinator costs, side by side in one run: memory, Redis, a Redis Cluster (3 masters,
// 3 replicas, started here) and PostgreSQL. Per legacy session, the page load's first requests: one winner
// claims and publishes, BENCH_COORD_BURST - 1 others claim at once and wait for its result. Reported: page loads
// per second (BENCH_COORD_CONCURRENCY in flight), p50/p99 of one page load's coordination, and the store calls
// per page load (Redis: EVAL from INFO commandstats; PostgreSQL: the table's index scans and row writes from
// pg_stat_user_tables). The store's own round trips only: no app, no core.
import { randomBytes } from "node:crypto";
import { createClient, createCluster } from "redis";
import pg from "pg";
import {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  type MigrationCoordinator,
} from "../lib/session/coordinator.js";
import { createPostgresMigrationCoordinator } from "../lib/session/coordinators/postgres.js";
import { startRedisCluster } from "../spec/helpers/redis-cluster.js";
import { spawnRedis } from "../spec/helpers/redis-server.js";
import { requireEnv } from "../spec/helpers/services.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const burst = Number(process.env.BENCH_COORD_BURST ?? 6);
const concurrency = Number(process.env.BENCH_COORD_CONCURRENCY ?? 16);

/** One page load: `burst` first requests for one sid; the winner publishes, the others get its result. */
async function pageLoad(coordinator: MigrationCoordinator): Promise<void> {
  const sid = randomBytes(18).toString("base64url");
  const result = `{"accessToken":"${randomBytes(200).toString("base64url")}"}`;
  const one = async () => {
    const outcome = await coordinator.claim(sid);
    if (outcome.status === "WON") {
      if (!(await outcome.claim.publish(result))) throw new Error("publish refused");
      return;
    }
    if (outcome.status === "DONE") return;
    if (outcome.status !== "BUSY") throw new Error(`unexpected ${outcome.status}`);
    const waited = await coordinator.waitForResult(sid);
    if (waited.status !== "DONE") throw new Error(`waited: ${waited.status}`);
  };
  await Promise.all(Array.from({ length: burst }, one));
}

async function measure(coordinator: MigrationCoordinator, seconds: number) {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        await pageLoad(coordinator);
        latencies.push(performance.now() - t);
        done++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 10) / 10;
  return { perSecond: done / elapsed, done, p50: at(0.5), p99: at(0.99) };
}

async function evalCalls(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const c = createClient({ url });
    await c.connect();
    try {
      for (const m of (await c.info("commandstats")).matchAll(/cmdstat_(?:eval|evalsha):calls=(\d+)/g))
        total += Number(m[1]);
    } finally {
      c.destroy();
    }
  }
  return total;
}

export async function bench(): Promise<BenchRow[]> {
  const seconds = phaseSeconds(5);
  const rows: BenchRow[] = [];
  const row = (name: string, r: Awaited<ReturnType<typeof measure>>, note: string): BenchRow => ({
    name: `coordinator: ${name}, page loads of ${burst} first requests`,
    value: r.perSecond,
    unit: "page loads/s",
    p50Ms: r.p50,
    p99Ms: r.p99,
    note: `${concurrency} in flight, ${seconds} s, ${r.done} page loads; ${note}`,
  });

  rows.push(row("memory", await measure(createMemoryMigrationCoordinator(), seconds), "one process only"));

  // A Redis of our own, so that its command counts are this run's alone.
  const redis = await spawnRedis();
  const client = createClient({ url: redis.url });
  await client.connect();
  // spawnRedis() fsyncs every write (for the outage specs); a coordinator's Redis is a cache tier, like the cluster's.
  await client.configSet("appendonly", "no");
  try {
    const before = await evalCalls([redis.url]);
    const r = await measure(createRedisMigrationCoordinator(client, { prefix: "bench:" }), seconds);
    const calls = (await evalCalls([redis.url])) - before;
    rows.push(row("Redis", r, `${(calls / r.done).toFixed(1)} EVAL per page load`));
  } finally {
    client.destroy();
    await redis.dispose();
  }

  const cluster = await startRedisCluster();
  const clusterClient = createCluster({ rootNodes: cluster.rootNodes });
  clusterClient.on("error", () => {});
  await clusterClient.connect();
  try {
    const nodes = cluster.nodes.map((n) => n.url);
    const before = await evalCalls(nodes);
    const r = await measure(createRedisMigrationCoordinator(clusterClient, { prefix: "bench:" }), seconds);
    const calls = (await evalCalls(nodes)) - before;
    rows.push(row("Redis Cluster (3 masters)", r, `${(calls / r.done).toFixed(1)} EVAL per page load`));
  } finally {
    clusterClient.destroy();
    await cluster.stop();
  }

  const url = requireEnv("DATABASE_URL");
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  const schema = `stm_bench_${randomBytes(4).toString("hex")}`;
  const coordinator = createPostgresMigrationCoordinator(pool, { schema });
  try {
    await pageLoad(coordinator); // creates the table
    const stats = async () => {
      const { rows } = await admin.query(
        `SELECT coalesce(idx_scan, 0) + coalesce(seq_scan, 0) AS reads, n_tup_ins + n_tup_upd AS writes
         FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'stm_migration_claims'`,
        [schema],
      );
      const row = rows[0] as { reads: string; writes: string };
      return { reads: Number(row.reads), writes: Number(row.writes) };
    };
    const before = await stats();
    const r = await measure(coordinator, seconds);
    // A backend reports its table statistics when it is idle or exits: end the pool, then read until every
    // claim's first read (at least `burst` per page load) is counted.
    coordinator.close();
    await pool.end();
    let after = await stats();
    for (let i = 0; i < 50 && after.reads - before.reads < r.done * burst; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await stats();
    }
    const reads = (after.reads - before.reads) / r.done;
    const writes = (after.writes - before.writes) / r.done;
    rows.push(row("PostgreSQL", r, `${reads.toFixed(1)} index scans + ${writes.toFixed(1)} row writes per page load`));
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    await pool.end().catch(() => undefined);
  }
  return rows;
}
