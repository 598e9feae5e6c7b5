import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import pg from "pg";
import {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  hashSid,
  type RedisScriptClient,
} from "../../lib/session/coordinator.js";
import { createPostgresMigrationCoordinator } from "../../lib/session/coordinators/postgres.js";
import { coordinatorContract } from "../../lib/session/coordinators/contract.js";
import { ConfigError } from "../../lib/errors.js";
import { requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";

const client = createClient({ url: requireEnv("REDIS_URL") });
const prefix = `stm-test:coordinator:${uniqueId()}:`;
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 8 });
const schema = `stm_coordinator_${uniqueId()}`;

describe("migration coordinator", () => {
  before(async () => {
    await client.connect();
  });

  after(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await client.del(keys);
    client.destroy();
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  // One contract, three implementations: every case runs on each.
  coordinatorContract(
    { describe, it },
    { name: "memory", create: (options) => createMemoryMigrationCoordinator(options), shared: false },
  );
  coordinatorContract(
    { describe, it },
    {
      name: "Redis",
      create: (options, ns) => createRedisMigrationCoordinator(client, { prefix: `${prefix}${ns}:`, ...options }),
    },
  );
  coordinatorContract(
    { describe, it },
    {
      name: "PostgreSQL",
      create: (options, ns) =>
        createPostgresMigrationCoordinator(pool, { schema, table: ns.replace(/-/g, "_"), ...options }),
    },
  );

  describe("with Redis", () => {
    it("keeps the sid out of every key", async () => {
      const keyPrefix = `${prefix}${uniqueId()}:`;
      const coordinator = createRedisMigrationCoordinator(client, { prefix: keyPrefix });
      const sid = `raw-sid-${uniqueId()}`;
      const won = await coordinator.claim(sid);
      assert.ok(won.status === "WON" && (await won.claim.publish("{}")));
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${keyPrefix}*` })) keys.push(...batch);
      assert.deepEqual(keys.sort(), [`${keyPrefix}migrated:{${hashSid(sid)}}`, `${keyPrefix}result:{${hashSid(sid)}}`]);
    });

    it("fails with ERR_MIGRATE_TIMEOUT, not BUSY or WON, when Redis never answers", async () => {
      const silent = await startSilentServer();
      const hung = createClient({ url: `redis://127.0.0.1:${silent.port}` });
      hung.on("error", () => {});
      hung.connect().catch(() => {});
      try {
        const coordinator = createRedisMigrationCoordinator(hung, { prefix, timeoutMs: 100 });
        await assert.rejects(
          coordinator.claim("sid"),
          (err: unknown) => (err as { code?: unknown }).code === "ERR_MIGRATE_TIMEOUT",
        );
        await assert.rejects(
          coordinator.waitForResult("sid", 50),
          (err: unknown) => (err as { code?: unknown }).code === "ERR_MIGRATE_TIMEOUT",
        );
      } finally {
        hung.destroy();
        await silent.close();
      }
    });

    it("refuses a bad client, prefix or TTL with a ConfigError at creation", () => {
      const isConfig = (err: unknown) => err instanceof ConfigError;
      assert.throws(() => createRedisMigrationCoordinator({} as RedisScriptClient, { prefix }), isConfig);
      assert.throws(() => createRedisMigrationCoordinator(client, {} as { prefix: string }), isConfig);
      for (const ttl of [0, -1, 1.5, Number.NaN]) {
        assert.throws(() => createRedisMigrationCoordinator(client, { prefix, timeoutMs: ttl }), isConfig);
        assert.throws(() => createRedisMigrationCoordinator(client, { prefix, lockTtlMs: ttl }), isConfig);
      }
    });

    it("fails with ERR_MIGRATE_LOCK_UNAVAILABLE on a closed client", async () => {
      const closed = createClient({ url: requireEnv("REDIS_URL") });
      await closed.connect();
      closed.destroy();
      const coordinator = createRedisMigrationCoordinator(closed, { prefix });
      await assert.rejects(
        coordinator.claim("sid"),
        (err: unknown) => (err as { code?: unknown }).code === "ERR_MIGRATE_LOCK_UNAVAILABLE",
      );
    });
  });
});
