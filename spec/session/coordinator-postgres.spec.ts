/**
 * What the PostgreSQL coordinator adds to the contract every coordinator passes (coordinator.spec.ts): its
 * table (created once, in a named schema, quoted), the sid kept out of it, expiry by sweep, failures mapped to
 * 503 codes, and dualSession across two processes on connect-pg-simple with nothing else shared.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import pg from "pg";
import request from "supertest";
import { createPostgresMigrationCoordinator } from "../../lib/session/coordinators/postgres.js";
import { hashSid } from "../../lib/session/coordinator.js";
import { ConfigError } from "../../lib/errors.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import type { SqlDriver } from "../../lib/sql.js";
import { closedPort, requireEnv, startSilentServer, uniqueId } from "../helpers/services.js";
import { createCoreApp } from "../helpers/sdk.js";
import { PgStore } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { fullApp, serve, sessionsOf } from "../helpers/dual-fixtures.js";

const url = requireEnv("DATABASE_URL");
const pool = new pg.Pool({ connectionString: url, max: 8 });
const schema = `stm_pgcoord_${uniqueId()}`;
const codeOf = (err: unknown) => (err as { code?: unknown }).code;

after(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await pool.end();
});

const table = () => `t_${uniqueId()}`;

describe("createPostgresMigrationCoordinator", () => {
  describe("its table", () => {
    it("is created on first use in the named schema, under a name that needs quoting, with a version", async () => {
      const name = `Claims_${uniqueId()}$`;
      const coordinator = createPostgresMigrationCoordinator(pool, { schema, table: name });
      try {
        assert.equal((await coordinator.claim("sid")).status, "WON");
        const { rows } = await pool.query(
          `SELECT obj_description(c.oid) AS comment FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = $1 AND c.relname = $2`,
          [schema, name],
        );
        assert.deepEqual(rows, [{ comment: "supertokens-migrate coordinator v1" }]);
      } finally {
        coordinator.close();
      }
    });

    it("is created once when many processes start at the same moment", async () => {
      const name = table();
      const coordinators = Array.from({ length: 6 }, () =>
        createPostgresMigrationCoordinator(pool, { schema, table: name }),
      );
      const outcomes = await Promise.all(coordinators.map((c) => c.claim("same-sid")));
      assert.deepEqual(outcomes.map((o) => o.status).sort(), ["BUSY", "BUSY", "BUSY", "BUSY", "BUSY", "WON"]);
      for (const c of coordinators) c.close();
    });

    it("holds sha256(sid), never the sid, in every column", async () => {
      const name = table();
      const coordinator = createPostgresMigrationCoordinator(pool, { schema, table: name });
      const sid = `raw-sid-${uniqueId()}`;
      const won = await coordinator.claim(sid);
      assert.ok(won.status === "WON" && (await won.claim.publish('{"t":1}')));
      const { rows } = await pool.query(`SELECT row_to_json(t)::text AS row, key FROM ${schema}."${name}" t`);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].key, hashSid(sid));
      assert.ok(!rows[0].row.includes(sid), "the sid is stored");
      coordinator.close();
    });

    it("is not created with createTable: false: every step is a 503 until the app's migration creates it", async () => {
      const name = table();
      const coordinator = createPostgresMigrationCoordinator(pool, { schema, table: name, createTable: false });
      await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await assert.rejects(coordinator.claim("sid"), (err) => codeOf(err) === "ERR_MIGRATE_LOCK_UNAVAILABLE");
      // The SQL docs/coordinators.md gives for a migration file.
      await pool.query(`CREATE TABLE ${schema}."${name}" (
        key text PRIMARY KEY, lock_token text, lock_expires_at timestamptz, result text,
        result_expires_at timestamptz, migrated_expires_at timestamptz, expires_at timestamptz NOT NULL)`);
      assert.equal((await coordinator.claim("sid")).status, "WON");
      coordinator.close();
    });
  });

  describe("expiry", () => {
    it("sweeps rows whose every part expired, and keeps the others", async () => {
      const name = table();
      const coordinator = createPostgresMigrationCoordinator(pool, {
        schema,
        table: name,
        lockTtlMs: 100,
        migratedTtlMs: 100,
      });
      const count = async () => Number((await pool.query(`SELECT count(*) AS n FROM ${schema}."${name}"`)).rows[0].n);
      const published = await coordinator.claim("published");
      assert.ok(published.status === "WON" && (await published.claim.publish("r", 100)));
      await coordinator.claim("abandoned");
      const keep = createPostgresMigrationCoordinator(pool, { schema, table: name });
      const kept = await keep.claim("kept");
      assert.ok(kept.status === "WON" && (await kept.claim.publish("r")));
      assert.equal(await count(), 3);
      await new Promise((resolve) => setTimeout(resolve, 250));
      assert.equal(await coordinator.sweep(), 2);
      assert.equal(await count(), 1);
      assert.equal((await keep.claim("kept")).status, "DONE");
      coordinator.close();
      keep.close();
    });

    it("sweeps on its own timer, which does not keep the process alive", async () => {
      const name = table();
      const script = `
        import pg from "pg";
        import { createPostgresMigrationCoordinator } from "./lib/session/coordinators/postgres.ts";
        const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
        const c = createPostgresMigrationCoordinator(pool, {
          schema: "${schema}", table: "${name}", lockTtlMs: 50, sweepIntervalMs: 100,
        });
        await c.claim("s");
        const t0 = Date.now();
        for (;;) {
          const { rows } = await pool.query('SELECT count(*)::int AS n FROM ${schema}."${name}"');
          if (rows[0].n === 0) break;
          if (Date.now() - t0 > 20000) { console.log("not swept"); process.exit(2); }
          await new Promise((r) => setTimeout(r, 20));
        }
        await pool.end();
        console.log("swept");`;
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        cwd: process.cwd(),
        env: process.env,
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      clearTimeout(killer);
      assert.equal(out.trim(), "swept");
      // Exited on its own after pool.end(): the sweep timer (never closed) did not hold the process.
      assert.equal(code, 0);
    });
  });

  describe("when PostgreSQL fails", () => {
    it("answers ERR_MIGRATE_LOCK_UNAVAILABLE when nothing listens, and ERR_MIGRATE_TIMEOUT when it hangs", async () => {
      const refused = new pg.Pool({ host: "127.0.0.1", port: await closedPort(), user: "x", database: "x" });
      const silent = await startSilentServer();
      const hung = new pg.Pool({ host: "127.0.0.1", port: silent.port, user: "x", database: "x" });
      hung.on("error", () => {});
      try {
        const a = createPostgresMigrationCoordinator(refused, { timeoutMs: 2000 });
        await assert.rejects(a.claim("sid"), (err) => codeOf(err) === "ERR_MIGRATE_LOCK_UNAVAILABLE");
        const b = createPostgresMigrationCoordinator(hung, { createTable: false, timeoutMs: 100 });
        await assert.rejects(b.claim("sid"), (err) => codeOf(err) === "ERR_MIGRATE_TIMEOUT");
        await assert.rejects(b.waitForResult("sid", 50), (err) => codeOf(err) === "ERR_MIGRATE_TIMEOUT");
        a.close();
        b.close();
      } finally {
        await refused.end();
        await silent.close();
        await hung.end().catch(() => {});
      }
    });

    it("frees a claim whose upsert landed after its deadline, so the session is not BUSY for lockTtlMs", async () => {
      const name = table();
      let landed: Promise<unknown> = Promise.resolve();
      // The real pool, with the claim's upsert held back past the deadline: PostgreSQL gets it late.
      const slow: SqlDriver = {
        query(sql, params) {
          if (!sql.trimStart().startsWith("INSERT")) return pool.query(sql, params);
          const late = new Promise((resolve) => setTimeout(resolve, 400)).then(() => pool.query(sql, params));
          landed = late;
          return late;
        },
      };
      const late = createPostgresMigrationCoordinator(slow, { schema, table: name, timeoutMs: 150 });
      const normal = createPostgresMigrationCoordinator(pool, { schema, table: name });
      await normal.claim("warm-up");
      await assert.rejects(late.claim("sid"), (err) => codeOf(err) === "ERR_MIGRATE_TIMEOUT");
      await landed;
      const { rows } = await pool.query(`SELECT lock_token FROM ${schema}."${name}" WHERE key = $1`, [hashSid("sid")]);
      assert.equal(rows.length, 1, "the late upsert never landed");
      // Its release follows it; the next claim (default lockTtlMs 10 s) must not be BUSY.
      let outcome = await normal.claim("sid");
      const end = Date.now() + 3000;
      while (outcome.status === "BUSY" && Date.now() < end) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        outcome = await normal.claim("sid");
      }
      assert.equal(outcome.status, "WON");
      late.close();
      normal.close();
    });
  });

  describe("options", () => {
    it("refuses a bad pool, table, schema, unknown key or TTL with a ConfigError naming it", () => {
      const fails = (fn: () => unknown, code: string, text: RegExp) =>
        assert.throws(fn, (err: unknown) => err instanceof ConfigError && err.code === code && text.test(err.message));
      fails(() => createPostgresMigrationCoordinator({} as SqlDriver), "ERR_MIGRATE_INVALID_CLIENT", /pg Pool/);
      fails(
        () => createPostgresMigrationCoordinator(pg as unknown as SqlDriver),
        "ERR_MIGRATE_INVALID_CLIENT",
        /query/,
      );
      fails(
        () => createPostgresMigrationCoordinator(pool, { table: 'x"; DROP TABLE y; --' }),
        "ERR_MIGRATE_INVALID_OPTION",
        /`table`/,
      );
      fails(
        () => createPostgresMigrationCoordinator(pool, { schema: "Public" }),
        "ERR_MIGRATE_INVALID_OPTION",
        /`schema`/,
      );
      fails(
        () => createPostgresMigrationCoordinator(pool, { tabel: "x" } as unknown as { table: string }),
        "ERR_MIGRATE_UNKNOWN_OPTION",
        /Did you mean `table`/,
      );
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        fails(
          () => createPostgresMigrationCoordinator(pool, { timeoutMs: bad }),
          "ERR_MIGRATE_INVALID_OPTION",
          /timeoutMs/,
        );
        fails(
          () => createPostgresMigrationCoordinator(pool, { sweepIntervalMs: bad }),
          "ERR_MIGRATE_INVALID_OPTION",
          /sweepIntervalMs/,
        );
        fails(
          () => createPostgresMigrationCoordinator(pool, { lockTtlMs: bad }),
          "ERR_MIGRATE_INVALID_OPTION",
          /lockTtlMs/,
        );
      }
      fails(
        () => createPostgresMigrationCoordinator(pool, { createTable: "yes" as unknown as boolean }),
        "ERR_MIGRATE_INVALID_OPTION",
        /createTable/,
      );
    });
  });
});

describe("dualSession on connect-pg-simple with the PostgreSQL coordinator, two processes", () => {
  let core: DevCore;
  const pools: pg.Pool[] = [];
  before(async () => {
    core = await startDevCore();
  });
  after(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await core.close();
  });

  it("creates exactly one session for 20 parallel first requests split over both", async () => {
    initSuperTokens(await createCoreApp(core.url));
    // Each process has its own pool, as it would; the sessions' table and the coordinator's share the database.
    const [poolA, poolB] = [new pg.Pool({ connectionString: url }), new pg.Pool({ connectionString: url })];
    pools.push(poolA, poolB);
    const sessionTable = `sess_${uniqueId()}`;
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    const storeOf = (p: pg.Pool) =>
      new PgStore({
        pool: p,
        schemaName: schema,
        tableName: sessionTable,
        createTableIfMissing: true,
        pruneSessionInterval: false,
      });
    const [storeA, storeB] = [storeOf(poolA), storeOf(poolB)];
    const legacy = await legacyLogin(storeA, "pg-race");
    const claims = table();
    const a = await serve(
      fullApp({
        store: storeA,
        secret: SECRET,
        coordinator: createPostgresMigrationCoordinator(poolA, { schema, table: claims }),
      }).app,
    );
    const b = await serve(
      fullApp({
        store: storeB,
        secret: SECRET,
        coordinator: createPostgresMigrationCoordinator(poolB, { schema, table: claims }),
      }).app,
    );
    try {
      const cookie = `connect.sid=${legacy.get("connect.sid")}`;
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          request(i % 2 ? a.url : b.url)
            .get("/api/me")
            .set("Cookie", cookie),
        ),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        Array(20).fill(200),
      );
      const handles = await sessionsOf("pg-race");
      assert.equal(handles.length, 1, `${handles.length} sessions with a shared PostgreSQL coordinator`);
      assert.ok(responses.every((r) => r.body.userId === "pg-race" && r.body.handle === handles[0]));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
