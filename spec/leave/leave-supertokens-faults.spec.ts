// leaveSuperTokens() when something fails partway (T11, T23): the SuperTokens session must outlive every failure
// before its replacement exists, and the answer must say what happened (503 + Retry-After, or SuperTokens' own 401).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import Session from "supertokens-node/recipe/session";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore } from "../helpers/legacy-session.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { initSuperTokens } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { spawnRedis, type OwnRedis } from "../helpers/redis-server.js";
import { leavingApp, newSessions, setCookies, sidOf } from "../helpers/leave-app.js";

let core: DevCore;
let proxy: TcpProxy;
let redis: ReturnType<typeof createClient>;
before(async () => {
  core = await startDevCore();
  proxy = await startTcpProxy({ host: "127.0.0.1", port: core.port });
  redis = createClient({ url: requireEnv("REDIS_URL") });
  await redis.connect();
});
after(async () => {
  await redis.quit();
  await proxy.close();
  await core.close();
});

/** A fresh SuperTokens app on the core, reached through the proxy (restored, in case a test left it cut). */
async function superTokensApp(sessionConfig: Parameters<typeof initSuperTokens>[1] = {}) {
  proxy.restore();
  initSuperTokens((await createCoreApp(core.url)).replace(core.url, proxy.url), sessionConfig);
}

/**
 * The 503 of the package: Retry-After, a code, no SuperTokens cookie cleared and no SuperTokens header. With
 * `anyCookie`, no cookie at all: express-session may still set its own after a failed regenerate (see the
 * store tests), which the middleware does not control.
 */
function assertUnavailable(res: request.Response, code: string, { anyCookie = true } = {}) {
  assert.equal(res.status, 503, JSON.stringify(res.body));
  assert.equal(res.headers["retry-after"], "1");
  assert.equal(res.body.code, code);
  const names = [...setCookies(res).keys()];
  if (anyCookie) assert.deepEqual(names, [], "a 503 sets and clears no cookie");
  else
    assert.deepEqual(
      names.filter((n) => n.startsWith("s")),
      [],
      "a 503 clears no SuperTokens cookie",
    );
  assert.equal(res.headers["front-token"], undefined, "the frontend is not told to drop its session");
  assert.equal(res.headers["st-access-token"], undefined);
}

describe("leaveSuperTokens when something fails partway", () => {
  it(
    "core unreachable: 503 with Retry-After, the SuperTokens session still valid, nothing in Redis, and it moves " +
      "once the core is back",
    async () => {
      await superTokensApp();
      const prefix = `leave:${uniqueId()}:`;
      const { app, stApp, created } = leavingApp(new RedisStore({ client: redis, prefix }));
      const jar = new CookieJar().update(await request(app).post("/st-login/core-cut-1"));
      const [handle] = await Session.getAllSessionHandlesForUser("core-cut-1");
      // The JWKS is cached by the SDK from here on, as in any app that has served a SuperTokens request.
      assert.equal((await request(stApp).get("/st/me").set("Cookie", jar.header("/st/me"))).status, 200);

      proxy.cut();
      for (let i = 0; i < 2; i++)
        assertUnavailable(
          await request(app).get("/app/me").set("Cookie", jar.header("/app/me")),
          "ERR_MIGRATE_CORE_UNAVAILABLE",
        );
      assert.deepEqual(created, [], "createSession never ran");
      assert.equal((await newSessions(redis, prefix)).size, 0);

      proxy.restore();
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session survived the outage");
      assert.equal(
        (await request(stApp).get("/st/me").set("Cookie", jar.header("/st/me"))).status,
        200,
        "its tokens still work",
      );
      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "core-cut-1");
      assert.equal(await Session.getSessionInformation(handle), undefined);
    },
  );

  it(
    "core unreachable before the app has fetched the JWKS (e.g. just restarted): 503 with " +
      "Retry-After, not a try-refresh 401",
    async () => {
      await superTokensApp();
      const { app, created } = leavingApp(new RedisStore({ client: redis, prefix: `leave:${uniqueId()}:` }));
      const jar = new CookieJar().update(await request(app).post("/st-login/cold-1"));
      const [handle] = await Session.getAllSessionHandlesForUser("cold-1");
      proxy.cut();
      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      proxy.restore();
      assert.deepEqual(created, []);
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is untouched");
      assertUnavailable(res, "ERR_MIGRATE_CORE_UNAVAILABLE");

      const moved = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(moved.status, 200, "it moves once the core is back");
      assert.equal(moved.body.userId, "cold-1");
    },
  );

  describe("the new system's store failing", () => {
    let own: OwnRedis;
    before(async () => {
      own = await spawnRedis();
    });
    after(() => own.dispose());

    it(
      "Redis stopped: 503 once createSession misses timeoutMs, the SuperTokens session is neither revoked nor " +
        "cleared, and it moves once Redis is back",
      async () => {
        await superTokensApp();
        const client = createClient({ url: own.url, socket: { reconnectStrategy: () => 20 } });
        client.on("error", () => {});
        await client.connect();
        const prefix = `leave:${uniqueId()}:`;
        try {
          const { app, stApp, created, converted } = leavingApp(new RedisStore({ client, prefix }), { timeoutMs: 300 });
          const jar = new CookieJar().update(await request(app).post("/st-login/redis-down-1"));
          const [handle] = await Session.getAllSessionHandlesForUser("redis-down-1");

          // Not events.once: it rejects on the "error" the client emits first.
          const down = new Promise((resolve) => client.once("reconnecting", resolve));
          await own.stop();
          await down;
          const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
          assertUnavailable(res, "ERR_MIGRATE_TIMEOUT");
          assert.deepEqual(created, ["redis-down-1"], "createSession was tried");
          assert.deepEqual(converted, [], "nothing was converted");
          assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is not revoked");
          assert.equal(
            (await request(stApp).get("/st/me").set("Cookie", jar.header("/st/me"))).status,
            200,
            "its tokens still work",
          );

          const ready = new Promise((resolve) => client.once("ready", resolve));
          await own.start();
          await ready;
          const moved = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
          assert.equal(moved.status, 200);
          assert.equal(moved.body.userId, "redis-down-1");
          const sid = sidOf(new CookieJar().update(moved).get("connect.sid"));
          assert.equal((await client.get(prefix + sid)) !== null, true, "the session the cookie names is stored");
          assert.equal(await Session.getSessionInformation(handle), undefined);
        } finally {
          await own.start();
          client.destroy();
        }
      },
    );

    it(
      "a store whose writes fail at once (closed Redis client): 503 ERR_MIGRATE_STORE_UNAVAILABLE and the " +
        "SuperTokens session stays",
      async () => {
        await superTokensApp();
        const client = createClient({ url: own.url });
        client.on("error", () => {});
        await client.connect();
        client.destroy();
        const { app, created, converted } = leavingApp(new RedisStore({ client, prefix: `leave:${uniqueId()}:` }));
        const jar = new CookieJar().update(await request(app).post("/st-login/store-closed-1"));
        const [handle] = await Session.getAllSessionHandlesForUser("store-closed-1");

        const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
        assertUnavailable(res, "ERR_MIGRATE_STORE_UNAVAILABLE", { anyCookie: false });
        assert.deepEqual(created, ["store-closed-1"]);
        assert.deepEqual(converted, []);
        assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is not revoked");
      },
    );
  });

  it(
    "revocation lost on the way to the core: the user keeps the new session, onConverted says revoked: false (and " +
      "may throw), and the next request is not moved again",
    async () => {
      await superTokensApp();
      const prefix = `leave:${uniqueId()}:`;
      const events: { revoked: boolean }[] = [];
      const { app, created } = leavingApp(new RedisStore({ client: redis, prefix }), {
        onConverted: (event) => {
          events.push(event);
          throw new Error("onConverted failed");
        },
      });
      const jar = new CookieJar().update(await request(app).post("/st-login/revoke-lost-1"));
      const [handle] = await Session.getAllSessionHandlesForUser("revoke-lost-1");

      proxy.failNext(/\/recipe\/session\/remove$/, "drop");
      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "revoke-lost-1");
      assert.deepEqual(events, [{ userId: "revoke-lost-1", sessionHandle: handle, revoked: false }]);
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session ends with its own expiry");
      jar.update(res);
      const sid = sidOf(jar.get("connect.sid"));
      assert.equal((await newSessions(redis, prefix)).get(sid!)?.userId, "revoke-lost-1");

      const next = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(next.status, 200);
      assert.equal(next.body.sid, sid, "the same new session");
      assert.deepEqual(created, ["revoke-lost-1"], "not moved twice");
    },
  );

  it(
    "expired access token: 401 try refresh with nothing changed; after the frontend refreshes, the next request " +
      "moves the session",
    async (t) => {
      await superTokensApp();
      const prefix = `leave:${uniqueId()}:`;
      const { app, created } = leavingApp(new RedisStore({ client: redis, prefix }));
      const jar = new CookieJar().update(await request(app).post("/st-login/expired-1"));
      const [handle] = await Session.getAllSessionHandlesForUser("expired-1");
      // Two hours later for the SDK and the dev core alike: the access token (1 h) has expired, the refresh token has
      // not.
      const realNow = Date.now.bind(Date);
      t.mock.method(Date, "now", () => realNow() + 2 * 3600_000);

      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { message: "try refresh token" });
      assert.deepEqual(created, []);
      assert.equal(new CookieJar().update(res).get("connect.sid"), undefined);
      assert.equal((await newSessions(redis, prefix)).size, 0);
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is untouched");

      const refreshed = await request(app)
        .post("/auth/session/refresh")
        .set("Cookie", jar.header("/auth/session/refresh"));
      assert.equal(refreshed.status, 200);
      jar.update(refreshed);
      const moved = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(moved.status, 200);
      assert.equal(moved.body.userId, "expired-1");
      assert.deepEqual(created, ["expired-1"]);
      assert.equal(await Session.getSessionInformation(handle), undefined);
    },
  );

  it("forged or garbage sAccessToken: no crash and no conversion, a tampered user id included", async () => {
    await superTokensApp();
    const prefix = `leave:${uniqueId()}:`;
    const { app, created } = leavingApp(new RedisStore({ client: redis, prefix }));
    const real = new CookieJar().update(await request(app).post("/st-login/victim-1")).get("sAccessToken")!;
    const [header, payload, signature] = real.split(".");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    claims.sub = "admin";
    claims.rsub = "admin";
    const tampered = [header, Buffer.from(JSON.stringify(claims)).toString("base64url"), signature].join(".");

    for (const [what, token] of [
      ["garbage", "garbage"],
      ["three garbage parts", "a.b.c"],
      ["tampered payload", tampered],
    ] as const) {
      const res = await request(app).get("/app/me").set("Cookie", `sAccessToken=${token}`);
      assert.ok(res.status === 401, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(new CookieJar().update(res).get("connect.sid"), undefined, what);
    }
    const tamperedRes = await request(app).get("/app/me").set("Cookie", `sAccessToken=${tampered}`);
    assert.deepEqual(
      tamperedRes.body,
      { message: "try refresh token" },
      "answered as SuperTokens answers an invalid signature",
    );
    assert.deepEqual(created, [], "nobody was signed in");
    assert.equal((await newSessions(redis, prefix)).size, 0);
  });
});
