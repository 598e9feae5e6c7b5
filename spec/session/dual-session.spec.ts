import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import Session from "supertokens-node/recipe/session";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, migratedApp, SECRET } from "../helpers/dual-app.js";
import type { CookieJar } from "../helpers/cookies.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

function countingStore() {
  const store = new expressSession.MemoryStore();
  const calls = { get: 0, destroy: 0 };
  const get = store.get.bind(store);
  const destroy = store.destroy.bind(store);
  store.get = (sid, cb) => {
    calls.get++;
    return get(sid, cb);
  };
  store.destroy = (sid, cb) => {
    calls.destroy++;
    return destroy(sid, cb);
  };
  return { store, calls };
}

const me = (app: Parameters<typeof request>[0], jar: CookieJar) => request(app).get("/api/me").set("Cookie", jar.header("/api/me"));

describe("dualSession: first request with a legacy cookie", () => {
  it("creates one SuperTokens session for the same user id, serves the route, and keeps the legacy session until proof", async () => {
    initSuperTokens(await createCoreApp(core.url));
    const { store, calls } = countingStore();
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
  });
});

async function waitFor(cond: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setImmediate(r));
  }
}
