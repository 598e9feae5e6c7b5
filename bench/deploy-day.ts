// Deploy day at full size: N app processes behind a round-robin proxy on loopback (spec/helpers/deploy-day.ts),
// BENCH_DEPLOY_USERS (default 20,000) logged-in legacy users each sending a burst of BENCH_DEPLOY_BURST (4) parallel
// first requests, as a page load does, on each shared store and coordinator. The dev core runs in its own process.
// Fails, like the CI-size spec, when a user ends with other than one session, a request is answered 401 or 500, or
// a legacy session outlives its proof.
import os from "node:os";
import { clusterOption, startDeployDay, type CoordinatorKind, type StoreKind } from "../spec/helpers/deploy-day.js";
import { startRedisCluster } from "../spec/helpers/redis-cluster.js";
import { createClient } from "redis";
import { spawnRedis } from "../spec/helpers/redis-server.js";
import { requireEnv } from "../spec/helpers/services.js";
import { startCoreProcess } from "./core-process.js";
import type { BenchRow } from "./types.js";

const setups: { store: StoreKind; coordinator: CoordinatorKind }[] = [
  { store: "redis", coordinator: "redis" },
  { store: "redis", coordinator: "redis-cluster" },
  { store: "postgres", coordinator: "postgres" },
];

export async function bench(): Promise<BenchRow[]> {
  const users = Number(process.env.BENCH_DEPLOY_USERS ?? 20_000);
  const burst = Number(process.env.BENCH_DEPLOY_BURST ?? 4);
  const processes = Number(process.env.BENCH_DEPLOY_PROCESSES ?? 4);
  const rows: BenchRow[] = [];
  for (const setup of setups) {
    const core = await startCoreProcess();
    // A Redis of its own, so that its command counts are this run's alone; no persistence, as a cache tier runs.
    const redis = await spawnRedis();
    const admin = createClient({ url: redis.url });
    await admin.connect();
    await admin.configSet("appendonly", "no");
    await admin.quit();
    const cluster = setup.coordinator === "redis-cluster" ? await startRedisCluster() : undefined;
    const load = os.loadavg()[0];
    const day = await startDeployDay({
      coreUrl: core.url,
      ...(cluster ? { cluster: clusterOption(cluster) } : {}),
      processes,
      redisUrl: redis.url,
      databaseUrl: requireEnv("DATABASE_URL"),
      ...setup,
    });
    try {
      const r = await day.run(users, burst, 50);
      const wrong = [...r.sessionsPerUser.values()].filter((n) => n !== 1).length;
      const bad = (r.statuses[401] ?? 0) + (r.statuses[500] ?? 0);
      if (wrong || bad || r.forked.length || r.legacyLeft)
        throw new Error(
          `deploy day (${setup.store}/${setup.coordinator}): ${wrong} users without exactly one session, ${bad} ` +
            `401/500 answers, ${r.forked.length} forked bursts, ${r.legacyLeft} legacy sessions left; ` +
            `statuses ${JSON.stringify(r.statuses)}; sessions per user ${JSON.stringify(
              Object.fromEntries([...r.sessionsPerUser.values()].map((n) => [n, 0])),
            )}; errors ${JSON.stringify(r.errors, null, 1)}`,
        );
      rows.push({
        name: `deploy day: ${processes} processes, ${setup.store} store, ${setup.coordinator} coordinator`,
        value: r.migrationsPerSecond,
        unit: "migrations/s",
        p50Ms: Math.round(r.p50Ms * 10) / 10,
        p99Ms: Math.round(r.p99Ms * 10) / 10,
        note:
          `${users} users × ${burst}: statuses ${JSON.stringify(r.statuses)} (${r.retried} retried after ` +
          `Retry-After), one session each, all retired; ` +
          `${r.storeOpsPerMigration?.toFixed(1)} store ops per migration (${Object.entries(r.storeOpsByCommand)
            .map(([cmd, n]) => `${cmd} ${n.toFixed(1)}`)
            .join(", ")}); load average at start ${load.toFixed(2)}`,
      });
    } finally {
      await day.close();
      await core.close();
      await redis.dispose();
      await cluster?.stop();
    }
  }
  return rows;
}
