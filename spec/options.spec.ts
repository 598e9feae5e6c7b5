// lib/options.ts, the one way options are read, and its use by every entry point that takes an options object:
// unknown keys are refused with the closest name, a factory mounted uncalled fails loudly, bad values name the
// option, and the defaults live in one frozen object per entry point.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { PassThrough } from "node:stream";
import express from "express";
import request from "supertest";
import {
  assertFactoryCalled,
  booleanOption,
  closestName,
  enumOption,
  functionOption,
  integerIn,
  looksLikeRequest,
  objectOption,
  positiveInteger,
  positiveNumber,
  readOptions,
  rejectUnknownKeys,
  requiredFunction,
  shown,
  stringOption,
} from "../lib/options.js";
import { ConfigError } from "../lib/errors.js";
import {
  configureLegacySessions,
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  dualSession,
  migrationEndpoint,
} from "../lib/session/index.js";
import { DUAL_SESSION_DEFAULTS, resetLegacySessionsConfig, resolveDualSessionOptions } from "../lib/session/options.js";
import { COORDINATOR_DEFAULTS, type RedisScriptClient } from "../lib/session/coordinator.js";
import { createPgLegacyUsers, legacyAuth } from "../lib/auth/index.js";
import { LEGACY_AUTH_DEFAULTS } from "../lib/auth/options.js";
import { PG_LEGACY_USERS_DEFAULTS } from "../lib/auth/pg.js";
import { leaveSuperTokens } from "../lib/leave/index.js";
import { LEAVE_SUPERTOKENS_DEFAULTS } from "../lib/leave/options.js";
import { exportSuperTokens } from "../lib/export/index.js";
import { EXPORT_DEFAULTS, resolveExportOptions } from "../lib/export/options.js";
import { IMPORT_DEFAULTS, resolveImportOptions } from "../lib/import/options.js";
import { PostgresStorage, startDevCore } from "../lib/core/index.js";
import { DEV_CORE_DEFAULTS } from "../lib/core/options.js";
import { resolveHashPasswordConfig } from "../lib/hashes/hash-password.js";

const store = {
  get: (_sid: string, cb: (err: unknown, s?: unknown) => void) => cb(null),
  destroy: (_sid: string, cb?: (err?: unknown) => void) => cb?.(),
};
const pool = { query: async () => ({ rows: [] }) };
const redis: RedisScriptClient = { eval: async () => null };
const finders = { findUserByEmail: async () => undefined, findUserById: async () => undefined };
const leaveHooks = { hasSession: () => false, createSession: async () => {} };

/** What Express passes a middleware first. */
function fakeRequest(): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.method = "GET";
  req.url = "/";
  return req;
}

/** Asserts a ConfigError with `code`, a message matching `pattern`, and the link to the code's section. */
function throwsConfig(fn: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    assert.ok(err.message.endsWith(` See supertokens-migrate/docs/errors.md#${code.toLowerCase()}`), err.message);
    return true;
  });
}

async function rejectsConfig(fn: () => Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("lib/options.ts", () => {
  it("suggests the closest name for a typo, and none for a stranger", () => {
    assert.equal(closestName("graceMS", ["graceMs", "storeTimeoutMs"]), "graceMs");
    assert.equal(closestName("tabel", ["table", "schema"]), "table");
    assert.equal(closestName("completelyDifferent", ["table", "schema"]), undefined);
  });

  it("rejects unknown keys with ERR_MIGRATE_UNKNOWN_OPTION, from a list or a typed key object", () => {
    throwsConfig(
      () => rejectUnknownKeys("thing", { grace: 1 }, ["graceMs"]),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /thing: unknown option `grace`\. Did you mean `graceMs`\? Valid options: graceMs\./,
    );
    throwsConfig(
      () => rejectUnknownKeys("thing", { zzz: 1 }, { a: true, b: true }),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /unknown option `zzz`\. Valid options: a, b\./,
    );
    rejectUnknownKeys("thing", { a: 1 }, { a: true });
  });

  it("reads an options object: undefined is {}, unless required; not an object is refused", () => {
    assert.deepEqual(readOptions("thing", undefined, { a: true }), {});
    throwsConfig(
      () => readOptions("thing", undefined, { a: true }, "with `a`"),
      "ERR_MIGRATE_MISSING_OPTION",
      /thing\(options\): options must be an object with `a`/,
    );
    for (const bad of [null, "a", 3, [1]]) {
      throwsConfig(
        () => readOptions("thing", bad as object, { a: true }),
        "ERR_MIGRATE_INVALID_OPTION",
        /options must be an object/,
      );
    }
  });

  it("validates the common kinds, giving the default for undefined", () => {
    assert.equal(positiveNumber("t", "ms", undefined, 5), 5);
    assert.equal(positiveNumber("t", "ms", 0.5, 5), 0.5);
    for (const bad of [0, -1, Number.NaN, Infinity, "10"])
      throwsConfig(
        () => positiveNumber("t", "ms", bad, 5),
        "ERR_MIGRATE_INVALID_OPTION",
        /t: `ms` must be a positive number/,
      );
    assert.equal(positiveInteger("t", "ttl", 7, 1), 7);
    throwsConfig(() => positiveInteger("t", "ttl", 1.5, 1), "ERR_MIGRATE_INVALID_OPTION", /received 1\.5/);
    assert.equal(integerIn("t", "n", 3, 1, 5, 2), 3);
    throwsConfig(
      () => integerIn("t", "n", 6, 1, 5, 2, "Fix it."),
      "ERR_MIGRATE_INVALID_OPTION",
      /an integer from 1 to 5; received 6\. Fix it\./,
    );
    assert.equal(booleanOption("t", "b", undefined, true), true);
    throwsConfig(
      () => booleanOption("t", "b", "yes", true),
      "ERR_MIGRATE_INVALID_OPTION",
      /`b` must be true or false; received "yes"/,
    );
    assert.equal(stringOption("t", "s", "x", "d"), "x");
    throwsConfig(() => stringOption("t", "s", "", "d"), "ERR_MIGRATE_INVALID_OPTION", /a non-empty string/);
    assert.equal(stringOption("t", "s", "", "d", { allowEmpty: true }), "");
    assert.equal(enumOption("t", "m", undefined, ["a", "b"], "a"), "a");
    throwsConfig(
      () => enumOption("t", "m", "c", ["a", "b"], "a"),
      "ERR_MIGRATE_INVALID_OPTION",
      /`m` must be one of a, b; received "c"/,
    );
    const f = () => 1;
    assert.equal(functionOption("t", "f", f), f);
    throwsConfig(
      () => functionOption("t", "f", 1 as never),
      "ERR_MIGRATE_INVALID_OPTION",
      /`f` must be a function; received 1/,
    );
    throwsConfig(
      () => requiredFunction("t", "f", undefined, "pass f."),
      "ERR_MIGRATE_MISSING_OPTION",
      /`f` is required: pass f\./,
    );
    throwsConfig(
      () => requiredFunction("t", "f", "x" as never, "pass f."),
      "ERR_MIGRATE_INVALID_OPTION",
      /`f` must be a function/,
    );
    assert.deepEqual(objectOption("t", "o", { a: 1 }, "an object", { a: true }), { a: 1 });
    throwsConfig(() => objectOption("t", "o", [] as object), "ERR_MIGRATE_INVALID_OPTION", /`o` must be an object/);
    throwsConfig(
      () => objectOption("t", "o", { b: 1 }, "an object", { a: true }),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /t: o: unknown option `b`/,
    );
  });

  it("shows a received value briefly, and never the insides of a client", () => {
    assert.equal(shown(undefined), "nothing");
    assert.equal(shown("x"), '"x"');
    assert.equal(
      shown(() => 1),
      "a function",
    );
    assert.equal(shown(new PassThrough()), "a PassThrough");
    assert.ok(shown({ long: "x".repeat(200) }).length <= 80);
  });

  it("tells a request from options, and names the fix for an uncalled factory", () => {
    assert.equal(looksLikeRequest(fakeRequest()), true);
    assert.equal(looksLikeRequest({ store, secret: "s" }), false);
    assert.equal(looksLikeRequest(undefined), false);
    assertFactoryCalled("f", { a: 1 }, "f()");
    throwsConfig(
      () => assertFactoryCalled("f", fakeRequest(), "f()"),
      "ERR_MIGRATE_FACTORY_NOT_CALLED",
      /call f\(\) — you passed the factory itself/,
    );
  });
});

describe("every entry point refuses unknown keys, naming the closest", () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      "dualSession",
      () => dualSession({ store, secret: "s", graceMS: 1 } as never),
      /dualSession: unknown option `graceMS`\. Did you mean `graceMs`\?/,
    ],
    [
      "configureLegacySessions",
      () => configureLegacySessions({ store, secrets: "s" } as never),
      /configureLegacySessions: unknown option `secrets`\. Did you mean `secret`\?/,
    ],
    [
      "migrationEndpoint",
      () => migrationEndpoint({ store, secret: "s", verifyLegacyTokn: () => undefined } as never),
      /migrationEndpoint: unknown option `verifyLegacyTokn`\. Did you mean `verifyLegacyToken`\?/,
    ],
    [
      "legacyAuth",
      () => legacyAuth({ ...finders, tenantId: ["public"] } as never),
      /legacyAuth: unknown option `tenantId`\. Did you mean `tenantIds`\?/,
    ],
    [
      "createPgLegacyUsers",
      () => createPgLegacyUsers({ pool, table: "users", shema: "s" } as never),
      /createPgLegacyUsers: unknown option `shema`\. Did you mean `schema`\?/,
    ],
    [
      "leaveSuperTokens",
      () => leaveSuperTokens({ ...leaveHooks, timeout: 1 } as never),
      /leaveSuperTokens: unknown option `timeout`\. Did you mean `timeoutMs`\?/,
    ],
    [
      "exportSuperTokens",
      () => resolveExportOptions({ db: pool, out: new PassThrough(), tablePrefx: "" } as never),
      /exportSuperTokens: unknown option `tablePrefx`\. Did you mean `tablePrefix`\?/,
    ],
    [
      "the import",
      () => resolveImportOptions({ file: "u.csv", core: "http://h:1", concurency: 2 } as never),
      /import: unknown option `concurency`\. Did you mean `concurrency`\?/,
    ],
    [
      "createMemoryMigrationCoordinator",
      () => createMemoryMigrationCoordinator({ lockTtl: 1 } as never),
      /createMemoryMigrationCoordinator: unknown option `lockTtl`\. Did you mean `lockTtlMs`\?/,
    ],
    [
      "createRedisMigrationCoordinator",
      () => createRedisMigrationCoordinator(redis, { prefix: "p:", timeout: 1 } as never),
      /createRedisMigrationCoordinator: unknown option `timeout`\. Did you mean `timeoutMs`\?/,
    ],
    [
      "PostgresStorage",
      () => new PostgresStorage(pool, { schem: "s" } as never),
      /PostgresStorage: unknown option `schem`\. Did you mean `schema`\?/,
    ],
    [
      "hashPassword",
      () => resolveHashPasswordConfig({ algorithm: "argon2", memoryKB: 1 } as never),
      /hashPassword: unknown option `memoryKB`\. Did you mean `memoryKb`\?/,
    ],
  ];
  for (const [name, fn, pattern] of cases) {
    it(name, () => {
      resetLegacySessionsConfig();
      throwsConfig(fn, "ERR_MIGRATE_UNKNOWN_OPTION", pattern);
    });
  }

  it("startDevCore", async () => {
    await rejectsConfig(
      () => startDevCore({ prot: 0 } as never),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /startDevCore: unknown option `prot`\. Did you mean `port`\?/,
    );
  });

  it("exportSuperTokens (the public function)", async () => {
    await rejectsConfig(
      () => exportSuperTokens({ db: pool, out: new PassThrough(), formt: "csv" } as never),
      "ERR_MIGRATE_UNKNOWN_OPTION",
      /Did you mean `format`\?/,
    );
  });
});

describe("every middleware factory mounted uncalled fails loudly", () => {
  const factories: Array<[string, (...args: unknown[]) => unknown, RegExp]> = [
    [
      "dualSession",
      dualSession as never,
      new RegExp(
        "call dualSession\\(\\) — you passed the factory itself\\. " +
          "Use app\\.use\\(dualSession\\(\\)\\), not app\\.use\\(dualSession\\)",
      ),
    ],
    ["migrationEndpoint", migrationEndpoint as never, /call migrationEndpoint\(\) — you passed the factory itself/],
    [
      "leaveSuperTokens",
      leaveSuperTokens as never,
      /call leaveSuperTokens\(\{ hasSession, createSession \}\) — you passed the factory itself/,
    ],
  ];
  for (const [name, factory, pattern] of factories) {
    it(`${name}, called with (req, res, next)`, () => {
      const req = fakeRequest();
      throwsConfig(() => factory(req, new ServerResponse(req), () => {}), "ERR_MIGRATE_FACTORY_NOT_CALLED", pattern);
    });

    it(`${name}, mounted in Express: the request reaches the error handler with the code`, async () => {
      resetLegacySessionsConfig();
      const app = express();
      app.use(factory as express.RequestHandler);
      app.get("/", (_req, res) => void res.send("passed through"));
      app.use(
        (err: { code?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) =>
          void res.status(500).json({ code: err.code }),
      );
      const res = await request(app).get("/");
      assert.equal(res.status, 500);
      assert.deepEqual(res.body, { code: "ERR_MIGRATE_FACTORY_NOT_CALLED" });
    });
  }

  it("configureLegacySessions given a request", () => {
    throwsConfig(
      () => configureLegacySessions(fakeRequest() as never),
      "ERR_MIGRATE_FACTORY_NOT_CALLED",
      /configureLegacySessions was mounted without being called/,
    );
  });
});

describe("invalid values name the option and the kind of mistake", () => {
  it("dualSession", () => {
    resetLegacySessionsConfig();
    throwsConfig(() => dualSession(), "ERR_MIGRATE_STORE_REQUIRED", /`store` is required/);
    throwsConfig(() => dualSession({ store }), "ERR_MIGRATE_MISSING_SECRET", /`secret` is required/);
    throwsConfig(
      () => dualSession({ store, secret: ["hunter2-secret", ""] }),
      "ERR_MIGRATE_MISSING_SECRET",
      /^((?!hunter2).)*$/s,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", mode: "fast" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`mode` must be one of migrate, logout; received "fast"/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", graceMs: 0 }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`graceMs` must be a positive number of milliseconds; received 0/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", name: "a b" }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`name` must be a valid cookie name/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", userId: "id" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`userId` must be a function/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", sessionRequired: "no" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`sessionRequired` must be true or false/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", coordinator: {} as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`coordinator` must be a MigrationCoordinator/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", trustedOrigins: "https://a" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`trustedOrigins` must be an array/,
    );
    throwsConfig(
      () => dualSession({ store, secret: "s", cookie: "x" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`cookie` must be an object/,
    );
  });

  it(
    "dualSession keeps what it accepted before: cookie settings as express-session has them, configured " + "defaults",
    () => {
      resetLegacySessionsConfig();
      const cfg = resolveDualSessionOptions({ store, secret: "s", cookie: { maxAge: 1000, path: "/app" } as never });
      assert.equal(cfg.cookie.path, "/app");
      assert.equal(cfg.cookie.httpOnly, true);
      configureLegacySessions({ store, secret: "configured" });
      try {
        const fromConfigured = resolveDualSessionOptions(undefined);
        assert.deepEqual(fromConfigured.secrets, ["configured"]);
        assert.equal(fromConfigured.name, "connect.sid");
        assert.equal(fromConfigured.graceMs, 30_000);
      } finally {
        resetLegacySessionsConfig();
      }
    },
  );

  it("migrationEndpoint", () => {
    throwsConfig(
      () => migrationEndpoint({ store, secret: "s", verifyLegacyToken: "x" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`verifyLegacyToken` must be a function/,
    );
    // Accepted and ignored, as before: one options object may serve dualSession() and migrationEndpoint().
    assert.equal(typeof migrationEndpoint({ store, secret: "s", sessionRequired: true } as never), "function");
  });

  it("legacyAuth", () => {
    throwsConfig(
      () => legacyAuth({ findUserByEmail: finders.findUserByEmail }),
      "ERR_MIGRATE_MISSING_OPTION",
      /`findUserById` is required/,
    );
    throwsConfig(
      () => legacyAuth({ ...finders, findUserById: "x" } as never),
      "ERR_MIGRATE_INVALID_OPTION",
      /`findUserById` must be a function/,
    );
    throwsConfig(
      () => legacyAuth({ ...finders, dummyHash: " " }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`dummyHash` must be a hash/,
    );
    throwsConfig(
      () => legacyAuth({ ...finders, firebaseSignerKey: "" }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`firebaseSignerKey`/,
    );
    throwsConfig(
      () => legacyAuth({ ...finders, override: { functions: 1 } as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`override\.functions` must be a function/,
    );
  });

  it("createPgLegacyUsers", () => {
    throwsConfig(() => createPgLegacyUsers({ table: "users" }), "ERR_MIGRATE_MISSING_OPTION", /`pool` is required/);
    throwsConfig(
      () => createPgLegacyUsers({ pool: {} as never, table: "users" }),
      "ERR_MIGRATE_INVALID_CLIENT",
      /`pool` is required/,
    );
    throwsConfig(() => createPgLegacyUsers({ pool }), "ERR_MIGRATE_MISSING_OPTION", /`table` is required/);
    throwsConfig(
      () => createPgLegacyUsers({ pool, table: "users", columns: "id" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`columns` must be an object/,
    );
  });

  it("exportSuperTokens", () => {
    const out = new PassThrough();
    throwsConfig(
      () => resolveExportOptions(undefined as never),
      "ERR_MIGRATE_MISSING_OPTION",
      /options must be an object with at least `db` and `out`/,
    );
    throwsConfig(() => resolveExportOptions({ out } as never), "ERR_MIGRATE_MISSING_OPTION", /`db` is required/);
    throwsConfig(
      () => resolveExportOptions({ db: {} as never, out }),
      "ERR_MIGRATE_INVALID_CLIENT",
      /`db` must have a query/,
    );
    throwsConfig(() => resolveExportOptions({ db: pool } as never), "ERR_MIGRATE_MISSING_OPTION", /`out` is required/);
    throwsConfig(
      () => resolveExportOptions({ db: pool, out, pageSize: 0 }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`pageSize` must be an integer from 1 to 100000; received 0/,
    );
    throwsConfig(
      () => resolveExportOptions({ db: pool, out, schema: "bad-name" }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`schema` must be a PostgreSQL identifier as the core's postgresql_table_schema holds it .*; received "bad-name"/,
    );
    throwsConfig(
      () => resolveExportOptions({ db: pool, out, format: "xml" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`format` must be one of ndjson, csv/,
    );
    assert.equal(resolveExportOptions({ db: pool, out, tablePrefix: "" }).tablePrefix, "");
  });

  it("the coordinators", () => {
    throwsConfig(
      () => createRedisMigrationCoordinator({} as never, { prefix: "p:" }),
      "ERR_MIGRATE_INVALID_CLIENT",
      /eval\(\)/,
    );
    throwsConfig(
      () => createRedisMigrationCoordinator(redis, {} as never),
      "ERR_MIGRATE_MISSING_OPTION",
      /`prefix` must be a string/,
    );
    throwsConfig(
      () => createMemoryMigrationCoordinator({ waitMs: 1.5 }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`waitMs` must be a positive whole number/,
    );
  });

  it("startDevCore", async () => {
    await rejectsConfig(
      () => startDevCore({ port: 70_000 }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`port` must be an integer from 0 to 65535/,
    );
    await rejectsConfig(
      () => startDevCore({ apiKeys: "k" as never }),
      "ERR_MIGRATE_INVALID_OPTION",
      /`apiKeys` must be an array/,
    );
  });
});

describe("one frozen defaults object per entry point", () => {
  const all: Array<[string, object]> = [
    ["DUAL_SESSION_DEFAULTS", DUAL_SESSION_DEFAULTS],
    ["COORDINATOR_DEFAULTS", COORDINATOR_DEFAULTS],
    ["LEGACY_AUTH_DEFAULTS", LEGACY_AUTH_DEFAULTS],
    ["PG_LEGACY_USERS_DEFAULTS", PG_LEGACY_USERS_DEFAULTS],
    ["LEAVE_SUPERTOKENS_DEFAULTS", LEAVE_SUPERTOKENS_DEFAULTS],
    ["EXPORT_DEFAULTS", EXPORT_DEFAULTS],
    ["IMPORT_DEFAULTS", IMPORT_DEFAULTS],
    ["DEV_CORE_DEFAULTS", DEV_CORE_DEFAULTS],
  ];
  for (const [name, defaults] of all) {
    it(`${name} is frozen, all the way down`, () => {
      const check = (value: unknown, path: string): void => {
        if (typeof value !== "object" || value === null) return;
        assert.ok(Object.isFrozen(value), `${path} is frozen`);
        for (const [k, v] of Object.entries(value)) check(v, `${path}.${k}`);
      };
      check(defaults, name);
      assert.throws(() => {
        (defaults as Record<string, unknown>).extra = 1;
      }, TypeError);
    });
  }

  it("the resolvers read them: the documented defaults come out", () => {
    resetLegacySessionsConfig();
    const cfg = resolveDualSessionOptions({ store, secret: "s" });
    assert.equal(cfg.name, DUAL_SESSION_DEFAULTS.name);
    assert.equal(cfg.graceMs, 30_000);
    assert.equal(cfg.storeTimeoutMs, 2_000);
    assert.equal(cfg.coreTimeoutMs, 5_000);
    assert.equal(cfg.retryAfterSeconds, 1);
    assert.equal(cfg.mode, "migrate");
    assert.equal(cfg.tenantId, "public");
    assert.equal(cfg.verify.sessionRequired, true);
    assert.deepEqual(cfg.cookie, { path: "/", httpOnly: true });
    const exp = resolveExportOptions({ db: pool, out: new PassThrough() });
    assert.deepEqual(
      [exp.schema, exp.tablePrefix, exp.appId, exp.format, exp.pageSize],
      ["public", "", "public", "ndjson", 1000],
    );
    const imp = resolveImportOptions({ file: "u.csv", core: "http://h:1" });
    assert.deepEqual(
      [imp.mode, imp.batchSize, imp.concurrency, imp.dryRun, imp.stallTimeoutMs],
      ["auto", 1000, 8, false, 900_000],
    );
  });
});
