/**
 * Issue 10, item 5: never logged out by a slow machine. On a busy machine the access token a migration mints can
 * expire before the same request verifies it (the dev core and the real core both mint `exp` in whole seconds,
 * so a 2 s token may have only just over 1 s left; creating the session, publishing it and the first fetch of
 * the signing keys took longer than that under load). dualSession then answered "try refresh token" (401) to a
 * request that had carried only its legacy cookie: the demo showed "Served by SuperTokens (no session)".
 *
 * The stall is made deterministic with the clock instead of load: `Date` is moved forward between the moment
 * the core mints the token (the `migrated` event fires right after creation) and the moment the SDK verifies
 * it. No sleeps: the clock jump is the stall.
 */
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import type { MigrationEvent } from "../../lib/session/options.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import type { CookieJar } from "../helpers/cookies.js";
import { fullApp, sessionsOf, setCookies, waitFor } from "../helpers/dual-fixtures.js";
import { startTcpProxy } from "../helpers/tcp-proxy.js";

/** Access tokens live 2 s; the stall is longer, but shorter than the 30 s grace window and result TTL. */
const VALIDITY_S = 2;
const STALL_MS = 5_000;

/** A clock for everything in this process (SDK, jose, dev core, coordinator) that can jump forward. */
const RealDate = Date;
let skewMs = 0;
class SkewedDate extends RealDate {
  constructor(...args: unknown[]) {
    if (args.length === 0) super(RealDate.now() + skewMs);
    else super(...(args as [string]));
  }
  static override now(): number {
    return RealDate.now() + skewMs;
  }
}

let core: DevCore;
before(async () => {
  core = await startDevCore();
  globalThis.Date = SkewedDate as DateConstructor;
});
after(async () => {
  globalThis.Date = RealDate;
  await core.close();
});
afterEach(() => {
  skewMs = 0;
});

type App = Parameters<typeof request>[0];
const legacyOnly = (jar: CookieJar) => `connect.sid=${jar.get("connect.sid")}`;
const me = (app: App, cookie: string) => request(app).get("/api/me").set("Cookie", cookie);
const accessTokenOf = (res: { headers: Record<string, unknown> }) =>
  /^sAccessToken=([^;]*)/.exec(setCookies(res).find((c) => c.startsWith("sAccessToken=")) ?? "")?.[1];

/** The machine stalls right after the core created the session, before the request verifies its token. */
const stallAfterMigration =
  (extra: () => void = () => {}) =>
  (e: MigrationEvent) => {
    if (e.type === "migrated") {
      skewMs += STALL_MS;
      extra();
    }
  };

describe("dualSession on a machine too slow for the new access token's validity", () => {
  it("serves the migrating request with the session on refreshed tokens, instead of 401 try-refresh", async () => {
    initSuperTokens(await createCoreApp(core.url, { access_token_validity: VALIDITY_S }));
    const store = new expressSession.MemoryStore();
    const jar = await legacyLogin(store, "slow-1");
    const { app, mw } = fullApp({ store, secret: SECRET, onMigration: stallAfterMigration() });

    const first = await me(app, legacyOnly(jar));
    assert.equal(first.status, 200, `no session lost to a slow machine: ${first.status} ${JSON.stringify(first.body)}`);
    assert.equal(first.body.userId, "slow-1");
    assert.ok(accessTokenOf(first), "the response carries an access token");
    assert.equal(
      setCookies(first).filter((c) => c.startsWith("sAccessToken=")).length,
      1,
      "only the refreshed token, not the expired one too",
    );
    assert.equal(setCookies(first).filter((c) => c.startsWith("sRefreshToken=")).length, 1);
    // One session in the core: the refresh kept it, it did not create another.
    assert.deepEqual(await sessionsOf("slow-1"), [first.body.handle]);
    assert.equal(mw.stats().migrated, 1);

    // The tokens handed out work: the next request is served from them and retires the legacy session.
    jar.update(first);
    const second = await request(app).get("/api/me").set("Cookie", jar.header("/api/me"));
    assert.equal(second.status, 200);
    assert.equal(second.body.userId, "slow-1");
    jar.update(second);
    assert.equal(jar.get("connect.sid"), undefined, "legacy cookie cleared by the proof");
    await waitFor(
      () => Object.keys((store as unknown as { sessions: object }).sessions).length === 0,
      3000,
      "legacy session retired",
    );
  });

  it(
    "serves a request that reuses the migration after its access token expired (late in the grace window), without " +
      "token theft",
    async () => {
      initSuperTokens(await createCoreApp(core.url, { access_token_validity: VALIDITY_S }));
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "slow-2");
      // The first request stalls too, so it refreshes: the refresh must not promote its new refresh token, or
      // the late request below, which still holds the published (first) generation, would look like token theft.
      const { app, mw } = fullApp({ store, secret: SECRET, onMigration: stallAfterMigration() });
      const first = await me(app, legacyOnly(jar));
      assert.equal(first.status, 200);

      // Another request of the same page load, still carrying only the legacy cookie, arrives after a stall.
      skewMs += STALL_MS;
      const late = await me(app, legacyOnly(jar));
      assert.equal(late.status, 200, `reuse after the token expired: ${late.status} ${JSON.stringify(late.body)}`);
      assert.equal(late.body.userId, "slow-2");
      assert.equal(late.body.handle, first.body.handle, "the same session, not a second one");
      assert.deepEqual(await sessionsOf("slow-2"), [first.body.handle]);
      assert.equal(mw.stats().migrated, 1);
      assert.equal(mw.stats().reused, 1);
    },
  );

  it("answers 503 with Retry-After, never 401, when the core cannot refresh in time; the retry signs in", async () => {
    const proxy = await startTcpProxy({ host: "127.0.0.1", port: Number(new URL(core.url).port) });
    try {
      const uri = await createCoreApp(core.url, { access_token_validity: VALIDITY_S });
      initSuperTokens(uri.replace(core.url, proxy.url));
      const store = new expressSession.MemoryStore();
      const jar = await legacyLogin(store, "slow-3");
      // Stall, and the core goes away before the refresh.
      const { app } = fullApp({ store, secret: SECRET, onMigration: stallAfterMigration(() => proxy.cut()) });
      const res = await me(app, legacyOnly(jar));
      assert.equal(res.status, 503, `${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.headers["retry-after"], "1");
      assert.equal(res.body.code, "ERR_MIGRATE_CORE_UNAVAILABLE");
      assert.deepEqual(
        setCookies(res).filter((c) => /^s(Access|Refresh)Token=/.test(c)),
        [],
        "no expired tokens handed out with the 503",
      );
      assert.ok(
        jar.get("connect.sid") && Object.keys((store as unknown as { sessions: object }).sessions).length === 1,
        "the legacy session is intact",
      );

      // The client retries as told: the same migration, refreshed, and the user is signed in.
      proxy.restore();
      const retry = await me(app, legacyOnly(jar));
      assert.equal(retry.status, 200, `${retry.status} ${JSON.stringify(retry.body)}`);
      assert.equal(retry.body.userId, "slow-3");
      assert.deepEqual(await sessionsOf("slow-3"), [retry.body.handle]);
    } finally {
      await proxy.close();
    }
  });
});
