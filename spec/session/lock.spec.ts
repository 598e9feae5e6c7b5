import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient } from "redis";
import { createRedisLock, createSingleFlight, hashSid, type RedisScriptClient } from "../../lib/session/lock.js";
import { requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => (err as { code?: unknown }).code === code);
}

describe("createSingleFlight", () => {
  it("runs fn once for 20 concurrent callers with the same key, and all get its value", async () => {
    const flight = createSingleFlight<{ n: number }>();
    let calls = 0;
    const fn = async () => {
      calls++;
      await sleep(20);
      return { n: calls };
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => flight.run("sid-hash", fn)));
    assert.equal(calls, 1);
    assert.ok(results.every((r) => r === results[0]));
    assert.equal(flight.size, 0);
  });

  it("runs fn separately for different keys", async () => {
    const flight = createSingleFlight<string>();
    let calls = 0;
    const fn = async () => String(++calls);
    await Promise.all([flight.run("a", fn), flight.run("b", fn), flight.run("a", fn)]);
    assert.equal(calls, 2);
  });

  it("forgets the key after it settles, so the next call runs fn again", async () => {
    const flight = createSingleFlight<number>();
    let calls = 0;
    assert.equal(await flight.run("k", async () => ++calls), 1);
    assert.equal(await flight.run("k", async () => ++calls), 2);
  });

  it("shares a rejection (and a synchronous throw) with every caller, then forgets the key", async () => {
    const flight = createSingleFlight<number>();
    let calls = 0;
    const failing = (): Promise<number> => {
      calls++;
      throw new Error("boom");
    };
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => flight.run("k", failing)));
    assert.equal(calls, 1);
    assert.ok(settled.every((s) => s.status === "rejected" && (s.reason as Error).message === "boom"));
    assert.equal(flight.size, 0);
    assert.equal(await flight.run("k", async () => 7), 7);
  });
});

describe("createRedisLock", () => {
  const client = createClient({ url: requireEnv("REDIS_URL") });
  const prefix = `stm-test:lock:${uniqueId()}:`;

  before(async () => {
    await client.connect();
  });

  after(async () => {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await client.del(keys);
    client.destroy();
  });

  it("lets exactly one of many concurrent contenders win", async () => {
    const lock = createRedisLock(client, { prefix });
    const handles = await Promise.all(Array.from({ length: 20 }, () => lock.acquire("sid-race", 5000)));
    assert.equal(handles.filter((h) => h !== undefined).length, 1);
  });

  it("lets exactly one of two contenders on separate connections win", async () => {
    const other = createClient({ url: requireEnv("REDIS_URL") });
    await other.connect();
    try {
      const a = createRedisLock(client, { prefix });
      const b = createRedisLock(other, { prefix });
      const [ha, hb] = await Promise.all([a.acquire("sid-two", 5000), b.acquire("sid-two", 5000)]);
      assert.equal([ha, hb].filter((h) => h !== undefined).length, 1);
    } finally {
      other.destroy();
    }
  });

  it("frees the lock on release by its owner", async () => {
    const lock = createRedisLock(client, { prefix });
    const first = await lock.acquire("sid-release", 5000);
    assert.ok(first);
    assert.equal(await lock.acquire("sid-release", 5000), undefined);
    assert.equal(await first.release(), true);
    const second = await lock.acquire("sid-release", 5000);
    assert.ok(second);
    assert.notEqual(second.token, first.token);
  });

  it("does not let a holder whose TTL expired release the next holder's lock", async () => {
    const lock = createRedisLock(client, { prefix });
    const stale = await lock.acquire("sid-ttl", 80);
    assert.ok(stale);
    assert.equal(await lock.acquire("sid-ttl", 5000), undefined, "held until the TTL expires");
    await sleep(150);
    const current = await lock.acquire("sid-ttl", 5000);
    assert.ok(current, "free again after the TTL");
    assert.equal(await stale.release(), false);
    assert.equal(await lock.acquire("sid-ttl", 5000), undefined, "the current holder still holds it");
    assert.equal(await current.release(), true);
  });

  it("keys Redis by sha256(sid), never by the sid", async () => {
    const sid = `raw-sid-${uniqueId()}`;
    const lock = createRedisLock(client, { prefix });
    assert.ok(await lock.acquire(sid, 5000));
    const keys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*` })) keys.push(...batch);
    assert.ok(keys.includes(`${prefix}lock:{${hashSid(sid)}}`));
    assert.ok(keys.every((k) => !k.includes(sid)));
    assert.equal(hashSid(sid).length, 64);
  });

  it("fails with ERR_MIGRATE_LOCK_UNAVAILABLE on a closed client, never as won or busy", async () => {
    const closed = createClient({ url: requireEnv("REDIS_URL") });
    await closed.connect();
    closed.destroy();
    await rejectsWithCode(createRedisLock(closed, { prefix }).acquire("sid-x", 1000), "ERR_MIGRATE_LOCK_UNAVAILABLE");
  });

  it("fails with ERR_MIGRATE_TIMEOUT within the deadline when Redis never answers", async () => {
    const silent = await startSilentServer();
    const hung = createClient({ url: `redis://127.0.0.1:${silent.port}` });
    hung.on("error", () => {});
    hung.connect().catch(() => {});
    try {
      const started = Date.now();
      await rejectsWithCode(createRedisLock(hung, { prefix, timeoutMs: 100 }).acquire("sid-x", 1000), "ERR_MIGRATE_TIMEOUT");
      assert.ok(Date.now() - started < 1000);
    } finally {
      hung.destroy();
      await silent.close();
    }
  });

  it("refuses a bad client, prefix or TTL with ERR_MIGRATE_CONFIG", async () => {
    const isConfig = (err: unknown) => (err as { code?: unknown }).code === "ERR_MIGRATE_CONFIG";
    assert.throws(() => createRedisLock({} as RedisScriptClient, { prefix }), isConfig);
    assert.throws(() => createRedisLock(client, {} as { prefix: string }), isConfig);
    const lock = createRedisLock(client, { prefix });
    for (const ttl of [0, -1, 1.5, Number.NaN]) await assert.rejects(lock.acquire("sid-y", ttl), isConfig);
  });
});
