import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  hashSid,
  type CoordinatorOptions,
  type MigrationCoordinator,
  type RedisScriptClient,
} from "../../lib/session/coordinator.js";
import { ConfigError } from "../../lib/errors.js";
import { requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const client = createClient({ url: requireEnv("REDIS_URL") });
const prefix = `stm-test:coordinator:${uniqueId()}:`;

const kinds: Array<[string, (options?: CoordinatorOptions) => MigrationCoordinator]> = [
  ["Redis", (options) => createRedisMigrationCoordinator(client, { prefix: `${prefix}${uniqueId()}:`, ...options })],
  ["memory", (options) => createMemoryMigrationCoordinator(options)],
];

describe("migration coordinator", () => {
  before(async () => {
    await client.connect();
  });

  after(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await client.del(keys);
    client.destroy();
  });

  for (const [kind, make] of kinds) {
    describe(`with the ${kind} backend`, () => {
      it("lets exactly one of 20 concurrent claims win; the rest are BUSY", async () => {
        const coordinator = make();
        const outcomes = await Promise.all(Array.from({ length: 20 }, () => coordinator.claim("sid-race")));
        assert.equal(outcomes.filter((o) => o.status === "WON").length, 1);
        assert.equal(outcomes.filter((o) => o.status === "BUSY").length, 19);
      });

      it("gives every concurrent request the winner's result, and migrates once", async () => {
        const coordinator = make();
        let migrations = 0;
        const handle = async (): Promise<string> => {
          const outcome = await coordinator.claim("sid-flow");
          if (outcome.status === "DONE") return outcome.result;
          if (outcome.status === "WON") {
            migrations++;
            await sleep(50);
            const result = JSON.stringify({ accessToken: "at", n: migrations });
            assert.equal(await outcome.claim.publish(result), true);
            return result;
          }
          const waited = await coordinator.waitForResult("sid-flow", 2000);
          assert.equal(waited.status, "DONE");
          return waited.status === "DONE" ? waited.result : "";
        };
        const results = await Promise.all(Array.from({ length: 10 }, handle));
        assert.equal(migrations, 1);
        assert.ok(results.every((r) => r === results[0]));
        // A request that arrives after the winner finished gets the same result without a wait.
        assert.deepEqual(await coordinator.claim("sid-flow"), { status: "DONE", result: results[0] });
      });

      it("reports ABANDONED to waiters when the winner releases without a result, and lets them claim", async () => {
        const coordinator = make();
        const won = await coordinator.claim("sid-abandon");
        assert.equal(won.status, "WON");
        const waiting = coordinator.waitForResult("sid-abandon", 2000);
        await sleep(30);
        if (won.status === "WON") assert.equal(await won.claim.release(), true);
        assert.deepEqual(await waiting, { status: "ABANDONED" });
        assert.equal((await coordinator.claim("sid-abandon")).status, "WON");
      });

      it("reports TIMEOUT when the winner still holds the claim at the deadline", async () => {
        const coordinator = make();
        assert.equal((await coordinator.claim("sid-slow")).status, "WON");
        const started = Date.now();
        assert.deepEqual(await coordinator.waitForResult("sid-slow", 150), { status: "TIMEOUT" });
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 140 && elapsed < 1000, `waited ${elapsed} ms`);
      });

      it("refuses to publish for a winner whose lock expired and was taken over", async () => {
        const coordinator = make({ lockTtlMs: 60 });
        const slow = await coordinator.claim("sid-expired");
        assert.equal(slow.status, "WON");
        await sleep(100);
        const next = await coordinator.claim("sid-expired");
        assert.equal(next.status, "WON");
        if (slow.status !== "WON" || next.status !== "WON") return;
        assert.equal(await slow.claim.publish("stale"), false);
        assert.equal(await next.claim.publish("fresh"), true);
        assert.deepEqual(await coordinator.claim("sid-expired"), { status: "DONE", result: "fresh" });
      });

      it("refuses to publish after the lock expired with no one else holding it", async () => {
        const coordinator = make({ lockTtlMs: 40 });
        const slow = await coordinator.claim("sid-expired-alone");
        await sleep(80);
        assert.equal(slow.status === "WON" && (await slow.claim.publish("late")), false);
        assert.equal((await coordinator.claim("sid-expired-alone")).status, "WON");
      });

      it("forgets the result after resultTtlMs, and remembers the migration for migratedTtlMs", async () => {
        const coordinator = make({ resultTtlMs: 60, migratedTtlMs: 200 });
        const won = await coordinator.claim("sid-result-ttl");
        assert.ok(won.status === "WON" && (await won.claim.publish("r")));
        assert.equal((await coordinator.claim("sid-result-ttl")).status, "DONE");
        await sleep(100);
        // No second migration once the result is gone: the session was migrated.
        assert.equal((await coordinator.claim("sid-result-ttl")).status, "MIGRATED");
        await sleep(150);
        assert.equal((await coordinator.claim("sid-result-ttl")).status, "WON");
      });

      it("lets a claim publish or release only once", async () => {
        const coordinator = make();
        const won = await coordinator.claim("sid-once");
        assert.equal(won.status, "WON");
        if (won.status !== "WON") return;
        assert.equal(await won.claim.publish("r1"), true);
        assert.equal(await won.claim.publish("r2"), false);
        assert.equal(await won.claim.release(), false);
        assert.deepEqual(await coordinator.claim("sid-once"), { status: "DONE", result: "r1" });
      });
    });
  }

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
