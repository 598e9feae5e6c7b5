/**
 * migrationStatus() against real stores: connect-redis and connect-pg-simple filled through their own set(), a
 * PostgreSQL users table moved in part by the real import into the dev core, and the real Redis coordinator.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { promisify } from "node:util";
import pg from "pg";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createRedisMigrationCoordinator } from "../../lib/session/coordinator.js";
import { createPostgresMigrationCoordinator } from "../../lib/session/coordinators/postgres.js";
import { migrationStatus, type MigrationStatus } from "../../lib/status/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { closedPort, requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";
import {
  DAY,
  deleteKeys,
  importSome,
  lastStandardExpiry,
  payload,
  pgStore,
  redisClient,
  redisStore,
  saver,
  signUpInCore,
  standardSessions,
  usersTable,
  type Redis,
} from "./fixtures.js";

let core: DevCore;
let redis: Redis;
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 4 });
const prefixes: string[] = [];
const schemas: string[] = [];

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  redis = await redisClient();
});
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  redis.destroy();
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
  await core.close();
});

/** Within a few seconds: the store's TTL was set a moment before the status read it. */
function assertNear(actual: string | null, expected: number, what: string) {
  assert.ok(actual !== null, `${what} is set`);
  assert.ok(
    Math.abs(Date.parse(actual) - expected) < 5000,
    `${what}: ${actual} vs ${new Date(expected).toISOString()}`,
  );
}

function assertStandardSessions(status: MigrationStatus, now: number) {
  const s = status.sessions!;
  assert.equal(s.loggedIn, 5);
  assert.equal(s.anonymous, 1);
  assert.deepEqual(s.byAge, {
    "under-1h": 1,
    "1h-1d": 0,
    "1d-7d": 1,
    "7d-30d": 1,
    "over-30d": 1,
    unknown: 1,
  });
  assertNear(s.lastExpiresAt, lastStandardExpiry(now), "lastExpiresAt");
  assert.equal(s.withoutExpiry, 0);
  assert.equal(s.canRetire, false);
  assert.match(s.nextStep, /^5 signed-in legacy sessions left; the last expires in 30 days \(/);
  assert.equal(status.done, false);
}

describe("migrationStatus", () => {
  describe("the legacy sessions in connect-redis", () => {
    it(
      "counts signed-in sessions by age across pages, ignores anonymous and unreadable ones, and says when the " +
        "last expires",
      async () => {
        const { store, prefix } = redisStore(redis);
        prefixes.push(prefix);
        const now = Date.now();
        const save = saver(store);
        for (const [sid, data] of standardSessions(now)) await save(sid, data);
        await redis.set(`${prefix}garbage`, "{not json");

        // pageSize 2: SCAN needs several rounds, and the tally must not depend on how keys fall into pages.
        const status = await migrationStatus({ sessions: { redis, prefix }, pageSize: 2 });
        assertStandardSessions(status, now);
        assert.equal(status.sessions!.store, "redis");
        assert.equal(status.sessions!.unreadable, 1);
        assert.equal(status.sessions!.expired, 0);

        // Once every signed-in session is gone (migrated and retired, or expired), dualSession() can go.
        for (const [sid] of standardSessions(now)) if (sid !== "anonymous") await promisifyDestroy(store, sid);
        const after = await migrationStatus({ sessions: { redis, prefix } });
        assert.equal(after.sessions!.loggedIn, 0);
        assert.equal(after.sessions!.lastExpiresAt, null);
        assert.equal(after.sessions!.canRetire, true);
        assert.match(after.sessions!.nextStep, /remove dualSession\(\) and express-session/);
        assert.equal(after.done, true);
      },
    );

    it("says so when a signed-in session never expires (no TTL and no cookie date)", async () => {
      const { store, prefix } = redisStore(redis);
      prefixes.push(prefix);
      await saver(store)("dated", payload({ userId: 1 }, DAY, 30 * DAY));
      // What a store with `disableTTL` (or a hand-written key) leaves: no TTL, and a browser-session cookie.
      await redis.set(`${prefix}forever`, JSON.stringify(payload({ userId: 2 }, 0, null)));
      const status = await migrationStatus({ sessions: { redis, prefix } });
      assert.equal(status.sessions!.loggedIn, 2);
      assert.equal(status.sessions!.withoutExpiry, 1);
      assert.equal(status.sessions!.lastExpiresAt, null);
      assert.match(status.sessions!.nextStep, /^2 signed-in legacy sessions left; 1 never expire/);
    });

    it("reads an app's own userId rule, as given to dualSession()", async () => {
      const { store, prefix } = redisStore(redis);
      prefixes.push(prefix);
      await saver(store)("a", payload({ account: { uid: "u-1" } }, DAY, 30 * DAY));
      const byDefault = await migrationStatus({ sessions: { redis, prefix } });
      assert.equal(byDefault.sessions!.loggedIn, 0);
      const own = await migrationStatus({
        sessions: { redis, prefix },
        userId: (data) => (data.account as { uid?: string } | undefined)?.uid,
      });
      assert.equal(own.sessions!.loggedIn, 1);
    });
  });

  describe("the legacy sessions in connect-pg-simple", () => {
    it("counts the same way, and rows past their expiry that pruning has not removed yet as expired", async () => {
      const { store, schema } = await pgStore(pool);
      schemas.push(schema);
      const now = Date.now();
      const save = saver(store);
      for (const [sid, data] of standardSessions(now)) await save(sid, data);
      // connect-pg-simple writes a session whose cookie has expired with an expiry in the past; its pruning
      // (off here, as on many installs) would delete it later.
      await save("expired", payload({ passport: { user: 9 } }, 31 * DAY, 30 * DAY, now));

      const status = await migrationStatus({ sessions: { pool, schemaName: schema }, pageSize: 3 });
      assertStandardSessions(status, now);
      assert.equal(status.sessions!.store, "postgres");
      assert.equal(status.sessions!.expired, 1);
      // The browser-session cookie has no date: connect-pg-simple gives the row its default TTL (one day).
      const row = await pool.query(`SELECT expire FROM "${schema}".session WHERE sid = 'browser-cookie'`);
      assert.ok(row.rows.length === 1);
    });

    it("answers a wrong table name with a ConfigError naming the option", async () => {
      await assert.rejects(
        migrationStatus({ sessions: { pool, tableName: `missing_${uniqueId()}` } }),
        (err: { code?: string; message?: string }) =>
          err.code === "ERR_MIGRATE_INVALID_OPTION" && /tableName/.test(err.message ?? ""),
      );
    });
  });

  describe("the users table and the core", () => {
    it("counts moved and legacy-only users, and which of those the core cannot take with their hash", async () => {
      const uri = await createCoreApp(core.url);
      const users = await usersTable(pool);
      schemas.push(users.schema);
      await importSome(users, "id in (101, 102)", uri);
      await signUpInCore(uri, `fresh-${uniqueId()}@example.com`);

      const status = await migrationStatus({
        users: { pool, query: `${users.query};` },
        core: { connectionURI: uri },
      });
      const u = status.users!;
      assert.equal(u.total, 9);
      assert.equal(u.moved, 2);
      assert.equal(u.legacyOnly, 7);
      assert.deepEqual(u.legacyOnlyByHash, {
        importable: 4,
        "verify-only": 1,
        unrecognised: 1,
        malformed: 0,
        "missing-hash": 1,
      });
      assert.equal(u.superTokensUsers, 3);
      assert.equal(u.interrupted, 0);
      assert.equal(u.canRetire, false);
      assert.equal(
        u.nextStep,
        "4 users can move now with their hash: run supertokens-migrate finish. 3 users can only move by sign-in or " +
          "reset (1 without a hash: reset only): keep legacyAuth(), or send them a reset with sendResetToStragglers().",
      );

      // A move that stopped halfway leaves a user under a placeholder address: the users part cannot be retired.
      await signUpInCore(uri, `${uniqueId()}@pending.supertokens-migrate.invalid`);
      const halfway = await migrationStatus({ users: { pool, query: users.query }, core: { connectionURI: uri } });
      assert.equal(halfway.users!.interrupted, 1);
      assert.match(halfway.users!.nextStep, /^1 move was interrupted: call legacyAuth's finishPendingMigrations\(\)/);

      // Without the core: the table alone, no verdict.
      const tableOnly = await migrationStatus({ users: { pool, query: users.query } });
      assert.equal(tableOnly.users!.moved, null);
      assert.equal(tableOnly.users!.legacyOnlyByHash.importable, 6);
      assert.equal(tableOnly.users!.canRetire, null);
      assert.equal(tableOnly.done, false);
    });

    it("stays page-bounded on a big table with text ids, and matches moved users by the column's type", async () => {
      const uri = await createCoreApp(core.url);
      const schema = `stm_status_big_${uniqueId()}`;
      schemas.push(schema);
      await pool.query(`CREATE SCHEMA ${schema}`);
      await pool.query(`CREATE TABLE ${schema}.accounts (user_id text PRIMARY KEY, mail text, pw text)`);
      // 5,000 rows: three cursor pages. Hashes the core takes, but malformed ones for every 10th row.
      await pool.query(
        `INSERT INTO ${schema}.accounts SELECT 'u-' || g, 'u' || g || '@example.com', ` +
          `CASE WHEN g % 10 = 0 THEN '$2b$10$short' ELSE '$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g' END ` +
          `FROM generate_series(1, 5000) g`,
      );
      const query = `select user_id, mail, pw from ${schema}.accounts`;
      await importSome(
        { schema, table: `${schema}.accounts`, query, rows: [] },
        "user_id in ('u-1', 'u-2', 'u-3')",
        uri,
        "id=user_id,email=mail,passwordHash=pw",
      );
      const status = await migrationStatus({
        users: { pool, query, columns: { id: "user_id", passwordHash: "pw" } },
        core: { connectionURI: uri },
      });
      assert.equal(status.users!.total, 5000);
      assert.equal(status.users!.moved, 3);
      assert.equal(status.users!.legacyOnlyByHash.importable, 4497);
      assert.equal(status.users!.legacyOnlyByHash.malformed, 500);
    });

    it("can be retired once every legacy user is in SuperTokens", async () => {
      const uri = await createCoreApp(core.url);
      const users = await usersTable(pool);
      schemas.push(users.schema);
      await importSome(users, "id between 101 and 106", uri);
      const status = await migrationStatus({
        users: { pool, query: `select * from ${users.table} where id between 101 and 106` },
        core: { connectionURI: uri },
      });
      assert.equal(status.users!.moved, 6);
      assert.equal(status.users!.legacyOnly, 0);
      assert.equal(status.users!.canRetire, true);
      assert.match(status.users!.nextStep, /^Every legacy user is in SuperTokens: legacyAuth\(\) has nothing left/);
      assert.equal(status.done, true);
    });

    it("runs the users query read-only: a query that would write fails and writes nothing", async () => {
      const users = await usersTable(pool);
      schemas.push(users.schema);
      await pool.query(`CREATE TABLE ${users.schema}.written (n int)`);
      await pool.query(
        `CREATE FUNCTION ${users.schema}.side_effect() RETURNS int LANGUAGE sql AS ` +
          `'INSERT INTO ${users.schema}.written VALUES (1) RETURNING n'`,
      );
      await assert.rejects(
        migrationStatus({ users: { pool, query: `select *, ${users.schema}.side_effect() from ${users.table}` } }),
        (err: { code?: string; message?: string }) =>
          err.code === "ERR_MIGRATE_INVALID_OPTION" && /read-only transaction/.test(err.message ?? ""),
      );
      const written = await pool.query(`SELECT count(*)::int AS n FROM ${users.schema}.written`);
      assert.equal(written.rows[0].n, 0);
      // The connection went back to the pool usable (or was replaced): the pool still answers.
      assert.equal((await pool.query("SELECT 1 AS one")).rows[0].one, 1);
    });

    it("names the missing column and the columns found, as the import does", async () => {
      await assert.rejects(
        migrationStatus({ users: { pool, query: "select 1 as id, 'a@b.c' as email" } }),
        (err: { code?: string; message?: string }) =>
          err.code === "ERR_MIGRATE_MISSING_COLUMN" &&
          /--map passwordHash=<column>/.test(err.message ?? "") &&
          /Columns found: id, email/.test(err.message ?? ""),
      );
    });
  });

  describe("the Redis coordinator", () => {
    it("reads the real coordinator's markers; it goes with dualSession() once nothing is in flight", async () => {
      const prefix = `stm-test:status:${uniqueId()}:stm:`;
      prefixes.push(prefix);
      const coordinator = createRedisMigrationCoordinator(redis, { prefix });
      const first = await coordinator.claim("sid-one");
      assert.equal(first.status, "WON");
      if (first.status === "WON") assert.equal(await first.claim.publish("{}", 60_000), true);
      const second = await coordinator.claim("sid-two");
      assert.equal(second.status, "WON");

      const { prefix: sessionPrefix } = redisStore(redis);
      const busy = await migrationStatus({
        sessions: { redis, prefix: sessionPrefix },
        coordinator: { redis, prefix },
      });
      assert.deepEqual(
        { ...busy.coordinator, lastMarkerExpiresAt: undefined, nextStep: undefined },
        {
          migrated: 1,
          inFlight: 1,
          reusable: 1,
          lastMarkerExpiresAt: undefined,
          canRetire: false,
          nextStep: undefined,
        },
      );
      assertNear(busy.coordinator!.lastMarkerExpiresAt, Date.now() + 30 * DAY, "marker expiry");

      if (second.status === "WON") await second.claim.release();
      await coordinator.endReuse!("sid-one", 0);
      const idle = await migrationStatus({
        sessions: { redis, prefix: sessionPrefix },
        coordinator: { redis, prefix },
      });
      assert.equal(idle.coordinator!.canRetire, true);
      assert.equal(
        idle.coordinator!.nextStep,
        `Remove the coordinator together with dualSession(); then delete the keys matching ${prefix}* (1 migrated ` +
          `markers) or let them expire (the last on ${idle.coordinator!.lastMarkerExpiresAt}).`,
      );
      assert.equal(idle.done, true);

      // Without the sessions, nothing says whether dualSession() still needs it.
      const alone = await migrationStatus({ coordinator: { redis, prefix } });
      assert.equal(alone.coordinator!.canRetire, null);
      assert.equal(alone.done, false);
    });
  });

  describe("the PostgreSQL coordinator", () => {
    it("counts the real coordinator's rows with one aggregate, by the database's clock", async () => {
      const schema = `stm_status_coord_${uniqueId()}`;
      schemas.push(schema);
      const coordinator = createPostgresMigrationCoordinator(pool, { schema, table: "claims" });
      try {
        const first = await coordinator.claim("sid-one");
        if (first.status === "WON") assert.equal(await first.claim.publish("{}", 60_000), true);
        const second = await coordinator.claim("sid-two");
        assert.equal(second.status, "WON");
        const { prefix: sessionPrefix } = redisStore(redis);
        const read = () =>
          migrationStatus({
            sessions: { redis, prefix: sessionPrefix },
            coordinator: { pool, schema, table: "claims" },
          });
        const busy = await read();
        assert.equal(busy.coordinator!.migrated, 1);
        assert.equal(busy.coordinator!.inFlight, 1);
        assert.equal(busy.coordinator!.reusable, 1);
        assert.equal(busy.coordinator!.canRetire, false);
        assertNear(busy.coordinator!.lastMarkerExpiresAt, Date.now() + 30 * DAY, "marker expiry");

        if (second.status === "WON") await second.claim.release();
        await coordinator.endReuse!("sid-one", 0);
        const idle = await read();
        assert.equal(idle.coordinator!.canRetire, true);
        assert.match(idle.coordinator!.nextStep, new RegExp(`delete the rows of "${schema}"\\."claims" \\(1 migrated`));
      } finally {
        coordinator.close();
      }
    });
  });

  describe("when a store or the core is down", () => {
    it("answers a silent PostgreSQL with ERR_MIGRATE_TIMEOUT within the deadline", async () => {
      const silent = await startSilentServer();
      const dead = new pg.Pool({ connectionString: `postgresql://app@127.0.0.1:${silent.port}/app` });
      dead.on("error", () => {});
      const started = Date.now();
      await assert.rejects(
        migrationStatus({ sessions: { pool: dead }, timeoutMs: 300 }),
        (err: { code?: string; status?: number }) => err.code === "ERR_MIGRATE_TIMEOUT" && err.status === 503,
      );
      assert.ok(Date.now() - started < 5000);
      await silent.close();
      await dead.end().catch(() => {});
    });

    it("answers an unreachable core with ERR_MIGRATE_CORE_UNAVAILABLE (503)", async () => {
      const users = await usersTable(pool);
      schemas.push(users.schema);
      await assert.rejects(
        migrationStatus({
          users: { pool, query: users.query },
          core: { connectionURI: `http://127.0.0.1:${await closedPort()}` },
        }),
        (err: { code?: string; status?: number }) => err.code === "ERR_MIGRATE_CORE_UNAVAILABLE" && err.status === 503,
      );
    });
  });

  describe("options", () => {
    const cases: [string, unknown, string, RegExp][] = [
      ["an unknown key", { sesions: {} }, "ERR_MIGRATE_UNKNOWN_OPTION", /Did you mean `sessions`\?/],
      ["nothing to read", {}, "ERR_MIGRATE_MISSING_OPTION", /at least one part/],
      [
        "both stores",
        { sessions: { redis: {}, pool: {} } },
        "ERR_MIGRATE_CONFLICTING_OPTIONS",
        /both `redis` and `pool`/,
      ],
      ["a client without sendCommand", { sessions: { redis: {} } }, "ERR_MIGRATE_INVALID_CLIENT", /sendCommand/],
      [
        "a bad table name",
        { sessions: { pool, tableName: "a;b" } },
        "ERR_MIGRATE_INVALID_OPTION",
        /sessions\.tableName/,
      ],
      ["core without users", { core: { connectionURI: "http://x" } }, "ERR_MIGRATE_MISSING_OPTION", /give `users`/],
      [
        "a core that is no URL",
        { users: { pool, query: "select 1" }, core: { connectionURI: "x" } },
        "ERR_MIGRATE_INVALID_OPTION",
        /core\.connectionURI/,
      ],
      ["users without query", { users: { pool } }, "ERR_MIGRATE_MISSING_OPTION", /users\.query/],
      [
        "an unknown column key",
        { users: { pool, query: "select 1", columns: { hash: "x" } } },
        "ERR_MIGRATE_UNKNOWN_OPTION",
        /Valid options: id, passwordHash/,
      ],
      [
        "a coordinator without prefix",
        { coordinator: { redis: {} } },
        "ERR_MIGRATE_MISSING_OPTION",
        /coordinator\.prefix/,
      ],
      [
        "a coordinator with both backends",
        { coordinator: { redis: {}, pool } },
        "ERR_MIGRATE_CONFLICTING_OPTIONS",
        /coordinator/,
      ],
      ["a pageSize of 0", { sessions: { pool }, pageSize: 0 }, "ERR_MIGRATE_INVALID_OPTION", /pageSize/],
      ["userId not a function", { sessions: { pool }, userId: "id" }, "ERR_MIGRATE_INVALID_OPTION", /userId/],
    ];
    for (const [name, options, code, message] of cases) {
      it(`refuses ${name} with ${code}`, async () => {
        await assert.rejects(
          migrationStatus(options as Parameters<typeof migrationStatus>[0]),
          (err: { code?: string; message?: string }) => err.code === code && message.test(err.message ?? ""),
        );
      });
    }
  });
});

function promisifyDestroy(store: { destroy(sid: string, cb: (err?: unknown) => void): unknown }, sid: string) {
  const destroy: (sid: string) => Promise<void> = promisify(store.destroy.bind(store));
  return destroy(sid);
}
