/**
 * dualSession() under faults (issue 4 behaviour 5; reliability T9, T10, T11): a store or core that is down,
 * slow or failing gives 503 with Retry-After and a JSON body, never 401; the legacy session stays
 * byte-identical and nothing is created; a deadline bounds every wait; and once the fault is gone the
 * migration completes cleanly.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import { startDevCore, MemoryStorage, type DevCore } from "../../lib/core/index.js";
import express from "express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { createRedisMigrationCoordinator, migrationEndpoint, type MigrationEvent } from "../../lib/session/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore, session as expressSession, type SessionStore } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";
import { captureDebug, countCalls, fullApp, sessionsOf, setCookies, sidOf, waitFor } from "../helpers/dual-fixtures.js";
import { spawnRedis, type OwnRedis } from "../helpers/redis-server.js";
import { startDelayProxy } from "../helpers/delay-proxy.js";
import { startSilentServer, uniqueId } from "../helpers/services.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

type App = Parameters<typeof request>[0];
const me = (app: App, cookie: string) => request(app).get("/api/me").set("Cookie", cookie);
const legacyOnly = (jar: CookieJar) => `connect.sid=${jar.get("connect.sid")}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The 503 every fault must produce: retryable, JSON, no cookie touched, within the deadline. */
function assertUnavailable(res: request.Response, started: number, deadlineMs: number, retryAfter = "1") {
  const elapsed = Date.now() - started;
  assert.equal(res.status, 503, `expected 503, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(res.headers["retry-after"], retryAfter);
  assert.match(String(res.headers["content-type"]), /^application\/json/);
  assert.equal(typeof res.body.message, "string");
  assert.match(res.body.code, /^ERR_MIGRATE_/);
  assert.deepEqual(setCookies(res), [], "a 503 must not set or clear any cookie");
  assert.ok(elapsed < deadlineMs + 400, `answered after ${elapsed} ms; deadline ${deadlineMs} ms`);
}

function memoryStore() {
  return countCalls(new expressSession.MemoryStore());
}

describe("dualSession when the legacy store fails before the SuperTokens session exists", () => {
  let own: OwnRedis;
  before(async () => {
    own = await spawnRedis();
  });
  after(() => own.dispose());

  it(
    "answers 503 while Redis (connect-redis) is stopped, keeps the session, and migrates cleanly once it is " + "back",
    async () => {
      initSuperTokens(await createCoreApp(core.url));
      const client = createClient({ url: own.url, socket: { reconnectStrategy: () => 20 } });
      client.on("error", () => {});
      await client.connect();
      const prefix = `sess-${uniqueId()}:`;
      const store = new RedisStore({ client, prefix });
      try {
        const jar = await legacyLogin(store, "redis-down-1");
        const sid = sidOf(jar);
        const before = await client.get(prefix + sid);
        assert.ok(before);
        const events: MigrationEvent[] = [];
        const { app } = fullApp({
          store,
          secret: SECRET,
          storeTimeoutMs: 300,
          retryAfterSeconds: 2,
          onMigration: (e) => events.push(e),
        });

        await own.stop();
        for (let i = 0; i < 3; i++) {
          const started = Date.now();
          assertUnavailable(await me(app, legacyOnly(jar)), started, 300, "2");
        }
        assert.deepEqual(
          events.map((e) => e.reason),
          ["store-unavailable", "store-unavailable", "store-unavailable"],
        );
        assert.deepEqual(await sessionsOf("redis-down-1"), []);

        await own.start();
        await waitFor(() => client.isReady, 5000, "Redis client reconnected");
        assert.equal(await client.get(prefix + sid), before, "legacy session changed during the outage");
        const res = await me(app, legacyOnly(jar));
        assert.equal(res.status, 200);
        assert.equal(res.body.userId, "redis-down-1");
        assert.deepEqual(await sessionsOf("redis-down-1"), [res.body.handle]);
      } finally {
        await own.start();
        client.destroy();
      }
    },
  );

  it("answers 503 while the Redis migration lock is stopped, and migrates cleanly once it is back", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const client = createClient({ url: own.url, socket: { reconnectStrategy: () => 20 } });
    client.on("error", () => {});
    await client.connect();
    try {
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "lock-down-1");
      const sid = sidOf(jar);
      const before = store.sessions[sid];
      const coordinator = createRedisMigrationCoordinator(client, { prefix: `stm-${uniqueId()}:`, timeoutMs: 300 });
      const { app } = fullApp({ store, secret: SECRET, coordinator });

      await own.stop();
      const started = Date.now();
      assertUnavailable(await me(app, legacyOnly(jar)), started, 300);
      assert.equal(store.sessions[sid], before);
      assert.deepEqual(await sessionsOf("lock-down-1"), []);

      await own.start();
      await waitFor(() => client.isReady, 5000, "Redis client reconnected");
      const res = await me(app, legacyOnly(jar));
      assert.equal(res.status, 200);
      assert.deepEqual(await sessionsOf("lock-down-1"), [res.body.handle]);
    } finally {
      await own.start();
      client.destroy();
    }
  });

  it("answers 503 within storeTimeoutMs when the store never calls back", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "hung-1");
    const hung: SessionStore = {
      ...store,
      get: () => undefined,
      destroy: () => undefined,
      on: () => undefined,
      set: store.set.bind(store),
    };
    const { app } = fullApp({ store: hung, secret: SECRET, storeTimeoutMs: 200 });
    const started = Date.now();
    assertUnavailable(await me(app, legacyOnly(jar)), started, 200);
    assert.deepEqual(await sessionsOf("hung-1"), []);
  });

  it("answers 503 within storeTimeoutMs when connect-redis talks to a black-holed Redis", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store: memory } = memoryStore();
    const jar = await legacyLogin(memory, "hung-2");
    const silent = await startSilentServer();
    const client = createClient({ url: `redis://127.0.0.1:${silent.port}` });
    client.on("error", () => {});
    client.connect().catch(() => {});
    try {
      const { app } = fullApp({ store: new RedisStore({ client }), secret: SECRET, storeTimeoutMs: 250 });
      const started = Date.now();
      assertUnavailable(await me(app, legacyOnly(jar)), started, 250);
    } finally {
      client.destroy();
      await silent.close();
    }
  });

  it("answers 503 (never 401) when get fails, and at once after the store emits disconnect", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "failing-1");
    const failing = new expressSession.MemoryStore();
    failing.get = (_sid, cb) => cb(Object.assign(new Error("ECONNRESET"), { code: "ECONNRESET" }));
    const { app } = fullApp({ store: failing, secret: SECRET });
    const started = Date.now();
    assertUnavailable(await me(app, legacyOnly(jar)), started, 100);

    const { store: dropping, calls } = memoryStore();
    const jar2 = await legacyLogin(dropping, "failing-2");
    const { app: app2 } = fullApp({ store: dropping, secret: SECRET });
    (dropping as unknown as { emit(e: string): void }).emit("disconnect");
    const started2 = Date.now();
    assertUnavailable(await me(app2, legacyOnly(jar2)), started2, 100);
    assert.equal(calls.get, 0);
    (dropping as unknown as { emit(e: string): void }).emit("connect");
    assert.equal((await me(app2, legacyOnly(jar2))).status, 200);
  });
});

describe("dualSession when the SuperTokens core is down or slow", () => {
  it(
    "answers 503 while the core is stopped, keeps the legacy session byte-identical, creates nothing, and migrates " +
      "once it is back",
    async () => {
      const storage = new MemoryStorage();
      let own = await startDevCore({ storage });
      const port = own.port;
      try {
        initSuperTokens(await createCoreApp(own.url));
        const { store } = memoryStore();
        const jar = await legacyLogin(store, "core-down-1");
        const sid = sidOf(jar);
        const before = store.sessions[sid];
        const events: MigrationEvent[] = [];
        const { app } = fullApp({ store, secret: SECRET, onMigration: (e) => events.push(e) });

        await own.close();
        const started = Date.now();
        const res = await me(app, legacyOnly(jar));
        assertUnavailable(res, started, 5000);
        assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");
        assert.equal(store.sessions[sid], before, "legacy session changed while the core was down");
        assert.deepEqual(events, [{ type: "rejected", reason: "core-unavailable" }]);

        own = await startDevCore({ storage, port });
        assert.deepEqual(await sessionsOf("core-down-1"), [], "a session was created while the core was down");
        const back = await me(app, legacyOnly(jar));
        assert.equal(back.status, 200);
        assert.deepEqual(await sessionsOf("core-down-1"), [back.body.handle]);
      } finally {
        await own.close();
      }
    },
  );

  it("answers 503, not 401, to a SuperTokens session when the core is down before the app has its keys", async () => {
    // An app process restarted during a core outage has no signing keys cached: the SDK turns the failed key fetch
    // into "try refresh token", and a 401 makes the frontend sign the user out when its refresh fails too.
    const storage = new MemoryStorage();
    let own = await startDevCore({ storage });
    const port = own.port;
    try {
      const uri = await createCoreApp(own.url);
      initSuperTokens(uri);
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "cold-keys-1");
      const { app } = fullApp({ store, secret: SECRET });
      const migrated = await me(app, legacyOnly(jar));
      assert.equal(migrated.status, 200);
      const access = new CookieJar().update(migrated).get("sAccessToken");
      assert.ok(access, "the migration set an access token");

      initSuperTokens(uri); // a fresh SDK: the restarted process, with no keys cached
      const restarted = fullApp({ store, secret: SECRET }).app;
      await own.close();
      const started = Date.now();
      const res = await me(restarted, `sAccessToken=${access}`);
      assertUnavailable(res, started, 5000);
      assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");

      own = await startDevCore({ storage, port });
      const back = await me(restarted, `sAccessToken=${access}`);
      assert.equal(back.status, 200, "the same token works once the core is back");
      assert.equal(back.body.userId, "cold-keys-1");
    } finally {
      await own.close();
    }
  });

  it("answers 503 within coreTimeoutMs when the core never answers", async () => {
    const silent = await startSilentServer();
    try {
      initSuperTokens(`http://127.0.0.1:${silent.port}`);
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "core-hung-1");
      const sid = sidOf(jar);
      const before = store.sessions[sid];
      const { app } = fullApp({ store, secret: SECRET, coreTimeoutMs: 300 });
      const started = Date.now();
      assertUnavailable(await me(app, legacyOnly(jar)), started, 300);
      assert.equal(store.sessions[sid], before);
    } finally {
      await silent.close();
    }
  });

  it("answers 503 when the core is slower than coreTimeoutMs, and revokes the session it creates late", async () => {
    const proxy = await startDelayProxy(core.url);
    try {
      const uri = await createCoreApp(core.url);
      initSuperTokens(uri.replace(core.url, proxy.url));
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "core-slow-1");
      const { app } = fullApp({ store, secret: SECRET, coreTimeoutMs: 300 });
      // Warm the SDK's API-version cache so that only session creation is slow.
      assert.deepEqual(await sessionsOf("core-slow-1"), []);
      proxy.delay((method, path) => method === "POST" && path.endsWith("/recipe/session"), 700);
      const started = Date.now();
      const res = await me(app, legacyOnly(jar));
      assertUnavailable(res, started, 300);
      await proxy.settled();
      proxy.delay(() => false, 0);
      await waitFor(async () => (await sessionsOf("core-slow-1")).length === 0, 3000, "late session revoked");
      // The client retries and gets exactly one session.
      const retry = await me(app, legacyOnly(jar));
      assert.equal(retry.status, 200);
      assert.deepEqual(await sessionsOf("core-slow-1"), [retry.body.handle]);
    } finally {
      await proxy.close();
    }
  });
});

describe("dualSession when the store fails after the SuperTokens session exists", () => {
  it("still serves the request, lets no replay mint a session, and retries the destroy until it succeeds", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "destroy-fails-1");
    const sid = sidOf(jar);
    let failDestroy = true;
    let failedDestroys = 0;
    const destroy = store.destroy.bind(store);
    store.destroy = (s, cb) => {
      if (!failDestroy) return destroy(s, cb);
      failedDestroys++;
      cb?.(new Error("READONLY You can't write against a read only replica"));
    };
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, graceMs: 200, onMigration: (e) => events.push(e) });

    const first = await me(app, jar.header("/api/me"));
    assert.equal(first.status, 200);
    jar.update(first);
    const proof = await me(app, jar.header("/api/me"));
    assert.equal(proof.status, 200);
    assert.ok(store.sessions[sid], "the failing store still holds the legacy session");
    // The grace window is the behaviour under test: once it has passed (the coordinator's result has expired),
    // nothing in the store stops a replay but dualSession's own record of the migration.
    await sleep(250);
    const replays = await Promise.all(Array.from({ length: 3 }, () => me(app, legacyOnly(jar))));
    assert.deepEqual(
      replays.map((r) => r.status),
      [401, 401, 401],
    );
    assert.deepEqual(await sessionsOf("destroy-fails-1"), [first.body.handle]);
    assert.ok(failedDestroys >= 1);

    failDestroy = false;
    await waitFor(() => store.sessions[sid] === undefined, 5000, "destroy retried");
    await waitFor(() => events.some((e) => e.type === "retired"));
    assert.equal((await me(app, legacyOnly(jar))).status, 401);
    assert.deepEqual(await sessionsOf("destroy-fails-1"), [first.body.handle]);
  });

  it("mints nothing for a replay that arrives while the retirement's destroy is still in flight", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "destroy-slow-1");
    const sid = sidOf(jar);
    const destroy = store.destroy.bind(store);
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    let destroyCalled = false;
    store.destroy = (s, cb) => {
      destroyCalled = true;
      void gate.then(() => destroy(s, cb));
    };
    const { app } = fullApp({ store, secret: SECRET, graceMs: 200 });
    const first = await me(app, legacyOnly(jar));
    assert.equal(first.status, 200);
    // The grace timer fires after the coordinator's result (same TTL) has expired: from here on only the store
    // still holds the session.
    await waitFor(() => destroyCalled, 3000, "grace retirement started");
    assert.ok(store.sessions[sid]);
    const replay = await me(app, legacyOnly(jar));
    assert.equal(replay.status, 401);
    assert.deepEqual(await sessionsOf("destroy-slow-1"), [first.body.handle]);
    release();
    await waitFor(() => store.sessions[sid] === undefined);
  });
});

describe("migrationEndpoint when the legacy store is down", () => {
  it("answers 503 with Retry-After, never 401 NO_LEGACY_SESSION (which would sign the user out)", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "endpoint-down-1");
    const hung: SessionStore = {
      ...store,
      get: () => undefined,
      destroy: () => undefined,
      on: () => undefined,
      set: store.set.bind(store),
    };
    const app = express();
    app.use(middleware());
    app.post("/auth/migrate-session", migrationEndpoint({ store: hung, secret: SECRET, storeTimeoutMs: 200 }));
    app.use(errorHandler());
    const started = Date.now();
    const res = await request(app).post("/auth/migrate-session").set("Cookie", legacyOnly(jar)).set("rid", "session");
    assertUnavailable(res, started, 200);
    assert.deepEqual(await sessionsOf("endpoint-down-1"), []);
  });
});

describe("dualSession 503 answers and logs", () => {
  it("carry no session id, cookie value or secret", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "leak-1");
    const sid = sidOf(jar);
    const failing = new expressSession.MemoryStore();
    failing.get = (s, cb) => cb(new Error(`connection to redis://user:hunter2@10.0.0.1 failed for key sess:${s}`));
    const capture = captureDebug();
    let body: string;
    try {
      const { app } = fullApp({ store: failing, secret: SECRET });
      const res = await me(app, legacyOnly(jar));
      assert.equal(res.status, 503);
      body = res.text;
    } finally {
      capture.stop();
    }
    const text = capture.lines.join("\n");
    assert.match(text, /503|unavailable|failed/);
    for (const canary of [sid, "hunter2", SECRET, decodeURIComponent(jar.get("connect.sid")!)]) {
      assert.ok(!text.includes(canary), "a debug line leaks a secret");
      assert.ok(!body.includes(canary), "the 503 body leaks a secret");
    }
  });
});
