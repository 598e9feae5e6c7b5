/**
 * How long a legacy cookie keeps yielding the migrated session's tokens (issue 11, items 5 and 6; T11): at most
 * `graceMs` after the migration, at most `proofGraceMs` after a request proves the browser holds the new tokens,
 * whatever the coordinator's own result TTL. The clock is moved with Date.now (memory coordinator, engine) or
 * read from Redis (PTTL), never slept on.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  type MigrationEvent,
} from "../../lib/session/index.js";
import { hashTag } from "../../lib/session/coordinator.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import type { CookieJar } from "../helpers/cookies.js";
import { fullApp, sessionsOf, sidOf, waitFor } from "../helpers/dual-fixtures.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
const redis = createClient({ url: requireEnv("REDIS_URL") });
const prefix = `stm-test:dual-windows:${uniqueId()}:`;
before(async () => {
  core = await startDevCore();
  await redis.connect();
});
after(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
  redis.destroy();
  await core.close();
});

type App = Parameters<typeof request>[0];
const me = (app: App, cookie: string) => request(app).get("/api/me").set("Cookie", cookie);
const legacyOnly = (jar: CookieJar) => `connect.sid=${jar.get("connect.sid")}`;

describe("dualSession: the window after proof (issue 11, item 5)", () => {
  it("serves the legacy cookie for proofGraceMs after proof, not for the rest of graceMs", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "proof-window");
    const inFlight = legacyOnly(jar);
    const { app } = fullApp({ store, secret: SECRET, graceMs: 60_000, proofGraceMs: 2_000 });
    const first = await me(app, inFlight);
    assert.equal(first.status, 200);
    jar.update(first);
    const proof = await me(app, jar.header("/api/me"));
    assert.equal(proof.status, 200);

    // A request of the same page load still in flight: same tokens.
    const late = await me(app, inFlight);
    assert.equal(late.status, 200);
    assert.equal(late.body.handle, first.body.handle);

    const realNow = Date.now.bind(Date);
    t.mock.method(Date, "now", () => realNow() + 2_500);
    const after = await me(app, inFlight);
    assert.equal(after.status, 401, `the legacy cookie still worked ${2_500} ms after proof`);
    assert.deepEqual(await sessionsOf("proof-window"), [first.body.handle]);
  });

  it("with the Redis coordinator, proof cuts the published tokens' lifetime to proofGraceMs", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "proof-redis");
    const keyPrefix = `${prefix}${uniqueId()}:`;
    const coordinator = createRedisMigrationCoordinator(redis, { prefix: keyPrefix });
    const { app } = fullApp({ store, secret: SECRET, coordinator, graceMs: 60_000, proofGraceMs: 1_500 });
    const resultKey = `${keyPrefix}result:${hashTag(sidOf(jar))}`;
    const first = await me(app, legacyOnly(jar));
    assert.equal(first.status, 200);
    assert.ok((await redis.pTTL(resultKey)) > 30_000, "published for the grace window before proof");
    jar.update(first);
    assert.equal((await me(app, jar.header("/api/me"))).status, 200);
    await waitFor(async () => (await redis.pTTL(resultKey)) <= 1_500, 3000, "result cut to proofGraceMs");
  });

  it("rejects a proofGraceMs that is not a positive number", () => {
    const store = new expressSession.MemoryStore();
    for (const bad of [0, -1, "5000", Number.NaN]) {
      assert.throws(
        () => fullApp({ store, secret: SECRET, proofGraceMs: bad as number }),
        /dualSession: `proofGraceMs` must be a positive number of milliseconds/,
      );
    }
  });
});

describe("dualSession: the coordinator's result lifetime follows graceMs (issue 11, item 6)", () => {
  it(
    "Redis coordinator with its default resultTtlMs: published tokens live graceMs, and a " +
      "stolen cookie gets nothing after it",
    async () => {
      initSuperTokens(await createCoreApp(core.url));
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "ttl-redis");
      const stolen = legacyOnly(jar);
      const keyPrefix = `${prefix}${uniqueId()}:`;
      const coordinator = createRedisMigrationCoordinator(redis, { prefix: keyPrefix });
      const events: MigrationEvent[] = [];
      const graceMs = 300;
      const { app } = fullApp({ store, secret: SECRET, coordinator, graceMs, onMigration: (e) => events.push(e) });
      const first = await me(app, stolen);
      assert.equal(first.status, 200);
      const ttl = await redis.pTTL(`${keyPrefix}result:${hashTag(sidOf(jar))}`);
      assert.ok(ttl <= graceMs, `published tokens live ${ttl} ms, graceMs is ${graceMs}`);
      await waitFor(() => events.some((e) => e.type === "retired"), 3000, "grace retirement");
      const replay = await me(app, stolen);
      assert.equal(replay.status, 401, "the stolen cookie got tokens after the grace window");
      assert.deepEqual(await sessionsOf("ttl-redis"), [first.body.handle]);
    },
  );

  it("memory coordinator created with its defaults: no reuse once graceMs has passed", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "ttl-memory");
    const stolen = legacyOnly(jar);
    const coordinator = createMemoryMigrationCoordinator();
    const { app } = fullApp({ store, secret: SECRET, coordinator, graceMs: 3_000 });
    const first = await me(app, stolen);
    assert.equal(first.status, 200);
    const realNow = Date.now.bind(Date);
    t.mock.method(Date, "now", () => realNow() + 3_500);
    const replay = await me(app, stolen);
    assert.equal(replay.status, 401, "the stolen cookie got tokens after graceMs");
    assert.deepEqual(await sessionsOf("ttl-memory"), [first.body.handle]);
  });
});
