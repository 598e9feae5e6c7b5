import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import pg from "pg";
import {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  hashSid,
  type CoordinatorOptions,
  type MigrationCoordinator,
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

  describe("the contract itself", () => {
    /** Runs the contract's cases on `create` outside node:test; resolves with the names of those that failed. */
    async function failingCases(
      create: (o: CoordinatorOptions) => MigrationCoordinator,
      shared = false,
    ): Promise<string[]> {
      const cases: { name: string; fn: () => Promise<void> }[] = [];
      const path: string[] = [];
      coordinatorContract(
        {
          describe(name, fn) {
            path.push(name);
            fn();
            path.pop();
          },
          it(name, fn) {
            cases.push({ name: [...path.slice(1), name].join(" > "), fn });
          },
        },
        { name: "under test", create, shared },
      );
      const failed: string[] = [];
      for (const c of cases) await c.fn().catch(() => failed.push(c.name));
      return failed;
    }

    it("passes a correct coordinator and fails one that lets every claim win", async () => {
      assert.deepEqual(await failingCases((o) => createMemoryMigrationCoordinator(o)), []);
      // Each claim on a coordinator of its own: no mutual exclusion, no shared result.
      const broken = (o: CoordinatorOptions): MigrationCoordinator => {
        const shared = createMemoryMigrationCoordinator(o);
        return { ...shared, claim: (sid) => createMemoryMigrationCoordinator(o).claim(sid) };
      };
      const failed = await failingCases(broken);
      const race =
        "when many requests claim one session at once > " +
        "lets exactly one of 20 concurrent claims win; the rest are BUSY";
      assert.ok(failed.includes(race), failed.join("\n"));
      assert.ok(failed.length >= 5, `only ${failed.length} cases caught it: ${failed.join("; ")}`);
    });
  });

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
