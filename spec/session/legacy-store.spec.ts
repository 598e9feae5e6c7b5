import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { promisify } from "node:util";
import { EventEmitter } from "node:events";
import express from "express";
import request from "supertest";
import { createClient } from "redis";
import pg from "pg";
import { createLegacyStore, type LegacyStoreLike } from "../../lib/session/legacy-store.js";
import { readLegacySid } from "../../lib/session/legacy-cookie.js";
import { closedPort, requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";
import { PgStore, RedisStore, session, type LegacyRequest, type SessionStore } from "../helpers/legacy-session.js";

const HOUR = 3600_000;

function sessionData(
  extra: Record<string, unknown>,
  expires: Date | null = new Date(Date.now() + HOUR),
): Record<string, unknown> {
  return {
    cookie: {
      originalMaxAge: expires ? HOUR : null,
      expires: expires?.toISOString() ?? null,
      httpOnly: true,
      path: "/",
    },
    ...extra,
  };
}

/** One real store, isolated for one test, plus a way to write raw records that bypass the store's own checks. */
interface StoreFixture {
  store: SessionStore;
  /** Saves through the store's own `set`. */
  save(sid: string, data: Record<string, unknown>): Promise<void>;
  /** Writes the record directly, as a lagging TTL or a stale row would leave it. */
  saveRaw(sid: string, data: Record<string, unknown>): Promise<void>;
  /** Writes a record that is not JSON, where the store allows it (PostgreSQL's json column does not). */
  saveCorrupt?(sid: string): Promise<void>;
  close(): Promise<void>;
}

const kinds: Array<[string, () => Promise<StoreFixture>]> = [
  [
    "MemoryStore",
    async () => {
      const store = new session.MemoryStore();
      const set = promisify(store.set.bind(store)) as (sid: string, data: unknown) => Promise<void>;
      return {
        store,
        save: (sid, data) => set(sid, data),
        async saveRaw(sid, data) {
          store.sessions[sid] = JSON.stringify(data);
        },
        async saveCorrupt(sid) {
          store.sessions[sid] = "{not json";
        },
        async close() {},
      };
    },
  ],
  [
    "connect-redis 9 on Redis",
    async () => {
      const client = createClient({ url: requireEnv("REDIS_URL") });
      await client.connect();
      const prefix = `stm-test:legacy-store:${uniqueId()}:`;
      const store = new RedisStore({ client, prefix });
      return {
        store,
        save: async (sid, data) => void (await store.set(sid, data)),
        async saveRaw(sid, data) {
          await client.set(prefix + sid, JSON.stringify(data));
        },
        async saveCorrupt(sid) {
          await client.set(prefix + sid, "{not json");
        },
        async close() {
          await store.clear();
          client.destroy();
        },
      };
    },
  ],
  [
    "connect-pg-simple on PostgreSQL",
    async () => {
      const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
      // A schema per test: connect-pg-simple's table.sql uses fixed constraint and index names
      // ("session_pkey", "IDX_session_expire"), so two tables in one schema cannot both be created.
      const schema = `stm_test_${uniqueId()}`;
      await pool.query(`CREATE SCHEMA "${schema}"`);
      const store = new PgStore({
        pool,
        schemaName: schema,
        tableName: "session",
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
      const set = promisify(store.set.bind(store)) as (sid: string, data: unknown) => Promise<void>;
      return {
        store,
        save: (sid, data) => set(sid, data),
        async saveRaw(sid, data) {
          await set("table-bootstrap", sessionData({}));
          // The row's own expiry is far away, as with a misconfigured `ttl`; only the cookie says it is dead.
          await pool.query(
            `INSERT INTO "${schema}"."session" (sid, sess, expire) VALUES ($1, $2, now() + interval '1 day')`,
            [sid, JSON.stringify(data)],
          );
        },
        async close() {
          await store.close();
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
          await pool.end();
        },
      };
    },
  ],
];

async function withFixture(make: () => Promise<StoreFixture>, body: (f: StoreFixture) => Promise<void>): Promise<void> {
  const fixture = await make();
  try {
    await body(fixture);
  } finally {
    await fixture.close();
  }
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<unknown> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    assert.equal((err as { code?: unknown }).code, code);
    assert.equal((err as { status?: unknown }).status, 503);
    return true;
  });
  return caught;
}

describe("createLegacyStore", () => {
  for (const [kind, make] of kinds) {
    describe(`with ${kind}`, () => {
      it("returns the session a real express-session login saved", () =>
        withFixture(make, async ({ store }) => {
          const app = express();
          app.use(session({ secret: "legacy-secret", store, resave: false, saveUninitialized: false }));
          app.post("/login", (req, res) => {
            (req as unknown as LegacyRequest).session.passport = { user: 42 };
            res.sendStatus(204);
          });
          const res = await request(app).post("/login").expect(204);
          const pair = ([] as string[]).concat(res.headers["set-cookie"] ?? [])[0].split(";")[0];
          const cookie = readLegacySid(pair, "connect.sid", ["legacy-secret"]);
          assert.equal(cookie.status, "OK");

          const legacy = createLegacyStore(store, { timeoutMs: 2000 });
          const data = await legacy.get(cookie.status === "OK" ? cookie.sid : "");
          assert.ok(data);
          assert.deepEqual(data.passport, { user: 42 });
          assert.ok(data.cookie);
        }));

      it("returns undefined for a sid the store does not have", () =>
        withFixture(make, async ({ store }) => {
          assert.equal(await createLegacyStore(store, { timeoutMs: 2000 }).get(`missing-${uniqueId()}`), undefined);
        }));

      it("returns a session whose cookie has no expiry (browser-session cookie)", () =>
        withFixture(make, async ({ store, save }) => {
          await save("no-expiry", sessionData({ userId: "7" }, null));
          const data = await createLegacyStore(store, { timeoutMs: 2000 }).get("no-expiry");
          assert.equal(data?.userId, "7");
        }));

      it("destroys a session, and treats destroying a missing one as success", () =>
        withFixture(make, async ({ store, save }) => {
          const legacy = createLegacyStore(store, { timeoutMs: 2000 });
          await save("to-destroy", sessionData({ userId: "7" }));
          assert.ok(await legacy.get("to-destroy"));
          await legacy.destroy("to-destroy");
          assert.equal(await legacy.get("to-destroy"), undefined);
          await legacy.destroy("to-destroy");
        }));

      describe("when the stored session has expired but the store still returns it", () => {
        it("returns undefined", () =>
          withFixture(make, async ({ store, saveRaw }) => {
            await saveRaw("expired", sessionData({ userId: "7" }, new Date(Date.now() - 1000)));
            await saveRaw("live", sessionData({ userId: "8" }));
            const legacy = createLegacyStore(store, { timeoutMs: 2000 });
            assert.equal(await legacy.get("expired"), undefined);
            assert.equal((await legacy.get("live"))?.userId, "8");
          }));
      });

      describe("when the stored record is not an express-session session", () => {
        it("returns undefined for a record without a cookie field", () =>
          withFixture(make, async ({ store, saveRaw }) => {
            await saveRaw("no-cookie", { userId: "7" });
            await saveRaw("bad-expiry", { userId: "7", cookie: { expires: "not a date" } });
            const legacy = createLegacyStore(store, { timeoutMs: 2000 });
            assert.equal(await legacy.get("no-cookie"), undefined);
            assert.equal(await legacy.get("bad-expiry"), undefined);
          }));

        it("returns undefined for a record that is not JSON, where the store can hold one", () =>
          withFixture(make, async ({ store, saveCorrupt }) => {
            if (saveCorrupt === undefined) return assert.equal(kind, "connect-pg-simple on PostgreSQL");
            await saveCorrupt("corrupt");
            assert.equal(await createLegacyStore(store, { timeoutMs: 2000 }).get("corrupt"), undefined);
          }));
      });
    });
  }

  describe("when Redis is unreachable", () => {
    it("fails with ERR_MIGRATE_STORE_UNAVAILABLE on a closed client", async () => {
      const client = createClient({ url: requireEnv("REDIS_URL") });
      await client.connect();
      client.destroy();
      const legacy = createLegacyStore(new RedisStore({ client }), { timeoutMs: 1000 });
      await rejectsWithCode(legacy.get("any"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      await rejectsWithCode(legacy.destroy("any"), "ERR_MIGRATE_STORE_UNAVAILABLE");
    });

    it("fails with ERR_MIGRATE_TIMEOUT within the deadline when Redis never answers", async () => {
      const silent = await startSilentServer();
      const client = createClient({ url: `redis://127.0.0.1:${silent.port}` });
      client.on("error", () => {});
      // connect() itself hangs (node-redis waits for CLIENT SETINFO replies); commands queue behind it.
      client.connect().catch(() => {});
      try {
        const legacy = createLegacyStore(new RedisStore({ client }), { timeoutMs: 100 });
        const started = Date.now();
        await rejectsWithCode(legacy.get("any"), "ERR_MIGRATE_TIMEOUT");
        assert.ok(Date.now() - started < 1000);
      } finally {
        client.destroy();
        await silent.close();
      }
    });
  });

  describe("when PostgreSQL is unreachable", () => {
    it("fails with ERR_MIGRATE_STORE_UNAVAILABLE when the connection is refused", async () => {
      const pool = new pg.Pool({ host: "127.0.0.1", port: await closedPort(), user: "x", database: "x" });
      pool.on("error", () => {});
      const store = new PgStore({ pool, pruneSessionInterval: false, errorLog: () => {} });
      try {
        const legacy = createLegacyStore(store, { timeoutMs: 2000 });
        await rejectsWithCode(legacy.get("any"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      } finally {
        await pool.end();
      }
    });

    it("fails with ERR_MIGRATE_TIMEOUT within the deadline when PostgreSQL never answers", async () => {
      const silent = await startSilentServer();
      const pool = new pg.Pool({ host: "127.0.0.1", port: silent.port, user: "x", database: "x" });
      pool.on("error", () => {});
      const store = new PgStore({ pool, pruneSessionInterval: false, errorLog: () => {} });
      try {
        const legacy = createLegacyStore(store, { timeoutMs: 100 });
        const started = Date.now();
        await rejectsWithCode(legacy.get("any"), "ERR_MIGRATE_TIMEOUT");
        assert.ok(Date.now() - started < 1000);
      } finally {
        await silent.close();
        await pool.end().catch(() => {});
      }
    });
  });

  describe("with hand-made faulty stores", () => {
    const live = sessionData({ userId: "7" });

    it("times out quickly when get and destroy never call back", async () => {
      const store: LegacyStoreLike = { get() {}, destroy() {} };
      const legacy = createLegacyStore(store, { timeoutMs: 50 });
      const started = Date.now();
      await rejectsWithCode(legacy.get("a"), "ERR_MIGRATE_TIMEOUT");
      await rejectsWithCode(legacy.destroy("a"), "ERR_MIGRATE_TIMEOUT");
      assert.ok(Date.now() - started < 500);
    });

    it("reports a callback error as ERR_MIGRATE_STORE_UNAVAILABLE with the cause attached", async () => {
      const boom = new Error("connection reset");
      const store: LegacyStoreLike = {
        get: (_sid, cb) => setImmediate(cb, boom),
        destroy: (_sid, cb) => setImmediate(() => cb?.(boom)),
      };
      const legacy = createLegacyStore(store, { timeoutMs: 1000 });
      const err = await rejectsWithCode(legacy.get("sid-that-must-not-leak"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      assert.equal((err as Error).cause, boom);
      assert.ok(!(err as Error).message.includes("sid-that-must-not-leak"));
      await rejectsWithCode(legacy.destroy("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
    });

    it("reports a synchronous throw and a rejected promise as ERR_MIGRATE_STORE_UNAVAILABLE", async () => {
      const throwing: LegacyStoreLike = {
        get() {
          throw new Error("sync");
        },
        destroy() {
          throw new Error("sync");
        },
      };
      await rejectsWithCode(createLegacyStore(throwing, { timeoutMs: 1000 }).get("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      const rejecting: LegacyStoreLike = {
        get: () => Promise.reject(new Error("async")),
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a store rejecting with no reason
        destroy: () => Promise.reject(undefined),
      };
      const legacy = createLegacyStore(rejecting, { timeoutMs: 1000 });
      await rejectsWithCode(legacy.get("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      await rejectsWithCode(legacy.destroy("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
    });

    it("settles once when a store calls back twice and also rejects its promise (connect-redis pattern)", async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      try {
        let calls = 0;
        const store: LegacyStoreLike = {
          async get(_sid, cb) {
            calls++;
            cb(null, live);
            cb(new Error("second call"));
            throw new Error("and a rejection");
          },
          async destroy(_sid, cb) {
            cb?.(new Error("first"));
            cb?.(null);
            throw new Error("rejection");
          },
        };
        const legacy = createLegacyStore(store, { timeoutMs: 1000 });
        assert.equal((await legacy.get("a"))?.userId, "7");
        await rejectsWithCode(legacy.destroy("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(calls, 1);
        assert.deepEqual(unhandled, []);
      } finally {
        process.off("unhandledRejection", onUnhandled);
      }
    });

    it("ignores a late answer after the deadline", async () => {
      let late: ((err: unknown, value?: unknown) => void) | undefined;
      const store: LegacyStoreLike = { get: (_sid, cb) => void (late = cb), destroy: () => {} };
      const legacy = createLegacyStore(store, { timeoutMs: 20 });
      await rejectsWithCode(legacy.get("a"), "ERR_MIGRATE_TIMEOUT");
      late?.(new Error("too late"));
      late?.(null, live);
    });

    it("treats an ENOENT error as no session, as express-session does", async () => {
      const enoent = Object.assign(new Error("no such file"), { code: "ENOENT" });
      const store: LegacyStoreLike = { get: (_sid, cb) => cb(enoent), destroy: (_sid, cb) => cb?.(enoent) };
      const legacy = createLegacyStore(store, { timeoutMs: 1000 });
      assert.equal(await legacy.get("a"), undefined);
      await legacy.destroy("a");
    });

    it("treats a null, a string, an array, or an expired Date as no session", async () => {
      const answers: unknown[] = [
        null,
        undefined,
        "a string",
        [live],
        { cookie: { expires: new Date(Date.now() - 1) } },
        { cookie: null },
      ];
      for (const answer of answers) {
        const store: LegacyStoreLike = { get: (_sid, cb) => cb(null, answer), destroy: () => {} };
        assert.equal(await createLegacyStore(store, { timeoutMs: 1000 }).get("a"), undefined, String(answer));
      }
      const fresh = { cookie: { expires: new Date(Date.now() + HOUR) }, userId: "9" };
      const store: LegacyStoreLike = { get: (_sid, cb) => cb(null, fresh), destroy: () => {} };
      assert.equal((await createLegacyStore(store, { timeoutMs: 1000 }).get("a"))?.userId, "9");
    });

    it("fails fast while the store reports itself disconnected, and recovers on connect", async () => {
      let gets = 0;
      const emitter = new EventEmitter();
      const store = Object.assign(emitter, {
        get: (_sid: string, cb: (err: unknown, value?: unknown) => void) => {
          gets++;
          cb(null, live);
        },
        destroy: (_sid: string, cb?: (err?: unknown) => void) => cb?.(),
      });
      const legacy = createLegacyStore(store, { timeoutMs: 1000 });
      emitter.emit("disconnect");
      await rejectsWithCode(legacy.get("a"), "ERR_MIGRATE_STORE_UNAVAILABLE");
      assert.equal(gets, 0);
      emitter.emit("connect");
      assert.equal((await legacy.get("a"))?.userId, "7");
      assert.equal(gets, 1);
    });

    it(
      "refuses a non-store (ERR_MIGRATE_STORE_REQUIRED) or a bad timeout (ERR_MIGRATE_INVALID_OPTION) at " + "creation",
      () => {
        const store: LegacyStoreLike = { get: () => {}, destroy: () => {} };
        assert.throws(() => createLegacyStore({} as LegacyStoreLike, { timeoutMs: 10 }), {
          code: "ERR_MIGRATE_STORE_REQUIRED",
        });
        for (const make of [
          () => createLegacyStore(store, { timeoutMs: 0 }),
          () => createLegacyStore(store, { timeoutMs: Number.NaN }),
          () => createLegacyStore(store, {} as { timeoutMs: number }),
        ]) {
          assert.throws(make, (err: unknown) => (err as { code?: string }).code === "ERR_MIGRATE_INVALID_OPTION");
        }
      },
    );
  });
});
