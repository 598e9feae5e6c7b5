/**
 * dualSession() when a page load fires many first requests with one legacy cookie (issue 4 behaviour 4;
 * reliability T6, M10): every request succeeds as the user, one SuperTokens session exists, and the cookie
 * jar the browser ends with refreshes without tripping token-theft detection. Across processes: exactly one
 * with a shared Redis coordinator, at most one per process without.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createRedisMigrationCoordinator } from "../../lib/session/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { type CookieJar } from "../helpers/cookies.js";
import { countCalls, fullApp, serve, sessionsOf, setCookies, sidOf, waitFor } from "../helpers/dual-fixtures.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
const redis = createClient({ url: requireEnv("REDIS_URL") });
const prefix = `stm-test:dual-concurrency:${uniqueId()}:`;
before(async () => {
  core = await startDevCore();
  await redis.connect();
});
after(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
  redis.destroy();
  await core.close();
});

function redisStore() {
  const keyPrefix = `${prefix}sess:${uniqueId()}:`;
  return { ...countCalls(new RedisStore({ client: redis, prefix: keyPrefix })), keyPrefix };
}

/** Fires `urls.length` requests at once with `cookie`; resolves with the responses in the order they arrived. */
async function fire(urls: string[], cookie: string): Promise<request.Response[]> {
  const arrivals: request.Response[] = [];
  await Promise.all(
    urls.map((url) =>
      request(url)
        .get("/api/me")
        .set("Cookie", cookie)
        .then((res) => void arrivals.push(res)),
    ),
  );
  return arrivals;
}

const tokenCookie = (res: request.Response, name: string) =>
  setCookies(res)
    .find((c) => c.startsWith(`${name}=`))
    ?.split(";")[0];

/** The browser's jar: the legacy cookie, then every response's Set-Cookie applied in arrival order. */
function jarAfter(legacy: CookieJar, arrivals: request.Response[]): CookieJar {
  const jar = legacy.clone();
  for (const res of arrivals) jar.update(res);
  return jar;
}

/** The jar refreshes (no TOKEN_THEFT_DETECTED), and a request after that is served as the same session. */
async function assertJarWorks(url: string, jar: CookieJar, handle: string, userId: string) {
  const refreshed = await request(url).post("/auth/session/refresh").set("Cookie", jar.header("/auth/session/refresh"));
  assert.equal(refreshed.status, 200, `refresh answered ${refreshed.status} ${JSON.stringify(refreshed.body)}`);
  jar.update(refreshed);
  const later = await request(url).get("/api/me").set("Cookie", jar.header("/api/me"));
  assert.equal(later.status, 200);
  assert.equal(later.body.userId, userId);
  assert.equal(later.body.handle, handle);
  assert.deepEqual(await sessionsOf(userId), [handle], "the refresh revoked the session (token theft)");
  return later;
}

describe("dualSession with 20 parallel first requests in one process", () => {
  it("answers all 200 as the user, creates exactly one session, and leaves a jar that refreshes", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store, calls, keyPrefix } = redisStore();
    const legacy = await legacyLogin(store, "race-1");
    const sid = sidOf(legacy);
    const { app, mw } = fullApp({ store, secret: SECRET });
    const server = await serve(app);
    try {
      const arrivals = await fire(Array(20).fill(server.url), `connect.sid=${legacy.get("connect.sid")}`);
      assert.deepEqual(
        arrivals.map((r) => r.status),
        Array(20).fill(200),
      );
      assert.ok(arrivals.every((r) => r.body.userId === "race-1"));
      const handles = await sessionsOf("race-1");
      assert.equal(handles.length, 1, `${handles.length} sessions for one legacy session`);
      assert.ok(arrivals.every((r) => r.body.handle === handles[0]));
      // Every response carries the same tokens, so whichever order they arrive in, the jar ends the same.
      for (const name of ["sAccessToken", "sRefreshToken", "sFrontToken"]) {
        assert.equal(new Set(arrivals.map((r) => tokenCookie(r, name))).size, 1, `${name} differs between responses`);
      }
      assert.deepEqual(mw.stats().migrated, 1);
      assert.deepEqual(mw.stats().reused, 19);

      const jar = jarAfter(legacy, arrivals);
      const later = await assertJarWorks(server.url, jar, handles[0], "race-1");
      // That request proved the client holds the new tokens: retired once, cookie cleared.
      jar.update(later);
      assert.equal(jar.get("connect.sid"), undefined);
      await waitFor(async () => (await redis.exists(keyPrefix + sid)) === 0, 3000, "legacy destroyed");
      assert.equal(calls.destroy, 1);
    } finally {
      await server.close();
    }
  });
});

describe("dualSession across two processes", () => {
  it("creates at most one session per process with separate in-memory coordinators", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = redisStore();
    const legacy = await legacyLogin(store, "race-2");
    const a = await serve(fullApp({ store, secret: SECRET }).app);
    const b = await serve(fullApp({ store, secret: SECRET }).app);
    try {
      const urls = Array.from({ length: 20 }, (_, i) => (i % 2 ? a.url : b.url));
      const arrivals = await fire(urls, `connect.sid=${legacy.get("connect.sid")}`);
      assert.deepEqual(
        arrivals.map((r) => r.status),
        Array(20).fill(200),
      );
      assert.ok(arrivals.every((r) => r.body.userId === "race-2"));
      const handles = await sessionsOf("race-2");
      assert.ok(handles.length >= 1 && handles.length <= 2, `${handles.length} sessions from two processes`);
      for (const url of [a.url, b.url]) {
        const served = new Set(arrivals.filter((r) => r.request.url.startsWith(url)).map((r) => r.body.handle));
        assert.equal(served.size, 1, "one process served two sessions");
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("creates exactly one session with a shared Redis coordinator, and the jar refreshes", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store } = redisStore();
    const legacy = await legacyLogin(store, "race-3");
    const lockPrefix = `${prefix}lock:${uniqueId()}:`;
    // Two clients, as two processes would have.
    const other = createClient({ url: requireEnv("REDIS_URL") });
    await other.connect();
    const a = await serve(
      fullApp({ store, secret: SECRET, coordinator: createRedisMigrationCoordinator(redis, { prefix: lockPrefix }) })
        .app,
    );
    const b = await serve(
      fullApp({ store, secret: SECRET, coordinator: createRedisMigrationCoordinator(other, { prefix: lockPrefix }) })
        .app,
    );
    try {
      const urls = Array.from({ length: 20 }, (_, i) => (i % 2 ? a.url : b.url));
      const arrivals = await fire(urls, `connect.sid=${legacy.get("connect.sid")}`);
      assert.deepEqual(
        arrivals.map((r) => r.status),
        Array(20).fill(200),
      );
      const handles = await sessionsOf("race-3");
      assert.equal(handles.length, 1, `${handles.length} sessions with a shared lock`);
      assert.ok(arrivals.every((r) => r.body.handle === handles[0] && r.body.userId === "race-3"));
      assert.equal(new Set(arrivals.map((r) => tokenCookie(r, "sRefreshToken"))).size, 1);
      await assertJarWorks(b.url, jarAfter(legacy, arrivals), handles[0], "race-3");
    } finally {
      await a.close();
      await b.close();
      other.destroy();
    }
  });
});
