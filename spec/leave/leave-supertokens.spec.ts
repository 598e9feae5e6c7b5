import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import argon2 from "argon2";
import express from "express";
import request from "supertest";
import { createClient } from "redis";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { leaveSuperTokens, verifyExportedPassword } from "../../lib/leave/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { RedisStore, session as expressSession, type LegacyRequest } from "../helpers/legacy-session.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { initSuperTokens } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";

let core: DevCore;
let redis: ReturnType<typeof createClient>;
before(async () => {
  core = await startDevCore();
  redis = createClient({ url: requireEnv("REDIS_URL") });
  await redis.connect();
});
after(async () => {
  await redis.quit();
  await core.close();
});

/** An app that has left SuperTokens for express-session on Redis, with the way-back middleware in front. */
function leavingApp(store: InstanceType<typeof RedisStore>, createCalls: string[]) {
  const app = express();
  app.use(expressSession({ secret: "new-system", store, resave: false, saveUninitialized: false }));
  app.use(middleware());
  app.post("/st-login/:id", async (req, res) => {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.params.id));
    res.json({ ok: true });
  });
  app.use(
    "/app",
    leaveSuperTokens({
      hasSession: (req) => typeof (req as LegacyRequest).session.userId === "string",
      createSession: (req, _res, userId) =>
        new Promise<void>((resolve, reject) => {
          createCalls.push(userId);
          const r = req as { session: { regenerate(cb: (e?: unknown) => void): void } };
          r.session.regenerate((err) => {
            if (err) return reject(err);
            const s = (req as LegacyRequest).session as Record<string, unknown> & { save(cb: (e?: unknown) => void): void };
            s.userId = userId;
            s.save((e) => (e ? reject(e) : resolve()));
          });
        }),
    }),
  );
  app.get("/app/me", (req, res) => {
    const userId = (req as unknown as LegacyRequest).session.userId;
    if (typeof userId !== "string") return res.status(401).json({ message: "not signed in" });
    res.json({ userId });
  });
  app.use(errorHandler());
  return app;
}

describe("leaveSuperTokens: moving live sessions off SuperTokens (express-session on Redis)", () => {
  it("creates the new session first, then revokes the SuperTokens session and clears its cookies", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new RedisStore({ client: redis, prefix: `leave:${uniqueId()}:` });
    const calls: string[] = [];
    const app = leavingApp(store, calls);
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

  it("answers 503 and changes nothing while the core is down", async () => {
    const local = await startDevCore();
    initSuperTokens(await createCoreApp(local.url));
    const store = new RedisStore({ client: redis, prefix: `leave:${uniqueId()}:` });
    const calls: string[] = [];
    const app = leavingApp(store, calls);
    const jar = new CookieJar().update(await request(app).post("/st-login/user-6"));
    // Let jose cache the JWKS so that local verification still works with the core down.
    await Session.getAllSessionHandlesForUser("user-6");
    const warm = await request(express().use(middleware(), async (req, res) => {
      const s = await Session.getSession(req, res);
      res.json({ u: s.getUserId() });
    })).get("/").set("Cookie", jar.header("/"));
    assert.equal(warm.status, 200);
    await local.close();
    const res = await request(app).get("/app/me").set("Cookie", jar.header("/app/me"));
    assert.equal(res.status, 503);
    assert.equal(res.headers["retry-after"], "1");
    assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");
    assert.deepEqual(calls, [], "no new session was created");
    assert.equal(new CookieJar().update(res).cookies.size, 0, "no cookie set or cleared");
  });

  it("verifies exported SuperTokens password hashes (bcrypt and argon2) in the new system", async () => {
    assert.equal(await verifyExportedPassword("hunter2", await bcrypt.hash("hunter2", 4)), true);
    assert.equal(await verifyExportedPassword("wrong", await bcrypt.hash("hunter2", 4)), false);
    const a = await argon2.hash("hunter2", { type: argon2.argon2id, memoryCost: 8192, timeCost: 1 });
    assert.equal(await verifyExportedPassword("hunter2", a), true);
    assert.equal(await verifyExportedPassword("hunter2", "pbkdf2_sha256$1$x$y"), false);
  });
});
