/**
 * Deploy day at CI size: 4 app processes behind a round-robin proxy, one shared legacy store and coordinator, and
 * every logged-in legacy user's page load sending a burst of parallel first requests spread over the processes.
 * Exactly one SuperTokens session per legacy session, no 401 or 500, every legacy session retired once the
 * browser proves the new tokens. bench/deploy-day.ts runs the same at 20,000 users.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { clusterOption, startDeployDay, type CoordinatorKind, type StoreKind } from "../helpers/deploy-day.js";
import { startRedisCluster, type OwnRedisCluster } from "../helpers/redis-cluster.js";
import { requireEnv } from "../helpers/services.js";

const USERS = 120;
const BURST = 4;
const PROCESSES = 4;

let core: DevCore;
let cluster: OwnRedisCluster | undefined;
before(async () => {
  core = await startDevCore({ port: 0 });
});
after(async () => {
  await core.close();
  await cluster?.stop();
});

const setups: { store: StoreKind; coordinator: CoordinatorKind }[] = [
  { store: "redis", coordinator: "redis" },
  // The coordinator on a 3-master Redis Cluster (the legacy sessions stay in the app's Redis).
  { store: "redis", coordinator: "redis-cluster" },
  // An app on connect-pg-simple with no Redis: the legacy sessions and the coordinator in PostgreSQL.
  { store: "postgres", coordinator: "postgres" },
];

for (const setup of setups) {
  const title =
    `deploy day: ${PROCESSES} processes, legacy sessions in ${setup.store}, ` + `${setup.coordinator} coordinator`;
  describe(title, () => {
    it(
      `${USERS} legacy users × ${BURST} parallel first requests: one session each, no 401 or 500, all retired`,
      { timeout: 240_000 },
      async (t) => {
        if (setup.coordinator === "redis-cluster") cluster ??= await startRedisCluster();
        const day = await startDeployDay({
          coreUrl: core.url,
          ...(cluster && setup.coordinator === "redis-cluster" ? { cluster: clusterOption(cluster) } : {}),
          processes: PROCESSES,
          redisUrl: requireEnv("REDIS_URL"),
          databaseUrl: requireEnv("DATABASE_URL"),
          ...setup,
        });
        try {
          const r = await day.run(USERS, BURST, 20);
          t.diagnostic(
            `${r.migrationsPerSecond.toFixed(0)} migrations/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ` +
              `${r.p99Ms.toFixed(1)} ms, store ops per migration ${r.storeOpsPerMigration?.toFixed(1)}, ` +
              `statuses ${JSON.stringify(r.statuses)}`,
          );
          assert.equal(r.statuses[401] ?? 0, 0, "no request answered 401");
          assert.equal(r.statuses[500] ?? 0, 0, "no request answered 500");
          assert.equal(r.statuses[200], USERS * BURST, `every request served, at the latest after Retry-After`);
          assert.equal(r.statuses[200] + (r.statuses[503] ?? 0), r.requests + r.retried, "200 or 503, nothing else");
          assert.deepEqual(r.forked, [], "one user, one session handle across the burst");
          const counts = [...r.sessionsPerUser.values()];
          assert.equal(counts.length, USERS);
          assert.deepEqual(
            counts.filter((n) => n !== 1),
            [],
            "exactly one SuperTokens session per legacy session",
          );
          assert.equal(r.legacyLeft, 0, "every legacy session retired after the proof");
          assert.equal(r.processesServing, PROCESSES, "the proxy spread the load over every process");
        } finally {
          await day.close();
        }
      },
    );
  });
}
