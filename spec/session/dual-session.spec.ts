/**
 * dualSession() core behaviour (issue 4, behaviours 1, 2, 3, 6, 7, 8, 9) with the real SDK and the dev core,
 * on MemoryStore. Store kinds × Express majors are in dual-session-stores.spec.ts; outages in
 * dual-session-faults.spec.ts; races in dual-session-concurrency.spec.ts.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { sign } from "cookie-signature";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import express4 from "express4";
import express5 from "express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { configureLegacySessions, resetLegacySessionsConfig, type MigrationEvent } from "../../lib/session/options.js";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import {
  createMemoryMigrationCoordinator,
  migrationEndpoint,
  type MigrationCoordinator,
} from "../../lib/session/index.js";
import { UnavailableError } from "../../lib/errors.js";
import { createRedisMigrationCoordinator, hashTag } from "../../lib/session/coordinator.js";
import { createClient } from "redis";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, migratedApp, SECRET } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";
import { captureDebug, countCalls, fullApp, sessionsOf, setCookies, sidOf, waitFor } from "../helpers/dual-fixtures.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());
afterEach(() => resetLegacySessionsConfig());

type App = Parameters<typeof request>[0];

function memoryStore() {
  return countCalls(new expressSession.MemoryStore());
}

const me = (app: App, jar: CookieJar | string, path = "/api/me") =>
  request(app)
    .get(path)
    .set("Cookie", typeof jar === "string" ? jar : jar.header(path));

const postMe = (app: App, jar: CookieJar | string, headers: Record<string, string> = {}, path = "/api/me") => {
  const r = request(app)
    .post(path)
    .set("Cookie", typeof jar === "string" ? jar : jar.header(path));
  for (const [k, v] of Object.entries(headers)) r.set(k, v);
  return r;
};

/** The jar's legacy cookie alone, as a client that never received (or dropped) the new tokens sends it. */
const legacyOnly = (jar: CookieJar) => `connect.sid=${jar.get("connect.sid")}`;

/** `connect.sid=...` for `sid` signed with `secret`, encoded as express-session sets it. */
const signedCookie = (sid: string, secret = SECRET) => `connect.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;

const legacySetCookie = (res: { headers: Record<string, unknown> }) =>
  setCookies(res).filter((c) => c.startsWith("connect.sid="));

async function setupCore(
  sessionConfig: Parameters<typeof initSuperTokens>[1] = {},
  coreConfig: Record<string, unknown> = {},
) {
  initSuperTokens(await createCoreApp(core.url, coreConfig), sessionConfig);
}

describe("dualSession: first request with a legacy cookie", () => {
  it(
    "creates one SuperTokens session for the same user id, serves the route, and keeps the legacy session until " +
      "proof",
    async () => {
      await setupCore();
      const { store, calls } = memoryStore();
      const jar = await legacyLogin(store, "user-42");
      const { app, mw } = migratedApp({ store, secret: SECRET });
      const first = await me(app, jar);
      assert.equal(first.status, 200);
      assert.equal(first.body.userId, "user-42");
      jar.update(first);
      assert.ok(jar.get("sAccessToken"), "SuperTokens access token set");
      assert.ok(jar.get("connect.sid"), "legacy cookie kept until the client proves it holds the new tokens");
      assert.deepEqual(await Session.getAllSessionHandlesForUser("user-42"), [first.body.handle]);
      assert.equal(Object.keys(store.sessions).length, 1);

      // The next request carries both: the legacy session is retired and its cookie cleared.
      const second = await me(app, jar);
      assert.equal(second.status, 200);
      jar.update(second);
      assert.equal(jar.get("connect.sid"), undefined);
      await waitFor(() => Object.keys(store.sessions).length === 0);
      assert.equal(mw.stats().migrated, 1);
      const getsBefore = calls.get;
      // A valid SuperTokens session never touches the legacy store.
      assert.equal((await me(app, jar)).status, 200);
      assert.equal(calls.get, getsBefore);
    },
  );

  it("works with dualSession() and no argument once configureLegacySessions() set the source", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "configured-1");
    configureLegacySessions({ store, secret: SECRET });
    const { app } = fullApp({});
    const res = await me(app, jar);
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, "configured-1");
  });

  it("lets route code update the new session on the migrating request itself", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "merge-1");
    const { app } = fullApp({ store, secret: SECRET });
    const first = await me(app, jar, "/api/merge?value=yes");
    assert.equal(first.status, 200);
    jar.update(first);
    const next = await me(app, jar);
    assert.equal(next.status, 200);
    assert.equal(next.body.payload.merged, "yes");
  });

  it("migrates with header-based tokens (getTokenTransferMethod: header)", async () => {
    await setupCore({ getTokenTransferMethod: () => "header" });
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "header-1");
    const { app } = fullApp({ store, secret: SECRET });
    const first = await me(app, jar);
    assert.equal(first.status, 200);
    assert.equal(first.body.userId, "header-1");
    const accessToken = first.headers["st-access-token"];
    assert.ok(accessToken && first.headers["st-refresh-token"], "tokens sent in headers");
    assert.deepEqual(
      setCookies(first).filter((c) => c.startsWith("sAccessToken=")),
      [],
    );
    const next = await me(app, jar).set("Authorization", `Bearer ${accessToken}`);
    assert.equal(next.status, 200);
    assert.equal(next.body.handle, first.body.handle);
    assert.equal(legacySetCookie(next).length, 1, "proof by header clears the legacy cookie");
    await waitFor(() => Object.keys(store.sessions).length === 0);
    assert.deepEqual(await sessionsOf("header-1"), [first.body.handle]);
  });

  describe("when the legacy secret was rotated", () => {
    it("accepts a cookie signed with the old secret when the list is [new, old]", async () => {
      await setupCore();
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "rotated-1", { secret: "old-secret" });
      const { app } = fullApp({ store, secret: ["new-secret", "old-secret"] });
      const res = await me(app, jar);
      assert.equal(res.status, 200);
      assert.equal(res.body.userId, "rotated-1");
      assert.equal((await sessionsOf("rotated-1")).length, 1);
    });

    it("accepts a cookie signed with the new secret, and rejects a dropped secret without a store lookup", async () => {
      await setupCore();
      const { store, calls } = memoryStore();
      const fresh = await legacyLogin(store, "rotated-2", { secret: "new-secret" });
      const stale = await legacyLogin(store, "rotated-3", { secret: "old-secret" });
      const { app } = fullApp({ store, secret: ["new-secret"] });
      assert.equal((await me(app, fresh)).status, 200);
      const getsBefore = calls.get;
      const res = await me(app, stale);
      assert.equal(res.status, 401);
      assert.equal(calls.get, getsBefore, "a cookie signed with a dropped secret reached the store");
      assert.deepEqual(await sessionsOf("rotated-3"), []);
    });
  });

  it("reads passport's layout (passport.user), as a string and as an object with id", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "passport-7", { layout: "passport" });
    const { app } = fullApp({ store, secret: SECRET });
    const res = await me(app, jar);
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, "passport-7");

    const objectJar = await legacyLogin(store, "ignored", { layout: "passport" });
    const sid = sidOf(objectJar);
    const record = JSON.parse(store.sessions[sid]);
    record.passport = { user: { id: 1234, email: "x@example.com" } };
    store.sessions[sid] = JSON.stringify(record);
    const objectRes = await me(app, objectJar);
    assert.equal(objectRes.status, 200);
    assert.equal(objectRes.body.userId, "1234");
  });

  it("reports the legacy id when that id is mapped to a SuperTokens user (user-id mapping)", async () => {
    resetSdk();
    supertokens.init({
      supertokens: { connectionURI: await createCoreApp(core.url) },
      appInfo,
      recipeList: [EmailPassword.init(), Session.init({ getTokenTransferMethod: () => "cookie" })],
    });
    const signUp = await EmailPassword.signUp("public", "mapped@example.com", "password-123");
    assert.equal(signUp.status, "OK");
    const superTokensUserId = signUp.status === "OK" ? signUp.user.id : "";
    const mapping = await supertokens.createUserIdMapping({ superTokensUserId, externalUserId: "legacy-77" });
    assert.equal(mapping.status, "OK");

    const { store } = memoryStore();
    const jar = await legacyLogin(store, "legacy-77");
    const { app } = fullApp({ store, secret: SECRET });
    const res = await me(app, jar);
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, "legacy-77");
    assert.deepEqual(await sessionsOf("legacy-77"), [res.body.handle]);
    const info = await Session.getSessionInformation(res.body.handle);
    assert.equal(info?.userId, "legacy-77");
  });

  it("retires the legacy session after the grace window when no proof arrives", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "grace-1");
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, graceMs: 1000, onMigration: (e) => events.push(e) });
    const first = await me(app, jar);
    assert.equal(first.status, 200);
    // Kept during the grace window; on a busy machine the 1 s window may already be over when the answer arrives.
    if (!events.some((e) => e.type === "retired"))
      assert.equal(Object.keys(store.sessions).length, 1, "kept during the grace window");
    await waitFor(() => events.some((e) => e.type === "retired"), 3000, "grace retirement");
    assert.deepEqual(
      events.find((e) => e.type === "retired"),
      { type: "retired", reason: "grace-expired" },
    );
    assert.equal(Object.keys(store.sessions).length, 0);
    // The client that did receive the tokens carries on.
    jar.update(first);
    const later = await me(app, jar);
    assert.equal(later.status, 200);
    assert.equal(later.body.handle, first.body.handle);
  });

  it(
    "carries data through accessTokenPayload and sessionDataInDatabase, and reports each decision to " + "onMigration",
    async () => {
      await setupCore();
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "hooks-1");
      const sid = sidOf(jar);
      const record = JSON.parse(store.sessions[sid]);
      Object.assign(record, { role: "admin", cart: ["book", "pen"] });
      store.sessions[sid] = JSON.stringify(record);

      const events: MigrationEvent[] = [];
      const seen: Array<[unknown, string]> = [];
      const { app } = fullApp({
        store,
        secret: SECRET,
        accessTokenPayload: (legacy, userId) => {
          seen.push([legacy.role, userId]);
          return { role: legacy.role };
        },
        sessionDataInDatabase: async (legacy) => ({ cart: legacy.cart }),
        onMigration: (e) => events.push(e),
      });
      const first = await me(app, jar);
      assert.equal(first.status, 200);
      assert.equal(first.body.payload.role, "admin");
      assert.deepEqual(seen, [["admin", "hooks-1"]]);
      const info = await Session.getSessionInformation(first.body.handle);
      assert.deepEqual(info?.sessionDataInDatabase, { cart: ["book", "pen"] });

      jar.update(first);
      assert.equal((await me(app, jar)).status, 200);
      await waitFor(() => events.some((e) => e.type === "retired"));
      assert.equal((await me(app, "connect.sid=s%3Aforged.sig")).status, 401);
      assert.deepEqual(events, [
        { type: "migrated", userId: "hooks-1", sessionHandle: first.body.handle },
        { type: "retired", reason: "proof" },
        { type: "rejected", reason: "bad-signature" },
      ]);
      assert.ok(!JSON.stringify(events).includes(sid), "an event carries the legacy session id");
    },
  );

  it("keeps serving when the onMigration hook throws", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "hook-throws");
    const { app } = fullApp({
      store,
      secret: SECRET,
      onMigration: () => {
        throw new Error("dashboard down");
      },
    });
    const res = await me(app, jar);
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, "hook-throws");
  });

  describe("when sessionRequired is false", () => {
    it("runs the route with req.session undefined when there is no session, and migrates a legacy one", async () => {
      await setupCore();
      const { store } = memoryStore();
      const { app } = fullApp({ store, secret: SECRET, sessionRequired: false });
      const none = await request(app).get("/api/optional");
      assert.equal(none.status, 200);
      assert.deepEqual(none.body, { session: null });
      const forged = await me(app, "connect.sid=s%3Aabc.def", "/api/optional");
      assert.equal(forged.status, 200);
      assert.deepEqual(forged.body, { session: null });

      const jar = await legacyLogin(store, "optional-1");
      const migrated = await me(app, jar, "/api/optional");
      assert.equal(migrated.status, 200);
      assert.equal(migrated.body.session.userId, "optional-1");
    });
  });

  describe('when mode is "logout"', () => {
    it("clears the legacy cookie and session and creates nothing", async () => {
      await setupCore();
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "logout-1");
      const events: MigrationEvent[] = [];
      const { app } = fullApp({ store, secret: SECRET, mode: "logout", onMigration: (e) => events.push(e) });
      const res = await me(app, jar);
      assert.equal(res.status, 401);
      assert.equal(Object.keys(store.sessions).length, 0);
      jar.update(res);
      assert.equal(jar.get("connect.sid"), undefined, "legacy cookie cleared");
      assert.equal(jar.get("sAccessToken"), undefined);
      assert.deepEqual(await sessionsOf("logout-1"), []);
      assert.deepEqual(events, [{ type: "logged-out", userId: "logout-1" }]);
    });

    it("lets an optional route run with no session", async () => {
      await setupCore();
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "logout-2");
      const { app } = fullApp({ store, secret: SECRET, mode: "logout", sessionRequired: false });
      const res = await me(app, jar, "/api/optional");
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, { session: null });
      assert.equal(legacySetCookie(res).length, 1);
      assert.deepEqual(await sessionsOf("logout-2"), []);
    });
  });
});

describe("dualSession: when the legacy cookie gives no session", () => {
  /** Variants of a real cookie value (URL-decoded `s:<sid>.<sig>`) that must not verify (T1). */
  const tamperings: Array<[string, (decoded: string) => string]> = [
    ["a changed sid", (d) => d.replace(/^s:(.)/, (_, c: string) => `s:${c === "A" ? "B" : "A"}`)],
    ["a changed signature", (d) => d.slice(0, -1) + (d.endsWith("A") ? "B" : "A")],
    ["junk after the signature", (d) => `${d}junk`],
    ["= padding after the signature", (d) => `${d}=`],
    ["a truncated signature", (d) => d.slice(0, -3)],
    ["no signature", (d) => d.slice(0, d.lastIndexOf("."))],
    ["no s: prefix", (d) => d.slice(2)],
    ["the sid signed with another secret", (d) => `s:${sign(d.slice(2, d.lastIndexOf(".")), "some-other-secret")}`],
    ["a leading space inside the value", (d) => ` ${d}`],
  ];

  for (const [what, tamper] of tamperings) {
    it(`answers 401 without a store lookup for ${what}`, async () => {
      await setupCore();
      const { store, calls } = memoryStore();
      const jar = await legacyLogin(store, "victim-1");
      const before = JSON.stringify(store.sessions);
      const { app } = fullApp({ store, secret: SECRET });
      const value = encodeURIComponent(tamper(decodeURIComponent(jar.get("connect.sid")!)));
      const res = await me(app, `connect.sid=${value}`);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { message: "unauthorised" });
      assert.equal(calls.get, 0);
      assert.deepEqual(legacySetCookie(res), []);
      assert.equal(JSON.stringify(store.sessions), before);
      assert.deepEqual(await sessionsOf("victim-1"), []);
    });
  }

  it("answers 401 without a store lookup when the cookie name appears twice (cookie tossing)", async () => {
    await setupCore();
    const { store, calls } = memoryStore();
    const victim = await legacyLogin(store, "victim-2");
    const attacker = await legacyLogin(store, "attacker-2");
    const { app } = fullApp({ store, secret: SECRET });
    const res = await me(app, `connect.sid=${attacker.get("connect.sid")}; connect.sid=${victim.get("connect.sid")}`);
    assert.equal(res.status, 401);
    assert.equal(calls.get, 0);
    assert.deepEqual(await sessionsOf("victim-2"), []);
    assert.deepEqual(await sessionsOf("attacker-2"), []);
  });

  it("ignores a legacy id sent in the query string", async () => {
    await setupCore();
    const { store, calls } = memoryStore();
    const jar = await legacyLogin(store, "query-1");
    const { app } = fullApp({ store, secret: SECRET });
    const res = await request(app).get(`/api/me?connect.sid=${jar.get("connect.sid")}`);
    assert.equal(res.status, 401);
    assert.equal(calls.get, 0);
  });

  it("answers 401 for a correctly signed id the store does not know", async () => {
    await setupCore();
    const { store, calls } = memoryStore();
    const { app } = fullApp({ store, secret: SECRET });
    const res = await me(app, signedCookie("no-such-session-id"));
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { message: "unauthorised" });
    assert.equal(calls.get, 1);
  });

  it("answers 401 for an expired legacy session and creates nothing", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "expired-1");
    const sid = sidOf(jar);
    const record = JSON.parse(store.sessions[sid]);
    record.cookie.expires = new Date(Date.now() - 1).toISOString();
    store.sessions[sid] = JSON.stringify(record);
    const { app } = fullApp({ store, secret: SECRET });
    const res = await me(app, jar);
    assert.equal(res.status, 401);
    assert.deepEqual(await sessionsOf("expired-1"), []);
  });

  it("leaves an anonymous session byte-identical, sets no cookie and creates nothing", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "ignored", { layout: "anonymous" });
    const sid = sidOf(jar);
    const before = store.sessions[sid];
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, onMigration: (e) => events.push(e) });
    const res = await me(app, jar);
    assert.equal(res.status, 401);
    assert.deepEqual(
      setCookies(res).filter((c) => !c.startsWith("sAccessToken=;") && !c.startsWith("sRefreshToken=;")),
      [],
    );
    assert.equal(store.sessions[sid], before);
    assert.deepEqual(events, [{ type: "rejected", reason: "anonymous" }]);
    const optional = await me(fullApp({ store, secret: SECRET, sessionRequired: false }).app, jar, "/api/optional");
    assert.deepEqual(optional.body, { session: null });
    assert.deepEqual(setCookies(optional), []);
    assert.equal(store.sessions[sid], before);
  });
});

describe("dualSession: replay of the legacy cookie after retirement", () => {
  it("mints no new session after proof and the grace window (sequential and parallel replays)", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "replay-1");
    const stolen = legacyOnly(jar);
    const { app } = fullApp({ store, secret: SECRET, graceMs: 200 });
    const first = await me(app, jar);
    jar.update(first);
    const proof = await me(app, jar);
    assert.equal(proof.status, 200);
    await waitFor(() => Object.keys(store.sessions).length === 0);
    const handles = await sessionsOf("replay-1");
    assert.deepEqual(handles, [first.body.handle]);
    // During the grace window the same page load may still reuse the tokens; it never mints.
    assert.ok([200, 401].includes((await me(app, stolen)).status));
    assert.deepEqual(await sessionsOf("replay-1"), handles);

    // After it, the legacy cookie is dead.
    await waitFor(async () => (await me(app, stolen)).status === 401, 2000, "grace window end");
    for (let i = 0; i < 5; i++) assert.equal((await me(app, stolen)).status, 401);
    const parallel = await Promise.all(Array.from({ length: 10 }, () => me(app, stolen)));
    assert.deepEqual(
      parallel.map((r) => r.status),
      Array(10).fill(401),
    );
    assert.deepEqual(await sessionsOf("replay-1"), handles);
  });

  it("mints no new session after retirement by the grace window", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "replay-2");
    const stolen = legacyOnly(jar);
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, graceMs: 1000, onMigration: (e) => events.push(e) });
    const first = await me(app, jar);
    assert.equal(first.status, 200);
    await waitFor(() => events.some((e) => e.type === "retired"));
    const replays = await Promise.all(Array.from({ length: 5 }, () => me(app, stolen)));
    assert.deepEqual(
      replays.map((r) => r.status),
      Array(5).fill(401),
    );
    assert.deepEqual(await sessionsOf("replay-2"), [first.body.handle]);
  });
});

describe("dualSession: with a SuperTokens session on the request", () => {
  it("never consults the legacy store, even with another user's legacy cookie beside it (fixation)", async () => {
    await setupCore();
    const { store, calls } = memoryStore();
    const alice = await legacyLogin(store, "alice");
    const mallory = await legacyLogin(store, "mallory");
    const { app } = fullApp({ store, secret: SECRET });
    alice.update(await me(app, alice));
    alice.update(await me(app, alice));
    const gets = calls.get;
    const res = await me(app, `${alice.header("/api/me")}; connect.sid=${mallory.get("connect.sid")}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, "alice");
    assert.equal(calls.get, gets);
    assert.deepEqual(await sessionsOf("mallory"), []);
  });

  it(
    "answers exactly as verifySession with no cookie, a garbage token, and a forged token beside a legacy " + "cookie",
    async () => {
      await setupCore();
      const { store, calls } = memoryStore();
      const jar = await legacyLogin(store, "verify-1");
      const { app } = fullApp({ store, secret: SECRET });
      const migrated = await me(app, jar);
      jar.update(migrated);
      const token = jar.get("sAccessToken")!;
      const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
      const cases: Array<[string, string]> = [
        ["no cookie", ""],
        ["garbage access token", "sAccessToken=garbage"],
        ["forged access token with the legacy cookie", `sAccessToken=${forged}; ${legacyOnly(jar)}`],
      ];
      const gets = calls.get;
      for (const [what, cookie] of cases) {
        const ours = await me(app, cookie);
        const theirs = await me(app, cookie, "/verify/me");
        assert.equal(ours.status, theirs.status, what);
        assert.deepEqual(ours.body, theirs.body, what);
        assert.deepEqual(setCookies(ours), setCookies(theirs), what);
      }
      assert.equal(calls.get, gets, "a request with SuperTokens tokens reached the legacy store");
      assert.deepEqual(await sessionsOf("verify-1"), [migrated.body.handle]);
    },
  );

  it(
    "answers try-refresh 401 for an expired access token even with the legacy cookie, and never " + "re-migrates",
    async (t) => {
      await setupCore();
      const { store, calls } = memoryStore();
      const jar = await legacyLogin(store, "expired-at");
      const { app } = fullApp({ store, secret: SECRET });
      const first = await me(app, jar);
      assert.equal(first.status, 200);
      jar.update(first);
      assert.ok(jar.get("connect.sid"), "the legacy cookie is still held (no proof yet)");
      const gets = calls.get;
      // Two hours later for the SDK and the dev core alike: the access token (1 h) has expired, the refresh
      // token (100 days) and the legacy session (browser-session cookie) have not.
      const realNow = Date.now.bind(Date);
      t.mock.method(Date, "now", () => realNow() + 2 * 3600_000);
      assert.deepEqual((await me(app, jar, "/verify/me")).body, { message: "try refresh token" });
      const res = await me(app, jar);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { message: "try refresh token" });
      assert.equal(calls.get, gets, "the legacy store was consulted");
      assert.deepEqual(await sessionsOf("expired-at"), [first.body.handle]);

      const refreshed = await request(app)
        .post("/auth/session/refresh")
        .set("Cookie", jar.header("/auth/session/refresh"));
      assert.equal(refreshed.status, 200);
      jar.update(refreshed);
      const later = await me(app, jar);
      assert.equal(later.status, 200);
      assert.equal(later.body.handle, first.body.handle);
    },
  );

  it("applies anti-CSRF (VIA_TOKEN) on a non-GET with a valid session, as verifySession does", async () => {
    await setupCore({ antiCsrf: "VIA_TOKEN" });
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "csrf-token-1");
    const { app } = fullApp({ store, secret: SECRET });
    const first = await me(app, jar);
    assert.equal(first.status, 200);
    const antiCsrf = first.headers["anti-csrf"];
    assert.ok(antiCsrf, "the migration response carries the anti-csrf token");
    jar.update(first);
    for (const path of ["/api/me", "/verify/me"]) {
      const without = await postMe(app, jar, {}, path);
      assert.equal(without.status, 401, path);
      assert.deepEqual(without.body, { message: "try refresh token" }, path);
      const withToken = await postMe(app, jar, { "anti-csrf": antiCsrf }, path);
      assert.equal(withToken.status, 200, path);
      assert.equal(withToken.body.userId, "csrf-token-1");
    }
    assert.deepEqual(await sessionsOf("csrf-token-1"), [first.body.handle]);
  });
});

describe("dualSession: the CSRF rule on unsafe methods", () => {
  async function setup() {
    await setupCore();
    const { store, calls } = memoryStore();
    const jar = await legacyLogin(store, `csrf-${Math.random().toString(36).slice(2)}`);
    const userId = (JSON.parse(Object.values(store.sessions)[0]) as { userId: string }).userId;
    const events: MigrationEvent[] = [];
    const { app } = fullApp({ store, secret: SECRET, onMigration: (e) => events.push(e) });
    return { store, calls, jar, userId, app, events };
  }

  it("does not migrate a POST from a foreign Origin", async () => {
    const { calls, jar, userId, app, events } = await setup();
    const res = await postMe(app, jar, { Origin: "https://evil.example" });
    assert.equal(res.status, 401);
    assert.equal(calls.get, 0);
    assert.deepEqual(await sessionsOf(userId), []);
    assert.deepEqual(events, [{ type: "rejected", reason: "csrf" }]);
  });

  it("does not migrate a POST marked Sec-Fetch-Site: cross-site", async () => {
    const { calls, jar, userId, app } = await setup();
    const res = await postMe(app, jar, { "Sec-Fetch-Site": "cross-site" });
    assert.equal(res.status, 401);
    assert.equal(calls.get, 0);
    assert.deepEqual(await sessionsOf(userId), []);
  });

  it("does not migrate a POST with no Origin, no Sec-Fetch-Site and no rid header", async () => {
    const { jar, userId, app } = await setup();
    assert.equal((await postMe(app, jar)).status, 401);
    assert.deepEqual(await sessionsOf(userId), []);
  });

  it("migrates a POST from the app's own origin (appInfo.websiteDomain)", async () => {
    const { jar, userId, app } = await setup();
    const res = await postMe(app, jar, { Origin: appInfo.websiteDomain });
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, userId);
    assert.equal((await sessionsOf(userId)).length, 1);
  });

  it("migrates a POST marked Sec-Fetch-Site: same-origin, or carrying SuperTokens' rid header", async () => {
    const a = await setup();
    assert.equal((await postMe(a.app, a.jar, { "Sec-Fetch-Site": "same-origin" })).status, 200);
    const b = await setup();
    assert.equal((await postMe(b.app, b.jar, { rid: "anti-csrf" })).status, 200);
  });

  it("migrates a GET even from another site (safe method)", async () => {
    const { jar, userId, app } = await setup();
    const res = await me(app, jar).set("Origin", "https://evil.example").set("Sec-Fetch-Site", "cross-site");
    assert.equal(res.status, 200);
    assert.equal(res.body.userId, userId);
  });

  it(
    "applies the same rule in migrationEndpoint: a foreign Origin gets NO_LEGACY_SESSION and no store " + "lookup",
    async () => {
      const { store, calls, jar, userId } = await setup();
      const app = express5();
      app.use(middleware());
      app.post("/auth/migrate-session", migrationEndpoint({ store, secret: SECRET }));
      app.use(errorHandler());
      const res = await request(app)
        .post("/auth/migrate-session")
        .set("Cookie", legacyOnly(jar))
        .set("Origin", "https://evil.example");
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, { status: "NO_LEGACY_SESSION" });
      assert.equal(calls.get, 0);
      assert.deepEqual(await sessionsOf(userId), []);
      const same = await request(app)
        .post("/auth/migrate-session")
        .set("Cookie", legacyOnly(jar))
        .set("Origin", appInfo.websiteDomain);
      assert.deepEqual(same.body, { status: "OK", userId });
    },
  );

  it("uses trustedOrigins instead of the SDK's domains when given", async () => {
    await setupCore();
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "trusted-1");
    const { app } = fullApp({ store, secret: SECRET, trustedOrigins: ["https://app.example"] });
    assert.equal((await postMe(app, jar, { Origin: appInfo.websiteDomain })).status, 401);
    assert.equal((await postMe(app, jar, { Origin: "https://app.example" })).status, 200);
  });
});

for (const [major, ex] of [
  ["Express 5", express5],
  ["Express 4", express4],
] as const) {
  describe(`dualSession beside express-session on ${major}`, () => {
    it(
      "with express-session before it: no hang, express-session data still read and written until " + "retirement",
      async () => {
        await setupCore();
        const { store } = memoryStore();
        const jar = await legacyLogin(store, "coexist-1");
        const sid = sidOf(jar);
        const { app } = fullApp({ store, secret: SECRET }, { express: ex, expressSession: { where: "before", store } });
        // The migrating request writes express-session data through req.legacySession.
        const first = await postMe(app, jar, { Origin: appInfo.websiteDomain }, "/api/legacy-note?note=hello");
        assert.equal(first.status, 200);
        assert.deepEqual(first.body, { userId: "coexist-1", wrote: true });
        jar.update(first);
        assert.equal(JSON.parse(store.sessions[sid]).note, "hello", "express-session saved the legacy session");

        // A legacy-only route on the same app still reads and writes its session.
        const cart = await request(app).post("/legacy/cart?item=book").set("Cookie", jar.header("/legacy/cart"));
        assert.equal(cart.status, 200);
        const read = await request(app).get("/legacy/cart").set("Cookie", jar.header("/legacy/cart"));
        assert.deepEqual(read.body, { cart: ["book"], userId: "coexist-1" });
        assert.deepEqual(JSON.parse(store.sessions[sid]).cart, ["book"]);

        // Proof retires it, and express-session does not write it back afterwards.
        const proof = await me(app, jar);
        assert.equal(proof.status, 200);
        jar.update(proof);
        assert.equal(jar.get("connect.sid"), undefined);
        await waitFor(() => store.sessions[sid] === undefined);
        const after = await me(app, jar);
        assert.equal(after.status, 200);
        assert.equal(store.sessions[sid], undefined, "express-session resurrected the retired session");
      },
    );

    it("with express-session after it: no hang, and legacy-only routes keep their session", async () => {
      await setupCore();
      const { store } = memoryStore();
      const jar = await legacyLogin(store, "coexist-2");
      const { app } = fullApp({ store, secret: SECRET }, { express: ex, expressSession: { where: "after", store } });
      const first = await me(app, jar);
      assert.equal(first.status, 200);
      assert.equal(first.body.userId, "coexist-2");
      jar.update(first);
      const cart = await request(app).post("/legacy/cart?item=pen").set("Cookie", jar.header("/legacy/cart"));
      assert.equal(cart.status, 200);
      const read = await request(app).get("/legacy/cart").set("Cookie", jar.header("/legacy/cart"));
      assert.deepEqual(read.body, { cart: ["pen"], userId: "coexist-2" });
      assert.equal((await me(app, "connect.sid=s%3Abad.sig")).status, 401);
    });

    it(
      "with unset: 'destroy', the legacy session survives the migrating request and is destroyed only on " +
        "retirement",
      async () => {
        await setupCore();
        const { store } = memoryStore();
        const jar = await legacyLogin(store, "coexist-3");
        const sid = sidOf(jar);
        const { app } = fullApp(
          { store, secret: SECRET },
          { express: ex, expressSession: { where: "before", store, unset: "destroy" } },
        );
        const first = await me(app, jar);
        assert.equal(first.status, 200);
        // dualSession answers this one itself (CSRF rule), after express-session loaded the legacy session.
        const rejected = await postMe(app, legacyOnly(jar), { Origin: "https://evil.example" });
        assert.equal(rejected.status, 401);
        assert.ok(store.sessions[sid], "express-session destroyed the legacy session before retirement");
        jar.update(first);
        assert.equal((await me(app, jar)).status, 200);
        await waitFor(() => store.sessions[sid] === undefined);
      },
    );
  });
}

describe("dualSession: debug logs", () => {
  it("log every decision without cookie values, session ids, tokens or secrets", async () => {
    await setupCore();
    const secret = "canary-secret-5f3a9c";
    const { store } = memoryStore();
    const jar = await legacyLogin(store, "log-user-1", { secret });
    const sid = sidOf(jar, [secret]);
    const anonymous = await legacyLogin(store, "ignored", { layout: "anonymous", secret });
    const capture = captureDebug();
    let responses: string[];
    try {
      const { app } = fullApp({ store, secret, graceMs: 200 });
      const first = await me(app, jar);
      jar.update(first);
      const proof = await me(app, jar);
      await me(app, `connect.sid=${encodeURIComponent(`s:${sid}.forgedsignature`)}`);
      await me(app, legacyOnly(anonymous));
      await postMe(app, legacyOnly(jar), { Origin: "https://evil.example" });
      const unknown = await me(app, `connect.sid=${encodeURIComponent(`s:${sign("unknown-canary-sid", secret)}`)}`);
      responses = [first, proof, unknown].map((r) => JSON.stringify(r.body));
      await waitFor(() => store.sessions[sid] === undefined);
    } finally {
      capture.stop();
    }
    const text = capture.lines.join("\n");
    assert.match(text, /migrated/);
    assert.match(text, /retired/);
    assert.match(text, /signature/);
    assert.match(text, /anonymous/);
    assert.match(text, /same-origin|CSRF|csrf/);
    const canaries = [
      sid,
      sidOf(anonymous, [secret]),
      "unknown-canary-sid",
      secret,
      jar.get("sAccessToken"),
      jar.get("sRefreshToken"),
      jar.get("sFrontToken"),
      decodeURIComponent(legacyOnly(jar).slice("connect.sid=".length)).split(".").pop(),
    ].filter((c): c is string => typeof c === "string" && c.length > 0);
    assert.ok(canaries.length >= 7);
    for (const canary of canaries)
      assert.ok(!text.includes(canary), `a debug line contains a secret value (${canary.slice(0, 4)}…)`);
    for (const body of responses)
      for (const canary of [sid, secret, "unknown-canary-sid"])
        assert.ok(!body.includes(canary), "a response body leaks a secret");
  });
});

describe("dualSession: token transfer with the SDK's default getTokenTransferMethod", () => {
  it(
    "answers a page navigation (no st-auth-mode header) with cookies, not response headers the browser would " + "drop",
    async () => {
      initSuperTokens(await createCoreApp(core.url), { getTokenTransferMethod: undefined });
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "nav-user");
      const { app } = migratedApp({ store, secret: SECRET });
      const first = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(first.status, 200);
      assert.equal(first.headers["st-access-token"], undefined);
      jar.update(first);
      assert.ok(jar.get("sAccessToken"), "access token set as a cookie");
      assert.ok(jar.get("sRefreshToken"), "refresh token set as a cookie");
      const second = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(second.status, 200);
      assert.equal(second.body.userId, "nav-user");
      assert.equal((await Session.getAllSessionHandlesForUser("nav-user")).length, 1);
    },
  );

  it("still answers with headers when the frontend asks for them (st-auth-mode: header)", async () => {
    initSuperTokens(await createCoreApp(core.url), { getTokenTransferMethod: undefined });
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "spa-user");
    const { app } = migratedApp({ store, secret: SECRET });
    const res = await request(app).get("/api/me").set("Cookie", jar.header("/api/me")).set("st-auth-mode", "header");
    assert.equal(res.status, 200);
    assert.ok(res.headers["st-access-token"]);
    assert.equal(new CookieJar().update(res).get("sAccessToken"), undefined);
  });
});

describe("dualSession: any SuperTokens token on the request defers to SuperTokens (T7)", () => {
  it("does not migrate when a bad sAccessToken sits beside a valid legacy cookie", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "tossed");
    jar.set("sAccessToken", "garbage.token.value");
    const { app } = migratedApp({ store, secret: SECRET });
    const res = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(res.status, 401);
    assert.equal((await Session.getAllSessionHandlesForUser("tossed")).length, 0);
    jar.update(res);
    assert.equal(jar.get("sAccessToken"), undefined, "the bad token is cleared");
    // The next request, with only the legacy cookie, migrates.
    const next = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(next.status, 200);
    assert.equal(next.body.userId, "tossed");
  });
});

describe("dualSession: when the coordinator fails after the session was created", () => {
  it("answers 503 and revokes the session no client received", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "publish-fails");
    const inner = createMemoryMigrationCoordinator();
    const coordinator: MigrationCoordinator = {
      waitForResult: (sid, ms) => inner.waitForResult(sid, ms),
      async claim(sid) {
        const outcome = await inner.claim(sid);
        if (outcome.status !== "WON") return outcome;
        return {
          status: "WON",
          claim: {
            token: outcome.claim.token,
            release: () => outcome.claim.release(),
            publish: async () => {
              throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", "lock store down");
            },
          },
        };
      },
    };
    const { app } = migratedApp({ store, secret: SECRET, coordinator });
    const res = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "ERR_MIGRATE_LOCK_UNAVAILABLE");
    assert.deepEqual(await Session.getAllSessionHandlesForUser("publish-fails"), []);
    assert.equal(Object.keys(store.sessions).length, 1, "legacy session kept");
  });
});

describe("dualSession: when the coordinator's publish lands but answers too late", () => {
  it("keeps the session and serves it: the page's other requests reuse it, nobody is logged out", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "publish-late");
    const inner = createMemoryMigrationCoordinator();
    // The store did the write, and the answer came after the coordinator's deadline (a loaded Redis).
    const coordinator: MigrationCoordinator = {
      waitForResult: (sid, ms) => inner.waitForResult(sid, ms),
      async claim(sid) {
        const outcome = await inner.claim(sid);
        if (outcome.status !== "WON") return outcome;
        return {
          status: "WON",
          claim: {
            token: outcome.claim.token,
            release: () => outcome.claim.release(),
            publish: async (result, ttlMs) => {
              await outcome.claim.publish(result, ttlMs);
              throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "Redis migration publish timed out");
            },
          },
        };
      },
    };
    const { app } = migratedApp({ store, secret: SECRET, coordinator });
    const first = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.userId, "publish-late");
    const handles = await Session.getAllSessionHandlesForUser("publish-late");
    assert.equal(handles.length, 1, "the session stands");
    // A request of the same page load that carried only the legacy cookie.
    const other = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(other.status, 200, JSON.stringify(other.body));
    assert.deepEqual(await Session.getAllSessionHandlesForUser("publish-late"), handles, "the same session reused");
    assert.equal(Object.keys(store.sessions).length, 1, "legacy session kept until proof or the grace window");
  });
});

describe("dualSession: a legacy session migrated by another process, after its result expired", () => {
  it("mints no second session: retires the legacy session and clears its cookie", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const redis = createClient({ url: requireEnv("REDIS_URL") });
    await redis.connect();
    try {
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "two-procs");
      const prefix = `stm-test:${uniqueId()}:`;
      // Two processes sharing Redis. The published result is published for the grace window (issue 11, item 6);
      // deleting it stands for its expiry while process A still holds the legacy session (a retirement that failed).
      const coordinator = () => createRedisMigrationCoordinator(redis, { prefix });
      const a = migratedApp({ store, secret: SECRET, coordinator: coordinator(), graceMs: 60_000 }).app;
      const b = migratedApp({ store, secret: SECRET, coordinator: coordinator(), graceMs: 60_000 }).app;
      const first = await request(a).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(first.status, 200);
      assert.equal(await redis.del(`${prefix}result:${hashTag(sidOf(jar))}`), 1);
      const replay = await request(b).get("/api/me").set("Cookie", jar.header("/api/me"));
      assert.equal(replay.status, 401);
      assert.deepEqual(await Session.getAllSessionHandlesForUser("two-procs"), [first.body.handle]);
      assert.equal(new CookieJar().update(replay).cookies.has("connect.sid"), false);
      assert.match(String(replay.headers["set-cookie"]), /connect\.sid=;/);
      await waitFor(() => Object.keys(store.sessions).length === 0, 3000);
    } finally {
      await redis.quit();
    }
  });
});
