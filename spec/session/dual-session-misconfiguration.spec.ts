/**
 * Misconfiguration made loud (issue 11, items 8 and 11): a supertokens-node configuration error during session
 * creation is a 500 with one console line naming cause and fix (not a 503 "core unavailable" forever), and a
 * legacy source that cannot be read (wrong secret, wrong store or prefix, wrong userId) warns without DEBUG and
 * shows in stats(). Real SDK over HTTP against the dev core; the clock is moved with Date.now.
 */
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { sign } from "cookie-signature";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { fullApp, sessionsOf } from "../helpers/dual-fixtures.js";
import { closedPort } from "../helpers/services.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

type App = Parameters<typeof request>[0];
const me = (app: App, cookie: string) => request(app).get("/api/me").set("Cookie", cookie);
const signed = (sid: string, secret = SECRET) => `connect.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;

/** This package's console.error lines while the test runs, silenced (Node's own warnings are left out). */
function loudLines(t: TestContext): string[] {
  const lines: string[] = [];
  t.mock.method(console, "error", (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (!line.startsWith("(node:")) lines.push(line);
  });
  return lines;
}

describe("dualSession: a supertokens-node configuration error while creating the session (issue 11, item 8)", () => {
  it("answers 500, not 503, and says once on the console what is wrong and how to fix it", async (t) => {
    resetSdk();
    supertokens.init({
      supertokens: { connectionURI: await createCoreApp(core.url) },
      // Another site, over http: SameSite=None cookies need Secure, so the SDK refuses to create sessions.
      appInfo: { ...appInfo, websiteDomain: "https://app.example.com" },
      recipeList: [Session.init({ getTokenTransferMethod: () => "cookie" })],
    });
    const store = new expressSession.MemoryStore();
    const { app, mw } = fullApp({ store, secret: SECRET });
    const lines = loudLines(t);
    for (const userId of ["config-1", "config-2", "config-3"]) {
      const jar = await legacyLogin(store, userId);
      const res = await me(app, `connect.sid=${jar.get("connect.sid")}`);
      assert.equal(res.status, 500, `answered ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.headers["retry-after"], undefined);
    }
    assert.equal(lines.length, 1, `logged ${lines.length} times:\n${lines.join("\n")}`);
    assert.match(lines[0], /supertokens-migrate/);
    assert.match(lines[0], /please use https on your apiDomain/, "names the cause");
    assert.match(lines[0], /not a core outage/i);
    assert.match(lines[0], /apiDomain.*https|cookieSameSite/, "names the fix");
    assert.equal(mw.stats().rejected["core-unavailable"], undefined);
  });

  it("still answers 503 while the core is unreachable, and logs nothing loud", async (t) => {
    initSuperTokens(`http://127.0.0.1:${await closedPort()}`);
    const store = new expressSession.MemoryStore();
    const { app } = fullApp({ store, secret: SECRET, coreTimeoutMs: 3000 });
    const lines = loudLines(t);
    const jar = await legacyLogin(store, "core-down");
    const res = await me(app, `connect.sid=${jar.get("connect.sid")}`);
    assert.equal(res.status, 503);
    assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");
    assert.deepEqual(lines, []);
  });
});

describe("dualSession: a legacy source that cannot be read warns (issue 11, item 11)", () => {
  it("warns once per interval when nearly every legacy cookie fails its signature (wrong secret)", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const { app, mw } = fullApp({ store, secret: "not-the-legacy-secret" });
    const lines = loudLines(t);
    const burst = async (n: number) => {
      for (let i = 0; i < n; i++) assert.equal((await me(app, signed(`sid-${i}-${Math.random()}`))).status, 401);
    };
    await burst(19);
    assert.equal(lines.length, 0, "warned on too small a sample");
    assert.deepEqual(mw.stats().warnings, []);
    await burst(1);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /20 of 20 legacy cookies/);
    assert.match(lines[0], /`secret`/);
    assert.match(lines[0], /`name` \(connect\.sid\)/);
    assert.ok(!lines[0].includes(SECRET) && !lines[0].includes("not-the-legacy-secret"), "a secret in the log");
    assert.deepEqual(
      mw.stats().warnings.map((w) => w.signal),
      ["bad-signature"],
    );
    await burst(30);
    assert.equal(lines.length, 1, "warned twice within one interval");

    const realNow = Date.now.bind(Date);
    t.mock.method(Date, "now", () => realNow() + 5 * 60_000 + 1);
    await burst(20);
    assert.equal(lines.length, 2, "no warning in the next interval");
  });

  it("does not warn when some cookie verified", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const { app, mw } = fullApp({ store, secret: SECRET });
    const lines = loudLines(t);
    const jar = await legacyLogin(store, "genuine-1");
    assert.equal((await me(app, `connect.sid=${jar.get("connect.sid")}`)).status, 200);
    for (let i = 0; i < 40; i++) await me(app, signed(`forged-${i}`, "attacker-guess"));
    assert.deepEqual(lines, []);
    assert.deepEqual(mw.stats().warnings, []);
    assert.equal(mw.stats().rejected["bad-signature"], 40);
  });

  it("warns when valid cookies name no stored session (wrong store or prefix)", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const legacyStore = new expressSession.MemoryStore();
    const otherStore = new expressSession.MemoryStore();
    const { app, mw } = fullApp({ store: otherStore, secret: SECRET });
    const lines = loudLines(t);
    for (let i = 0; i < 20; i++) {
      const jar = await legacyLogin(legacyStore, `lost-${i}`);
      assert.equal((await me(app, `connect.sid=${jar.get("connect.sid")}`)).status, 401);
    }
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /`store`/);
    assert.match(lines[0], /prefix/);
    assert.deepEqual(
      mw.stats().warnings.map((w) => w.signal),
      ["session-not-found"],
    );
  });

  it("warns when stored sessions carry no user id where `userId` looks", async (t) => {
    initSuperTokens(await createCoreApp(core.url));
    const store = new expressSession.MemoryStore();
    const { app, mw } = fullApp({ store, secret: SECRET });
    const lines = loudLines(t);
    for (let i = 0; i < 20; i++) {
      const jar = await legacyLogin(store, `account-${i}`);
      const sid = decodeURIComponent(jar.get("connect.sid")!).slice(2).split(".")[0];
      const record = JSON.parse(store.sessions[sid]);
      record.account = { uid: record.userId };
      delete record.userId;
      store.sessions[sid] = JSON.stringify(record);
      assert.equal((await me(app, `connect.sid=${jar.get("connect.sid")}`)).status, 401);
    }
    assert.equal(lines.length, 1);
    assert.match(lines[0], /`userId`/);
    assert.deepEqual(
      mw.stats().warnings.map((w) => w.signal),
      ["no-user-id"],
    );
    assert.deepEqual(await sessionsOf("account-0"), []);
  });
});
