import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { CookieJar } from "../helpers/cookies.js";

let core: DevCore;
const requests: { method: string; path: string }[] = [];

before(async () => {
  core = await startDevCore({ onRequest: ({ method, path }) => requests.push({ method, path }) });
});
after(() => core.close());

type SessionInit = Parameters<typeof Session.init>[0];

function init(connectionURI: string, sessionConfig: SessionInit = {}, apiKey?: string) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI, apiKey },
    appInfo,
    recipeList: [Session.init({ getTokenTransferMethod: () => "cookie", ...sessionConfig })],
  });
  const app = express();
  app.use(middleware());
  app.post("/login/:userId", async (req, res) => {
    const session = await Session.createNewSession(
      req,
      res,
      "public",
      supertokens.convertToRecipeUserId(req.params.userId),
      { role: "reader" },
    );
    res.json({ handle: session.getHandle() });
  });
  app.get("/me", verifySession(), (req, res) => {
    const s = (req as unknown as { session: Session.SessionContainer }).session;
    res.json({ userId: s.getUserId(), handle: s.getHandle(), payload: s.getAccessTokenPayload() });
  });
  app.post("/me", verifySession(), (req, res) => res.json({ ok: true }));
  app.get("/me-db", verifySession({ checkDatabase: true }), (req, res) => res.json({ ok: true }));
  app.post("/claims", verifySession(), async (req, res) => {
    const s = (req as unknown as { session: Session.SessionContainer }).session;
    await s.mergeIntoAccessTokenPayload({ plan: "pro" });
    await s.updateSessionDataInDatabase({ cart: 3 });
    res.json({ ok: true });
  });
  app.use(errorHandler());
  return app;
}

async function login(app: express.Express, userId = "user-1") {
  const jar = new CookieJar();
  const res = await request(app).post(`/login/${userId}`);
  assert.equal(res.status, 200);
  jar.update(res);
  return { jar, handle: res.body.handle as string, res };
}

const get = (app: express.Express, jar: CookieJar, path = "/me") =>
  request(app).get(path).set("Cookie", jar.header(path));
const refresh = (app: express.Express, jar: CookieJar) =>
  request(app).post("/auth/session/refresh").set("Cookie", jar.header("/auth/session/refresh"));

beforeEach(() => {
  requests.length = 0;
});

describe("dev core: meta endpoints", () => {
  it("answers /hello without api key and /apiversion with 5.4 and no status field", async () => {
    const hello = await fetch(`${core.url}/hello`);
    assert.equal(await hello.text(), "Hello");
    const version = await (await fetch(`${core.url}/apiversion`)).json();
    assert.deepEqual(Object.keys(version), ["versions"]);
    assert.ok(version.versions.includes("5.4"));
  });

  it(
    "answers unknown paths 404, wrong methods 405, unimplemented families 501, bad JSON 400 — as text ending in a " +
      "newline",
    async () => {
      const nf = await fetch(`${core.url}/no/such/path`);
      assert.equal(nf.status, 404);
      assert.equal(await nf.text(), "Not found\n");
      const m = await fetch(`${core.url}/recipe/session/verify`);
      assert.equal(m.status, 405);
      assert.equal(await m.text(), "Method not supported\n");
      const ni = await fetch(`${core.url}/public/recipe/totp/device`, { method: "POST", body: "{}" });
      assert.equal(ni.status, 501);
      assert.match(
        await ni.text(),
        /^Not implemented in the supertokens-migrate dev core: POST \/recipe\/totp\/device\n$/,
      );
      const bad = await fetch(`${core.url}/public/recipe/session`, { method: "POST", body: "[1" });
      assert.equal(bad.status, 400);
      assert.equal(await bad.text(), "Invalid Json Input\n");
      const unknownApp = await fetch(`${core.url}/appid-nosuchapp/recipe/session?sessionHandle=x`);
      assert.equal(unknownApp.status, 400);
      assert.match(await unknownApp.text(), /^AppId or tenantId not found => /);
    },
  );

  it("refuses app-scoped APIs on a tenant path with 403, and unsupported cdi versions with 400", async () => {
    const res = await fetch(`${core.url}/public/recipe/session/verify`, { method: "POST", body: "{}" });
    assert.equal(res.status, 400); // public tenant prefix is allowed
    const t = await fetch(`${core.url}/recipe/multitenancy/tenant/v2`, {
      method: "PUT",
      body: JSON.stringify({ tenantId: "t1" }),
    });
    assert.equal((await t.json()).status, "OK");
    const forbidden = await fetch(`${core.url}/t1/recipe/session/verify`, { method: "POST", body: "{}" });
    assert.equal(forbidden.status, 403);
    assert.equal(await forbidden.text(), "Only public tenantId can call this app specific API\n");
    const old = await fetch(`${core.url}/apiversion`, { headers: { "cdi-version": "1.0" } });
    assert.equal(old.status, 400);
    assert.equal(await old.text(), "cdi-version 1.0 not supported\n");
  });
});

describe("dev core: api keys", () => {
  it("rejects the SDK without the key with the core's exact error, and serves it with the key", async () => {
    const key = "shfo3h98308hOIHoei309saiho";
    const uri = await createCoreApp(core.url, { api_keys: key });
    init(uri);
    await assert.rejects(Session.getAllSessionHandlesForUser("x"), (err: Error) => {
      assert.equal(
        err.message,
        "SuperTokens core threw an error for a GET request to path: '/apiversion' with status code: 401 and " +
          "message: Invalid API key\n",
      );
      return true;
    });
    init(uri, {}, key);
    assert.deepEqual(await Session.getAllSessionHandlesForUser("x"), []);
    // The JWKS stays public: jose fetches it without SDK headers.
    assert.equal((await fetch(`${uri}/.well-known/jwks.json`)).status, 200);
    // Authorization: Bearer works as well as api-key.
    const bearer = await fetch(`${uri}/recipe/session/user?userId=x`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(bearer.status, 200);
  });
});

describe("dev core: sessions through the SDK", () => {
  it("creates a session, verifies it locally after one JWKS fetch, and reports the user", async () => {
    const app = init(await createCoreApp(core.url));
    const { jar, handle } = await login(app);
    assert.ok(jar.get("sAccessToken") && jar.get("sRefreshToken"));
    requests.length = 0;
    const me = await get(app, jar);
    assert.equal(me.status, 200);
    assert.equal(me.body.userId, "user-1");
    assert.equal(me.body.handle, handle);
    assert.equal(me.body.payload.role, "reader");
    const header = JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[0], "base64url").toString());
    assert.equal(header.version, "5");
    assert.match(header.kid, /^d-\d+$/);
    await get(app, jar);
    // One JWKS fetch by jose, no verify calls: verification is local.
    assert.deepEqual(
      requests.map((r) => r.path.replace(/^\/appid-[^/]+/, "")),
      ["/.well-known/jwks.json"],
    );
  });

  it("checkDatabase verifies against the core and sees revocation", async () => {
    const app = init(await createCoreApp(core.url));
    const { jar, handle } = await login(app);
    assert.equal((await get(app, jar, "/me-db")).status, 200);
    assert.equal(await Session.revokeSession(handle), true);
    const res = await get(app, jar, "/me-db");
    assert.equal(res.status, 401);
    assert.equal(res.body.message, "unauthorised");
    // Without checkDatabase the still-valid token passes: revocation is invisible to local verification.
    assert.equal((await get(app, jar, "/me")).status, 200);
  });

  it(
    "refreshes with rotation; the first request after refresh promotes the child; replaying the old token is " +
      "theft",
    async () => {
      const app = init(await createCoreApp(core.url));
      const { jar, handle } = await login(app);
      const stolen = jar.clone();
      const r1 = await refresh(app, jar);
      assert.equal(r1.status, 200);
      jar.update(r1);
      assert.notEqual(jar.get("sRefreshToken"), stolen.get("sRefreshToken"));
      requests.length = 0;
      const me = await get(app, jar);
      assert.equal(me.status, 200);
      jar.update(me);
      assert.ok(
        requests.some((r) => r.path.endsWith("/recipe/session/verify")),
        "first verify after refresh reaches the core",
      );
      // Replaying the parent refresh token after its child was promoted: TOKEN_THEFT_DETECTED, session revoked.
      const theft = await refresh(app, stolen);
      assert.equal(theft.status, 401);
      assert.equal(theft.body.message, "token theft detected");
      assert.equal(await Session.getSessionInformation(handle), undefined);
    },
  );

  it("does not flag reuse of the current refresh token before its child is used", async () => {
    const app = init(await createCoreApp(core.url));
    const { jar } = await login(app);
    const a = await refresh(app, jar.clone());
    const b = await refresh(app, jar.clone());
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
  });

  it("expires access tokens per access_token_validity and refreshes them", async () => {
    const app = init(await createCoreApp(core.url, { access_token_validity: "1" }));
    const { jar } = await login(app);
    const claims = JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[1], "base64url").toString());
    assert.equal(claims.exp - claims.iat, 1);
    // Wait until the token's own expiry instant has passed (the behaviour under test is expiry itself).
    await new Promise((r) => setTimeout(r, Math.max(0, claims.exp * 1000 - Date.now()) + 1100));
    const expired = await get(app, jar);
    assert.equal(expired.status, 401);
    assert.equal(expired.body.message, "try refresh token");
    const r = await refresh(app, jar);
    assert.equal(r.status, 200);
    jar.update(r);
    const fresh = JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[1], "base64url").toString());
    assert.ok(fresh.exp > claims.exp, "the refreshed token expires later");
    assert.notEqual(jar.get("sAccessToken"), undefined);
  });

  it("revokes by user, lists handles, reads session info and updates payload and data", async () => {
    const app = init(await createCoreApp(core.url));
    const one = await login(app, "u-9");
    const two = await login(app, "u-9");
    assert.deepEqual((await Session.getAllSessionHandlesForUser("u-9")).sort(), [one.handle, two.handle].sort());
    const claims = await request(app).post("/claims").set("Cookie", one.jar.header());
    assert.equal(claims.status, 200);
    one.jar.update(claims);
    const me = await get(app, one.jar);
    assert.equal(me.body.payload.plan, "pro");
    const info = await Session.getSessionInformation(one.handle);
    assert.deepEqual(info?.sessionDataInDatabase, { cart: 3 });
    assert.equal(info?.userId, "u-9");
    assert.deepEqual((await Session.revokeAllSessionsForUser("u-9")).sort(), [one.handle, two.handle].sort());
    assert.deepEqual(await Session.getAllSessionHandlesForUser("u-9"), []);
    assert.equal(await Session.revokeSession(""), false);
  });

  it("enforces VIA_TOKEN anti-CSRF on non-GET requests", async () => {
    const app = init(await createCoreApp(core.url), { antiCsrf: "VIA_TOKEN" });
    const { jar, res } = await login(app);
    const antiCsrf = res.headers["anti-csrf"];
    assert.ok(antiCsrf);
    assert.equal((await request(app).post("/me").set("Cookie", jar.header())).status, 401);
    assert.equal((await request(app).post("/me").set("Cookie", jar.header()).set("anti-csrf", antiCsrf)).status, 200);
  });

  it("signs with the static key when dynamic keys are off and switches on refresh", async () => {
    const uri = await createCoreApp(core.url);
    let app = init(uri, { useDynamicAccessTokenSigningKey: false });
    const { jar } = await login(app);
    const kid = () =>
      JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[0], "base64url").toString()).kid as string;
    assert.match(kid(), /^s-/);
    assert.equal((await get(app, jar)).status, 200);
    app = init(uri, { useDynamicAccessTokenSigningKey: true });
    // A static-key token under a dynamic-key config must be refreshed (SDK rule), then is signed with d-.
    assert.equal((await get(app, jar)).status, 401);
    jar.update(await refresh(app, jar));
    assert.match(kid(), /^d-/);
    assert.equal((await get(app, jar)).status, 200);
  });
});

describe("dev core: signing-key rotation and the JWKS cache", () => {
  it("publishes a rotated key; the SDK refetches the JWKS once per new key", async () => {
    const uri = await createCoreApp(core.url, { access_token_dynamic_signing_key_update_interval: "0.001" });
    const app = init(uri);
    const first = await login(app);
    const kidOf = (jar: CookieJar) =>
      JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[0], "base64url").toString()).kid;
    requests.length = 0;
    assert.equal((await get(app, first.jar)).status, 200);
    assert.equal((await get(app, first.jar)).status, 200);
    const jwksFetches = () => requests.filter((r) => r.path.endsWith("/.well-known/jwks.json")).length;
    assert.equal(jwksFetches(), 1);
    // The interval is 3.6 s; log in until a token is signed by a new key (bounded by three intervals).
    let next = await login(app);
    const deadline = Date.now() + 11_000;
    while (kidOf(next.jar) === kidOf(first.jar) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      next = await login(app);
    }
    assert.notEqual(kidOf(next.jar), kidOf(first.jar));
    assert.equal((await get(app, next.jar)).status, 200);
    assert.equal(jwksFetches(), 2);
    // The old key still verifies within interval + 2 × validity.
    assert.equal((await get(app, first.jar)).status, 200);
    const jwks = await (await fetch(`${uri}/.well-known/jwks.json`)).json();
    assert.deepEqual(
      jwks.keys.map((k: { kid: string }) => k.kid[0]),
      ["d", "d", "s"],
    );
  });
});

describe("dev core: apps are isolated", () => {
  it("a session of one app is unknown to another", async () => {
    const a = await createCoreApp(core.url);
    const b = await createCoreApp(core.url);
    const appA = init(a);
    const { jar, handle } = await login(appA);
    const appB = init(b);
    assert.equal(await Session.getSessionInformation(handle), undefined);
    const res = await get(appB, jar);
    assert.equal(res.status, 401);
  });
});
