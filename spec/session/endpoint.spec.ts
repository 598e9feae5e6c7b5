import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { migrationEndpoint } from "../../lib/session/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

function app(store: ReturnType<typeof newStore>) {
  const a = express();
  a.use(middleware());
  a.post(
    "/auth/migrate-session",
    migrationEndpoint({
      store,
      secret: SECRET,
      verifyLegacyToken: (token) => (token === "legacy-api-token-of-7" ? "user-7" : undefined),
    }),
  );
  a.use(errorHandler());
  return a;
}
const newStore = () => new expressSession.MemoryStore();

describe("migrationEndpoint: explicit migration for single-page and mobile apps", () => {
  it("migrates a legacy cookie and answers with the user id and SuperTokens tokens", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = newStore();
    const jar = await legacyLogin(store, "user-3");
    const res = await request(app(store))
      .post("/auth/migrate-session")
      .set("Cookie", jar.header())
      .set("rid", "session");
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "OK", userId: "user-3" });
    assert.ok(new CookieJar().update(res).get("sAccessToken"));
    assert.equal((await Session.getAllSessionHandlesForUser("user-3")).length, 1);
  });

  it("accepts a legacy bearer token checked by the app, once per token", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const a = app(newStore());
    const calls = await Promise.all(
      Array.from({ length: 5 }, () =>
        request(a).post("/auth/migrate-session").set("Authorization", "Bearer legacy-api-token-of-7"),
      ),
    );
    for (const r of calls) assert.deepEqual(r.body, { status: "OK", userId: "user-7" });
    assert.equal((await Session.getAllSessionHandlesForUser("user-7")).length, 1);
  });

  it("answers 401 NO_LEGACY_SESSION without a credential or with a rejected token", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const a = app(newStore());
    const none = await request(a).post("/auth/migrate-session");
    assert.equal(none.status, 401);
    assert.deepEqual(none.body, { status: "NO_LEGACY_SESSION" });
    const bad = await request(a).post("/auth/migrate-session").set("Authorization", "Bearer nope");
    assert.equal(bad.status, 401);
    assert.equal((await Session.getAllSessionHandlesForUser("user-7")).length, 0);
  });
});
