/**
 * dualSession() over each express-session store the issue names (MemoryStore, connect-redis on a real Redis,
 * connect-pg-simple on a real PostgreSQL) × Express 4 and Express 5, with legacy sessions written by a real
 * express-session login.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { createClient } from "redis";
import pg from "pg";
import express4 from "express4";
import express5 from "express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import type { MigrationEvent } from "../../lib/session/index.js";
import { createCoreApp, appInfo } from "../helpers/sdk.js";
import { PgStore, RedisStore, session as expressSession, type SessionStore } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import type { CookieJar } from "../helpers/cookies.js";
import {
  countCalls,
  fullApp,
  sessionsOf,
  setCookies,
  sidOf,
  waitFor,
  type StoreCalls,
} from "../helpers/dual-fixtures.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
const redis = createClient({ url: requireEnv("REDIS_URL") });
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
const redisPrefix = `stm-test:dual-stores:${uniqueId()}:`;

before(async () => {
  core = await startDevCore();
  await redis.connect();
});
after(async () => {
  for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*` })) if (keys.length) await redis.del(keys);
  redis.destroy();
  await pool.end();
  await core.close();
});

/** One isolated store, its call counters, and raw access to the stored bytes behind the store's back. */
interface Fixture {
  store: SessionStore;
  calls: StoreCalls;
  /** The stored record exactly as the backend holds it, or undefined. */
  raw(sid: string): Promise<string | undefined>;
  /** Overwrite a record directly (as a lagging TTL or pruning job leaves it). */
  writeRaw(sid: string, record: string): Promise<void>;
  close(): Promise<void>;
}

const kinds: Array<[string, () => Promise<Fixture>]> = [
  [
    "MemoryStore",
    async () => {
      const memory = new expressSession.MemoryStore();
      return {
        ...countCalls(memory),
        raw: async (sid) => memory.sessions[sid],
        writeRaw: async (sid, record) => void (memory.sessions[sid] = record),
        close: async () => {},
      };
    },
  ],
  [
    "connect-redis on Redis",
    async () => {
      const prefix = `${redisPrefix}${uniqueId()}:`;
      return {
        ...countCalls(new RedisStore({ client: redis, prefix })),
        raw: async (sid) => (await redis.get(prefix + sid)) ?? undefined,
        writeRaw: async (sid, record) =>
          void (await redis.set(prefix + sid, record, { expiration: { type: "EX", value: 86400 } })),
        close: async () => {},
      };
    },
  ],
  [
    "connect-pg-simple on PostgreSQL",
    async () => {
      // A schema per test: connect-pg-simple's table.sql uses fixed constraint names.
      const schema = `stm_dual_${uniqueId()}`;
      await pool.query(`CREATE SCHEMA "${schema}"`);
      const pgStore = new PgStore({
        pool,
        schemaName: schema,
        tableName: "session",
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      return {
        ...countCalls(pgStore),
        async raw(sid) {
          const r = await pool.query(`SELECT sess::text AS sess, expire FROM "${schema}"."session" WHERE sid = $1`, [
            sid,
          ]);
          return r.rows[0] ? `${r.rows[0].sess}|${(r.rows[0].expire as Date).toISOString()}` : undefined;
        },
        async writeRaw(sid, record) {
          // The row itself expires in a day, as with a misconfigured `ttl`: only the cookie says it is dead.
          await pool.query(
            `UPDATE "${schema}"."session" SET sess = $2, expire = now() + interval '1 day' WHERE sid = $1`,
            [sid, record],
          );
        },
        async close() {
          await pgStore.close();
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
        },
      };
    },
  ],
];

const majors = [
  ["Express 5", express5],
  ["Express 4", express4],
] as const;

type App = Parameters<typeof request>[0];
const me = (app: App, cookie: string) => request(app).get("/api/me").set("Cookie", cookie);
const legacyOnly = (jar: CookieJar) => `connect.sid=${jar.get("connect.sid")}`;

for (const [kind, make] of kinds) {
  for (const [major, ex] of majors) {
    describe(`dualSession with ${kind} on ${major}`, () => {
      async function withFixture(body: (f: Fixture) => Promise<void>): Promise<void> {
        initSuperTokens(await createCoreApp(core.url));
        const fixture = await make();
        try {
          await body(fixture);
        } finally {
          await fixture.close();
        }
      }

      it("migrates on the first request and retires the legacy session on proof", () =>
        withFixture(async ({ store, calls, raw }) => {
          const jar = await legacyLogin(store, "store-user-1");
          const sid = sidOf(jar);
          const { app } = fullApp({ store, secret: SECRET }, { express: ex });
          const first = await me(app, jar.header("/api/me"));
          assert.equal(first.status, 200);
          assert.equal(first.body.userId, "store-user-1");
          assert.ok(await raw(sid), "kept until proof");
          jar.update(first);
          const proof = await me(app, jar.header("/api/me"));
          assert.equal(proof.status, 200);
          jar.update(proof);
          assert.equal(jar.get("connect.sid"), undefined, "legacy cookie cleared");
          await waitFor(async () => (await raw(sid)) === undefined, 3000, "legacy session destroyed");
          const gets = calls.get;
          const later = await me(app, jar.header("/api/me"));
          assert.equal(later.status, 200);
          assert.equal(later.body.handle, first.body.handle);
          assert.equal(calls.get, gets);
          assert.equal(calls.destroy, 1);
          assert.deepEqual(await sessionsOf("store-user-1"), [first.body.handle]);
        }));

      it("accepts a cookie signed with a rotated-out secret still in the list, and reads passport's layout", () =>
        withFixture(async ({ store }) => {
          const jar = await legacyLogin(store, "store-passport-1", { secret: "old-secret", layout: "passport" });
          const { app } = fullApp({ store, secret: ["new-secret", "old-secret"] }, { express: ex });
          const res = await me(app, jar.header("/api/me"));
          assert.equal(res.status, 200);
          assert.equal(res.body.userId, "store-passport-1");
        }));

      it("answers 401 to a replay after retirement and mints nothing", () =>
        withFixture(async ({ store, raw }) => {
          const jar = await legacyLogin(store, "store-replay-1");
          const sid = sidOf(jar);
          const events: MigrationEvent[] = [];
          const { app } = fullApp(
            { store, secret: SECRET, graceMs: 200, onMigration: (e) => events.push(e) },
            { express: ex },
          );
          const first = await me(app, jar.header("/api/me"));
          assert.equal(first.status, 200);
          await waitFor(() => events.some((e) => e.type === "retired"), 3000, "grace retirement");
          assert.equal(await raw(sid), undefined);
          const replays = await Promise.all(Array.from({ length: 5 }, () => me(app, legacyOnly(jar))));
          assert.deepEqual(
            replays.map((r) => r.status),
            [401, 401, 401, 401, 401],
          );
          assert.deepEqual(await sessionsOf("store-replay-1"), [first.body.handle]);
        }));

      it("does not look up a cookie whose signature does not verify", () =>
        withFixture(async ({ store, calls }) => {
          const jar = await legacyLogin(store, "store-forged-1");
          const { app } = fullApp({ store, secret: SECRET }, { express: ex });
          const forged = decodeURIComponent(jar.get("connect.sid")!).slice(0, -2) + "xx";
          const res = await me(app, `connect.sid=${encodeURIComponent(forged)}`);
          assert.equal(res.status, 401);
          assert.equal(calls.get, 0);
          assert.deepEqual(await sessionsOf("store-forged-1"), []);
        }));

      it("leaves an anonymous session byte-identical and sets no cookie", () =>
        withFixture(async ({ store, raw }) => {
          const jar = await legacyLogin(store, "ignored", { layout: "anonymous" });
          const sid = sidOf(jar);
          const before = await raw(sid);
          assert.ok(before);
          const { app } = fullApp({ store, secret: SECRET, sessionRequired: false }, { express: ex });
          const res = await request(app).get("/api/optional").set("Cookie", legacyOnly(jar));
          assert.equal(res.status, 200);
          assert.deepEqual(res.body, { session: null });
          assert.deepEqual(setCookies(res), []);
          assert.equal(await raw(sid), before);
        }));

      it("treats a stored session whose cookie has expired as absent, and leaves the record alone", () =>
        withFixture(async ({ store, raw, writeRaw }) => {
          const jar = await legacyLogin(store, "store-expired-1");
          const sid = sidOf(jar);
          const record = JSON.parse((await raw(sid))!.split("|")[0]);
          record.cookie.expires = new Date(Date.now() - 1000).toISOString();
          await writeRaw(sid, JSON.stringify(record));
          const before = await raw(sid);
          const { app } = fullApp({ store, secret: SECRET }, { express: ex });
          const res = await me(app, legacyOnly(jar));
          assert.equal(res.status, 401);
          assert.deepEqual(await sessionsOf("store-expired-1"), []);
          // MemoryStore drops expired sessions itself on get; the others keep the row for their own pruning.
          if (kind !== "MemoryStore") assert.equal(await raw(sid), before);
        }));

      it("keeps express-session (mounted before it) reading and writing the legacy session until retirement", () =>
        withFixture(async ({ store, raw }) => {
          const jar = await legacyLogin(store, "store-coexist-1");
          const sid = sidOf(jar);
          const { app } = fullApp(
            { store, secret: SECRET },
            { express: ex, expressSession: { where: "before", store } },
          );
          const first = await request(app)
            .post("/api/legacy-note?note=kept")
            .set("Cookie", jar.header("/api/legacy-note"))
            .set("Origin", appInfo.websiteDomain);
          assert.equal(first.status, 200);
          assert.deepEqual(first.body, { userId: "store-coexist-1", wrote: true });
          jar.update(first);
          const cart = await request(app).post("/legacy/cart?item=lamp").set("Cookie", jar.header("/legacy/cart"));
          assert.equal(cart.status, 200);
          const stored = JSON.parse((await raw(sid))!.split("|")[0]);
          assert.equal(stored.note, "kept");
          assert.deepEqual(stored.cart, ["lamp"]);
          const proof = await me(app, jar.header("/api/me"));
          assert.equal(proof.status, 200);
          await waitFor(async () => (await raw(sid)) === undefined, 3000, "legacy session destroyed");
        }));
    });
  }
}
