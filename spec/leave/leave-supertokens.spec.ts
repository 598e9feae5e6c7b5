import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import argon2 from "argon2";
import express from "express";
import request from "supertest";
import { createClient } from "redis";
import Session from "supertokens-node/recipe/session";
import { middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { verifyExportedPassword } from "../../lib/leave/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore } from "../helpers/legacy-session.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { initSuperTokens } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { isClearing, leavingApp, newSessions, setCookies, sidOf } from "../helpers/leave-app.js";

let core: DevCore;
/** In front of the core, to see which core requests the middleware made and in what order. */
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

/** A fresh SuperTokens app on the core, reached through the proxy, and a fresh Redis prefix for express-session. */
async function setup(sessionConfig: Parameters<typeof initSuperTokens>[1] = {}) {
  initSuperTokens((await createCoreApp(core.url)).replace(core.url, proxy.url), sessionConfig);
  const prefix = `leave:${uniqueId()}:`;
  return { prefix, store: new RedisStore({ client: redis, prefix }) };
}

const LOOKUP = /^GET \S*\/recipe\/session$/;
const REVOKE = /^POST \S*\/recipe\/session\/remove$/;

describe("leaveSuperTokens: moving live sessions off SuperTokens (express-session on Redis)", () => {
  it("creates the new session first, then revokes the SuperTokens session and clears its cookies", async () => {
    const { store } = await setup();
    const { app, created: calls } = leavingApp(store);
    const jar = new CookieJar().update(await request(app).post("/st-login/user-5"));
    const [handle] = await Session.getAllSessionHandlesForUser("user-5");
    assert.ok(handle);

    const first = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
    assert.equal(first.status, 200);
    assert.equal(first.body.userId, "user-5");
    jar.update(first);
    assert.ok(jar.get("connect.sid"), "new system's cookie set");
    assert.equal(jar.get("sAccessToken"), undefined, "SuperTokens cookies cleared");
    assert.equal(await Session.getSessionInformation(handle), undefined, "SuperTokens session revoked");

    const second = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
    assert.equal(second.body.userId, "user-5");
    assert.deepEqual(calls, ["user-5"]);
  });

  it(
    "cookie mode: the new session is in Redis for the same user id before the revocation reaches the core, and " +
      "every SuperTokens cookie is cleared",
    async () => {
      const { store, prefix } = await setup();
      let requestsWhenSaved = -1;
      const { app, converted } = leavingApp(store, { afterCreate: () => (requestsWhenSaved = proxy.requests.length) });
      const jar = new CookieJar().update(await request(app).post("/st-login/cookie-1"));
      assert.ok(jar.get("sRefreshToken"), "signed in with a refresh token cookie");
      const [handle] = await Session.getAllSessionHandlesForUser("cookie-1");

      const from = proxy.requests.length;
      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "cookie-1");
      const core = proxy.requests.slice(from);
      const savedAt = requestsWhenSaved - from;
      assert.ok(savedAt >= 0, "createSession's save completed");
      assert.ok(
        core.slice(0, savedAt).some((r) => LOOKUP.test(r)),
        `the core was asked about the session before anything was created: ${core.join(", ")}`,
      );
      assert.ok(
        !core.slice(0, savedAt).some((r) => REVOKE.test(r)),
        `revoked before the new session was saved: ${core.join(", ")}`,
      );
      assert.ok(
        core.slice(savedAt).some((r) => REVOKE.test(r)),
        `revoked after the new session was saved: ${core.join(", ")}`,
      );
      assert.equal(await Session.getSessionInformation(handle), undefined, "SuperTokens session revoked");
      assert.deepEqual(converted, [{ userId: "cookie-1", sessionHandle: handle, revoked: true }]);

      const cookies = setCookies(res);
      assert.ok(isClearing(cookies.get("sAccessToken")), `sAccessToken cleared: ${cookies.get("sAccessToken")}`);
      assert.ok(isClearing(cookies.get("sRefreshToken")), `sRefreshToken cleared: ${cookies.get("sRefreshToken")}`);
      assert.match(
        cookies.get("sRefreshToken")!,
        /Path=\/auth\/session\/refresh/i,
        "cleared on the refresh token's own path",
      );
      assert.equal(res.headers["front-token"], "remove", "the frontend SDK is told its session is gone");

      const sid = sidOf(new CookieJar().update(res).get("connect.sid"));
      assert.ok(sid, "the new system's cookie is set");
      const sessions = await newSessions(redis, prefix);
      assert.deepEqual([...sessions.keys()], [sid], "exactly one new session, the one the cookie names");
      assert.equal(sessions.get(sid)!.userId, "cookie-1");
    },
  );

  it(
    "header mode: moves a session sent as Authorization: Bearer, and tells the frontend to drop its " + "tokens",
    async () => {
      const { store, prefix } = await setup({ getTokenTransferMethod: () => "header" });
      const { app, created } = leavingApp(store);
      const login = await request(app).post("/st-login/header-1");
      const access = login.headers["st-access-token"];
      const refresh = login.headers["st-refresh-token"];
      assert.ok(access && refresh, "header-mode tokens issued");
      const [handle] = await Session.getAllSessionHandlesForUser("header-1");

      const res = await request(app).get("/app/me").set("Authorization", `Bearer ${access}`);
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "header-1");
      assert.deepEqual(created, ["header-1"]);
      assert.equal(res.headers["st-access-token"], "", "access token header emptied");
      assert.equal(res.headers["st-refresh-token"], "", "refresh token header emptied");
      assert.equal(res.headers["front-token"], "remove");
      assert.equal(await Session.getSessionInformation(handle), undefined, "SuperTokens session revoked");
      const sid = sidOf(new CookieJar().update(res).get("connect.sid"));
      const sessions = await newSessions(redis, prefix);
      assert.deepEqual([...sessions.keys()], [sid]);
      assert.equal(sessions.get(sid!)!.userId, "header-1");

      const refreshed = await request(app).post("/auth/session/refresh").set("Authorization", `Bearer ${refresh}`);
      assert.equal(refreshed.status, 401, "the old refresh token gets no new session");
    },
  );

  it(
    "after the move the old SuperTokens tokens are dead: a checkDatabase route answers 401 and the refresh token " +
      "gets nothing",
    async () => {
      const { store } = await setup();
      const { app, stApp } = leavingApp(store);
      const old = new CookieJar().update(await request(app).post("/st-login/dead-1"));
      assert.equal(
        (await request(stApp).get("/st/me").set("Cookie", old.header("/st/me"))).status,
        200,
        "the tokens work before the move",
      );

      const moved = await request(app).get("/app/me").set("Cookie", old.header("/app/me"));
      assert.equal(moved.status, 200);

      const me = await request(stApp).get("/st/me").set("Cookie", old.header("/st/me"));
      assert.equal(me.status, 401);
      const refreshed = await request(app)
        .post("/auth/session/refresh")
        .set("Cookie", old.header("/auth/session/refresh"));
      assert.equal(refreshed.status, 401);
      assert.equal(new CookieJar().update(refreshed).get("sAccessToken"), undefined, "no new access token");
      assert.deepEqual(
        await Session.getAllSessionHandlesForUser("dead-1"),
        [],
        "no SuperTokens session left for the user",
      );
    },
  );

  it(
    "passes a request without a SuperTokens session through untouched: no session created, no cookie set or " +
      "cleared, no core call",
    async () => {
      const { store, prefix } = await setup();
      const { app, created } = leavingApp(store);
      const from = proxy.requests.length;
      const res = await request(app).get("/app/public");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { public: true });
      assert.equal(res.headers["set-cookie"], undefined);
      assert.equal(res.headers["front-token"], undefined);
      assert.deepEqual(created, []);
      assert.deepEqual(proxy.requests.slice(from), []);
      assert.equal((await newSessions(redis, prefix)).size, 0);
    },
  );

  it(
    "leaves a request that already has the new system's session alone: SuperTokens is not consulted and its " +
      "session is not moved again",
    async () => {
      const { store, prefix } = await setup();
      const { app, created } = leavingApp(store);
      const jar = new CookieJar().update(await request(app).post("/st-login/both-st"));
      jar.update(await request(app).post("/new-login/both-new"));
      assert.ok(jar.get("connect.sid") && jar.get("sAccessToken"));
      const [handle] = await Session.getAllSessionHandlesForUser("both-st");
      const sessionsBefore = await newSessions(redis, prefix);

      const from = proxy.requests.length;
      const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "both-new", "the new system's session wins");
      assert.deepEqual(created, []);
      assert.deepEqual(proxy.requests.slice(from), [], "the core was not asked");
      assert.equal(res.headers["set-cookie"], undefined, "no cookie set or cleared");
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is untouched");
      assert.deepEqual(await newSessions(redis, prefix), sessionsBefore);
    },
  );

  it("does not convert a session revoked in SuperTokens whose access token still verifies", async () => {
    const { store, prefix } = await setup();
    const { app, created } = leavingApp(store);
    const jar = new CookieJar().update(await request(app).post("/st-login/revoked-1"));
    const [handle] = await Session.getAllSessionHandlesForUser("revoked-1");
    // Signed out elsewhere (another device, an admin): the access token is a JWT and stays valid until it expires.
    assert.equal(await Session.revokeSession(handle), true);

    const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: "not signed in" });
    assert.deepEqual(created, []);
    assert.equal(new CookieJar().update(res).get("connect.sid"), undefined);
    assert.equal((await newSessions(redis, prefix)).size, 0);
  });

  it(
    "converts the page load's other requests within graceMs without asking the core; after graceMs the old access " +
      "token converts nothing",
    async (t) => {
      const { store } = await setup();
      const { app, created, converted } = leavingApp(store);
      const old = new CookieJar().update(await request(app).post("/st-login/grace-1"));
      const first = await request(app).get("/app/me").set("Cookie", old.header("/app/me"));
      assert.equal(first.status, 200);

      // Another request of the same page load, sent before the first one's cookies arrived.
      let from = proxy.requests.length;
      const sibling = await request(app).get("/app/me").set("Cookie", old.header("/app/me"));
      assert.equal(sibling.status, 200);
      assert.equal(sibling.body.userId, "grace-1");
      assert.ok(
        !proxy.requests.slice(from).some((r) => LOOKUP.test(r)),
        `the core was asked again: ${proxy.requests.slice(from).join(", ")}`,
      );
      assert.deepEqual(created, ["grace-1"], "joined the page load's new session, none created");
      assert.equal(sibling.body.sid, first.body.sid, "the same new session");

      // 31 s later for the middleware, the SDK and the dev core: past graceMs (30 s), the access token (1 h) still
      // verifies.
      const realNow = Date.now.bind(Date);
      t.mock.method(Date, "now", () => realNow() + 31_000);
      from = proxy.requests.length;
      const late = await request(app).get("/app/me").set("Cookie", old.header("/app/me"));
      assert.equal(late.status, 401);
      assert.ok(
        proxy.requests.slice(from).some((r) => LOOKUP.test(r)),
        "the core was asked",
      );
      assert.deepEqual(created, ["grace-1"], "the revoked session was not converted again");
      assert.equal(converted.length, 1);
    },
  );

  it(
    "signs every concurrent request of one SuperTokens session in as its user, in one new " +
      "session, and revokes that session",
    async () => {
      const { store, prefix } = await setup();
      const { app, created } = leavingApp(store);
      const jar = new CookieJar().update(await request(app).post("/st-login/burst-1"));
      const [handle] = await Session.getAllSessionHandlesForUser("burst-1");

      const results = await Promise.all(
        Array.from({ length: 5 }, () => request(app).get("/app/me").set("Cookie", jar.header("/app/me"))),
      );
      assert.deepEqual(
        results.map((r) => [r.status, r.body.userId]),
        Array.from({ length: 5 }, () => [200, "burst-1"]),
      );
      assert.equal(await Session.getSessionInformation(handle), undefined, "SuperTokens session revoked");
      const sessions = await newSessions(redis, prefix);
      assert.equal(sessions.size, 1, "one SuperTokens session gives one new session");
      assert.deepEqual(created, ["burst-1"]);
      assert.deepEqual(
        [...sessions.values()].map((s) => s.userId),
        created,
        "the new session belongs to the user",
      );
      const [sid] = sessions.keys();
      for (const r of results) {
        assert.equal(r.body.sid, sid, "each request was served from the one new session");
        const cookie = new CookieJar().update(r).get("connect.sid");
        assert.ok(cookie === undefined || sidOf(cookie) === sid, `each cookie set names it: ${cookie}`);
      }
    },
  );

  it("answers 503 and changes nothing while the core is down", async () => {
    const local = await startDevCore();
    initSuperTokens(await createCoreApp(local.url));
    const store = new RedisStore({ client: redis, prefix: `leave:${uniqueId()}:` });
    const { app, created: calls } = leavingApp(store);
    const jar = new CookieJar().update(await request(app).post("/st-login/user-6"));
    // Let jose cache the JWKS so that local verification still works with the core down.
    await Session.getAllSessionHandlesForUser("user-6");
    const warm = await request(
      express().use(middleware(), async (req, res) => {
        const s = await Session.getSession(req, res);
        res.json({ u: s.getUserId() });
      }),
    )
      .get("/")
      .set("Cookie", jar.header("/"));
    assert.equal(warm.status, 200);
    await local.close();
    const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
    assert.equal(res.status, 503);
    assert.equal(res.headers["retry-after"], "1");
    assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");
    assert.deepEqual(calls, [], "no new session was created");
    assert.equal(new CookieJar().update(res).cookies.size, 0, "no cookie set or cleared");
  });

  it(
    "cross-site POST carrying only the victim's sAccessToken (cookieSameSite none, VIA_TOKEN): " +
      "not converted, the route does not run; the victim's own POST with the anti-csrf header " +
      "converts",
    async () => {
      const { store, prefix } = await setup({ cookieSameSite: "none", cookieSecure: true, antiCsrf: "VIA_TOKEN" });
      const { app, created, transfers } = leavingApp(store);
      const login = await request(app).post("/st-login/csrf-victim-1");
      const antiCsrf = login.headers["anti-csrf"];
      assert.ok(antiCsrf, "VIA_TOKEN: the sign-in hands the frontend an anti-csrf token");
      const victim = new CookieJar().update(login);
      const [handle] = await Session.getAllSessionHandlesForUser("csrf-victim-1");

      // The attacker's page: the browser attaches the SameSite=None cookie, the attacker cannot read or send anti-csrf.
      const forged = await request(app)
        .post("/app/transfer")
        .set("Origin", "https://evil.example")
        .set("Sec-Fetch-Site", "cross-site")
        .set("Cookie", `sAccessToken=${victim.get("sAccessToken")}`);
      assert.equal(forged.status, 401, `${forged.status} ${JSON.stringify(forged.body)}`);
      assert.deepEqual(forged.body, { message: "try refresh token" }, "answered as SuperTokens answers it");
      assert.deepEqual(transfers, [], "the route did not run");
      assert.deepEqual(created, [], "nothing was converted");
      assert.equal(new CookieJar().update(forged).get("connect.sid"), undefined);
      assert.equal((await newSessions(redis, prefix)).size, 0);
      assert.ok(await Session.getSessionInformation(handle), "the SuperTokens session is untouched");

      const own = await request(app)
        .post("/app/transfer")
        .set("Cookie", victim.header("/app/transfer"))
        .set("anti-csrf", antiCsrf);
      assert.equal(own.status, 200, JSON.stringify(own.body));
      assert.deepEqual(transfers, ["csrf-victim-1"]);
      assert.deepEqual(created, ["csrf-victim-1"]);

      // Within graceMs the revoked token still verifies locally: the cross-site replay must not join the new session.
      const replay = await request(app)
        .post("/app/transfer")
        .set("Origin", "https://evil.example")
        .set("Cookie", `sAccessToken=${victim.get("sAccessToken")}`);
      assert.equal(replay.status, 401, `${replay.status} ${JSON.stringify(replay.body)}`);
      assert.equal(new CookieJar().update(replay).get("connect.sid"), undefined, "no new system's cookie handed out");
      assert.deepEqual(transfers, ["csrf-victim-1"], "the route did not run for the replay");
      assert.equal((await newSessions(redis, prefix)).size, 1);
    },
  );

  it(
    "replaying the converted (now revoked) access token 6 times within graceMs: one new session " +
      "in Redis in total, the one every response names",
    async () => {
      const { store, prefix } = await setup();
      const { app, created } = leavingApp(store);
      const old = new CookieJar().update(await request(app).post("/st-login/replay-1"));
      const first = await request(app).get("/app/me").set("Cookie", old.header("/app/me"));
      assert.equal(first.status, 200);
      const sid = sidOf(new CookieJar().update(first).get("connect.sid"));
      assert.ok(sid);

      const replays = [];
      for (let i = 0; i < 6; i++) replays.push(await request(app).get("/app/me").set("Cookie", old.header("/app/me")));
      const sessions = await newSessions(redis, prefix);
      assert.deepEqual([...sessions.keys()], [sid], "one SuperTokens session gave one new session");
      assert.deepEqual(created, ["replay-1"], "createSession ran once");
      for (const r of replays) {
        assert.equal(r.status, 200);
        assert.deepEqual(r.body, { userId: "replay-1", sid }, "the replay joined the one new session");
        const again = new CookieJar().update(r).get("connect.sid");
        assert.ok(again === undefined || sidOf(again) === sid, `a replay's cookie names another session: ${again}`);
      }
    },
  );

  it("verifies exported SuperTokens password hashes (bcrypt and argon2) in the new system", async () => {
    assert.equal(await verifyExportedPassword("hunter2", await bcrypt.hash("hunter2", 4)), true);
    assert.equal(await verifyExportedPassword("wrong", await bcrypt.hash("hunter2", 4)), false);
    const a = await argon2.hash("hunter2", { type: argon2.argon2id, memoryCost: 8192, timeCost: 1 });
    assert.equal(await verifyExportedPassword("hunter2", a), true);
    assert.equal(await verifyExportedPassword("hunter2", "pbkdf2_sha256$1$x$y"), false);
  });
});
