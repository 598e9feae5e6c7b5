/**
 * The coordinator's store goes down between a winner's claim and its publish (a Redis master killed, a failover):
 * the request answers 503, and the session it created must not outlive the outage unseen, or the retry that
 * migrates once the store is back leaves two sessions for one legacy session. Real Redis (killed and restarted on
 * the same port, its append-only file keeping the claim) and real PostgreSQL (cut off by a TCP proxy), the real
 * SDK over HTTP against the dev core.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import pg from "pg";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createRedisMigrationCoordinator, hashSid } from "../../lib/session/coordinator.js";
import { createPostgresMigrationCoordinator } from "../../lib/session/coordinators/postgres.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, migratedApp, SECRET } from "../helpers/dual-app.js";
import { sessionsOf, sidOf, waitFor } from "../helpers/dual-fixtures.js";
import { startDelayProxy, type DelayProxy } from "../helpers/delay-proxy.js";
import { spawnRedis, type OwnRedis } from "../helpers/redis-server.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
let proxy: DelayProxy;
let redis: OwnRedis;
before(async () => {
  core = await startDevCore();
  proxy = await startDelayProxy(core.url);
  redis = await spawnRedis();
});
after(async () => {
  await proxy.settled();
  await proxy.close();
  await redis.dispose();
  await core.close();
});

describe("dualSession when the coordinator's Redis dies between claim and publish", () => {
  it("answers 503, revokes the unseen session once Redis is back, and the retry makes the one session", async () => {
    initSuperTokens(await createCoreApp(proxy.url));
    // No offline queue: a command sent while Redis is down fails at once instead of being replayed later, so
    // the publish is lost for good, as it is when a dead master's slots move to a replica.
    const client = createClient({ url: redis.url, disableOfflineQueue: true });
    client.on("error", () => {});
    await client.connect();
    const admin = createClient({ url: redis.url });
    admin.on("error", () => {});
    await admin.connect();
    const prefix = `stm-test:outage:${uniqueId()}:`;
    try {
      const coordinator = createRedisMigrationCoordinator(client, { prefix, timeoutMs: 300, lockTtlMs: 60_000 });
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "outage-1");
      const { app } = migratedApp({ store, secret: SECRET, coordinator, retryAfterSeconds: 1 });

      // The core creates the session slowly: Redis dies while it does.
      proxy.delay((method, path) => method === "POST" && /\/recipe\/session$/.test(path), 1500);
      const first = request(app)
        .get("/api/me")
        .set("Cookie", jar.header("/api/me"))
        .then((r) => r);
      const lock = `${prefix}lock:{${hashSid(sidOf(jar))}}`;
      await waitFor(async () => (await admin.exists(lock)) === 1, 10_000, "the claim");
      await redis.stop();
      const failed = await first;
      assert.equal(failed.status, 503, JSON.stringify(failed.body));
      assert.equal(failed.headers["retry-after"], "1");
      proxy.delay(() => false, 0);
      await proxy.settled();
      const kept = await sessionsOf("outage-1");
      assert.equal(kept.length, 1, "the core created the session before the publish failed");

      await redis.start();
      // Its tokens reached nobody (the answer was a 503, nothing was published): revoked once Redis answers.
      await waitFor(async () => (await sessionsOf("outage-1")).length === 0, 20_000, "the unseen session revoked");

      const retry = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.body.userId, "outage-1");
      assert.deepEqual(await sessionsOf("outage-1"), [retry.body.handle]);
    } finally {
      client.destroy();
      admin.destroy();
    }
  });
});

describe("dualSession when the coordinator's PostgreSQL becomes unreachable between claim and publish", () => {
  it("answers 503, revokes the unseen session once PostgreSQL is back; the retry makes the one session", async () => {
    initSuperTokens(await createCoreApp(proxy.url));
    const direct = new URL(requireEnv("DATABASE_URL"));
    // A TCP proxy in front of PostgreSQL: cut() drops every connection and refuses new ones, as a network
    // partition or a failover does, while the database and its rows live on.
    const pgProxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
    const viaProxy = new URL(direct);
    viaProxy.port = String(pgProxy.port);
    const pool = new pg.Pool({ connectionString: viaProxy.toString(), connectionTimeoutMillis: 1000 });
    pool.on("error", () => {});
    const admin = new pg.Pool({ connectionString: direct.toString(), max: 2 });
    const schema = `stm_outage_${uniqueId()}`;
    try {
      const coordinator = createPostgresMigrationCoordinator(pool, { schema, timeoutMs: 500, lockTtlMs: 60_000 });
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "outage-pg");
      const { app } = migratedApp({ store, secret: SECRET, coordinator, retryAfterSeconds: 1 });

      proxy.delay((method, path) => method === "POST" && /\/recipe\/session$/.test(path), 1500);
      const first = request(app)
        .get("/api/me")
        .set("Cookie", jar.header("/api/me"))
        .then((r) => r);
      const claimed = async () =>
        (
          await admin
            .query(`SELECT 1 FROM ${schema}.stm_migration_claims WHERE key = $1 AND lock_token IS NOT NULL`, [
              hashSid(sidOf(jar)),
            ])
            .catch(() => ({ rowCount: 0 }))
        ).rowCount === 1;
      await waitFor(claimed, 10_000, "the claim");
      pgProxy.cut();
      const failed = await first;
      assert.equal(failed.status, 503, JSON.stringify(failed.body));
      assert.equal(failed.headers["retry-after"], "1");
      proxy.delay(() => false, 0);
      await proxy.settled();
      assert.equal((await sessionsOf("outage-pg")).length, 1, "the core created the session before the publish");

      pgProxy.restore();
      await waitFor(async () => (await sessionsOf("outage-pg")).length === 0, 20_000, "the unseen session revoked");

      const retry = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(retry.status, 200, JSON.stringify(retry.body));
      assert.equal(retry.body.userId, "outage-pg");
      assert.deepEqual(await sessionsOf("outage-pg"), [retry.body.handle]);
      coordinator.close();
    } finally {
      await pool.end().catch(() => undefined);
      await pgProxy.close();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
