/**
 * Sign-out and revocation against the legacy cookie (issue 11, items 3 and 4; T5): once the SuperTokens session a
 * legacy cookie migrated to is revoked, the cookie yields nothing, and a legacy cookie that sits beside a valid
 * SuperTokens session is retired whoever it belongs to. Real SDK over HTTP, dev core, MemoryStore or connect-redis.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import {
  createRedisMigrationCoordinator,
  retireLegacySessionsOnRevoke,
  type MigrationEvent,
} from "../../lib/session/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { legacyLogin, SECRET } from "../helpers/dual-app.js";
import type { CookieJar } from "../helpers/cookies.js";
import { fullApp, sessionsOf, setCookies, sidOf, waitFor } from "../helpers/dual-fixtures.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
const redis = createClient({ url: requireEnv("REDIS_URL") });
const prefix = `stm-test:dual-signout:${uniqueId()}:`;
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
const signOut = (app: App, jar: CookieJar) =>
  request(app).post("/auth/signout").set("Cookie", jar.header("/auth/signout")).set("rid", "session");

/** SuperTokens with EmailPassword (sign-in through /auth/*) and Session; `revokeHook` installs our override. */
async function setup(opts: { revokeHook?: boolean } = {}) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: await createCoreApp(core.url) },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      Session.init({
        getTokenTransferMethod: () => "cookie",
        ...(opts.revokeHook ? { override: { functions: retireLegacySessionsOnRevoke } } : {}),
      }),
    ],
  });
}

/** A response handed out tokens: a non-empty sAccessToken Set-Cookie. */
const issuedTokens = (res: { headers: Record<string, unknown> }) =>
  setCookies(res).some((c) => /^sAccessToken=[^;]+/.test(c));

describe("dualSession after sign-out inside the grace window (issue 11, item 3)", () => {
  it(
    "after /auth/signout, neither the browser's legacy cookie nor a stolen copy gets tokens or " + "a session",
    async () => {
      await setup();
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "signout-1");
      const stolen = legacyOnly(jar);
      const { app } = fullApp({ store, secret: SECRET });
      const first = await me(app, legacyOnly(jar));
      assert.equal(first.status, 200);
      jar.update(first);
      const out = await signOut(app, jar);
      assert.equal(out.status, 200);
      jar.update(out);
      assert.deepEqual(await sessionsOf("signout-1"), [], "signed out in the core");

      for (const cookie of [jar.header("/api/me"), stolen]) {
        const res = await me(app, cookie);
        assert.equal(res.status, 401, `answered ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(issuedTokens(res), false, "the revoked session's tokens were handed out again");
      }
      assert.deepEqual(await sessionsOf("signout-1"), [], "a new session was minted");
    },
  );

  for (const how of ["Session.revokeSession", "Session.revokeAllSessionsForUser"] as const) {
    it(`after ${how}, a stolen legacy cookie gets nothing in this or another process (Redis coordinator)`, async () => {
      await setup();
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, `revoked-${how}`);
      const stolen = legacyOnly(jar);
      const coordinator = () => createRedisMigrationCoordinator(redis, { prefix: `${prefix}${uniqueId()}:` });
      const shared = coordinator();
      const a = fullApp({ store, secret: SECRET, coordinator: shared }).app;
      const b = fullApp({ store, secret: SECRET, coordinator: shared }).app;
      const first = await me(a, stolen);
      assert.equal(first.status, 200);
      // Within the grace window another request of the page load reuses the same tokens, as before.
      const reused = await me(b, stolen);
      assert.equal(reused.status, 200);
      assert.equal(reused.body.handle, first.body.handle);

      if (how === "Session.revokeSession") await Session.revokeSession(first.body.handle);
      else await Session.revokeAllSessionsForUser(`revoked-${how}`);

      for (const app of [b, a]) {
        const res = await me(app, stolen);
        assert.equal(res.status, 401, `answered ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(issuedTokens(res), false, "the revoked session's tokens were handed out again");
        if (app === b) assert.match(String(res.headers["set-cookie"]), /connect\.sid=;/, "dead legacy cookie cleared");
      }
      assert.deepEqual(await sessionsOf(`revoked-${how}`), []);
      await waitFor(() => Object.keys(store.sessions).length === 0, 3000, "legacy session destroyed");
    });
  }

  it("with retireLegacySessionsOnRevoke, /auth/signout destroys the legacy session and clears its cookie", async () => {
    await setup({ revokeHook: true });
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "signout-hook");
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, onMigration: (e) => events.push(e) });
    const first = await me(app, legacyOnly(jar));
    assert.equal(first.status, 200);
    jar.update(first);
    const out = await signOut(app, jar);
    assert.equal(out.status, 200);
    assert.match(String(out.headers["set-cookie"]), /connect\.sid=;/, "the sign-out response clears the legacy cookie");
    await waitFor(() => Object.keys(store.sessions).length === 0, 3000, "legacy session destroyed on sign-out");
    assert.ok(events.some((e) => e.type === "retired" && e.reason === "revoked"));
  });
});

describe("dualSession with a stale legacy cookie of another user (issue 11, item 4)", () => {
  /** B signs up and in through /auth/* in a browser that still holds A's never-migrated legacy cookie. */
  async function sharedComputer(app: App, store: InstanceType<typeof expressSession.MemoryStore>) {
    const jar = await legacyLogin(store, "user-a");
    const signUp = await request(app)
      .post("/auth/signup")
      .set("Cookie", jar.header("/auth/signup"))
      .set("rid", "emailpassword")
      .send({
        formFields: [
          { id: "email", value: `b-${uniqueId()}@example.com` },
          { id: "password", value: "pass-word-1" },
        ],
      });
    assert.equal(signUp.status, 200);
    assert.equal(signUp.body.status, "OK");
    jar.update(signUp);
    return { jar, userB: signUp.body.user.id as string };
  }

  it("B uses the app and signs out: A's legacy session is retired, and the next /api/me is 401, not A", async () => {
    await setup();
    const store = new expressSession.MemoryStore();
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, onMigration: (e) => events.push(e) });
    const { jar, userB } = await sharedComputer(app, store);
    const sidA = sidOf(jar);

    const asB = await me(app, jar.header("/api/me"));
    assert.equal(asB.status, 200);
    assert.equal(asB.body.userId, userB);
    assert.match(String(asB.headers["set-cookie"]), /connect\.sid=;/, "A's legacy cookie is cleared");
    jar.update(asB);
    await waitFor(() => store.sessions[sidA] === undefined, 3000, "A's legacy session destroyed");
    assert.ok(events.some((e) => e.type === "retired" && e.reason === "superseded"));

    jar.update(await signOut(app, jar));
    const next = await me(app, jar.header("/api/me"));
    assert.equal(next.status, 401, `answered ${next.status} ${JSON.stringify(next.body)}`);
    assert.deepEqual(await sessionsOf("user-a"), [], "A was signed in on B's computer");
  });

  it("a kept copy of A's cookie, sent after B's visit, gets no session for A", async () => {
    await setup();
    const store = new expressSession.MemoryStore();
    const { app } = fullApp({ store, secret: SECRET });
    const { jar } = await sharedComputer(app, store);
    const copyOfA = legacyOnly(jar);
    assert.equal((await me(app, jar.header("/api/me"))).status, 200);
    jar.update(await signOut(app, jar));
    const res = await me(app, copyOfA);
    assert.equal(res.status, 401, `answered ${res.status} ${JSON.stringify(res.body)}`);
    assert.deepEqual(await sessionsOf("user-a"), []);
  });

  it("with retireLegacySessionsOnRevoke, B signing out without visiting /api retires A's legacy session", async () => {
    await setup({ revokeHook: true });
    const store = new expressSession.MemoryStore();
    const { app } = fullApp({ store, secret: SECRET });
    const { jar } = await sharedComputer(app, store);
    const copyOfA = legacyOnly(jar);
    const out = await signOut(app, jar);
    assert.equal(out.status, 200);
    jar.update(out);
    assert.equal(jar.get("connect.sid"), undefined, "the sign-out response clears A's legacy cookie");
    await waitFor(() => Object.keys(store.sessions).length === 0, 3000, "A's legacy session destroyed");
    assert.equal((await me(app, copyOfA)).status, 401);
    assert.deepEqual(await sessionsOf("user-a"), []);
  });
});
