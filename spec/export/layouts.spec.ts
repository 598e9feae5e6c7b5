/**
 * The export against the real core's table layouts, built from the postgresql plugin's facts (core-layouts.ts):
 * core 6, 7–11 and 12, with and without a table prefix, per-table names, a mixed-case schema, `public` through
 * search_path, the plugin 9.5 migration modes and account linking. Each export is checked record by record.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import pg from "pg";
import { exportSuperTokens, type ExportOptions } from "../../lib/export/index.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import { CoreDb, type CoreVersion, type LayoutSpec, type Mode } from "./core-layouts.js";

const run = promisify(execFile);
const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const bcryptHash = (n: number) => `$2a$10$${String(n).padStart(53, "x")}`;
const argonHash = "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo";

let pool: pg.Pool;
const schemas: string[] = [];

before(() => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
});

after(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await pool.end();
});

/** A fresh schema name (as the core's config would hold it; `upper` gives a mixed-case one). */
function newSchema(upper = false): string {
  const name = `${upper ? "StmLayout" : "stm_layout"}_${uniqueId()}`;
  schemas.push(name.toLowerCase());
  return name;
}

async function exportAll(options: Partial<ExportOptions> & { db?: ExportOptions["db"] }) {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const report = await exportSuperTokens({ db: pool, out, ...options });
  const lines = text
    .trimEnd()
    .split("\n")
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- exported records, compared as a whole
    .map((l) => JSON.parse(l) as Record<string, any>);
  return {
    report,
    header: lines[0],
    users: lines.filter((l) => l.type === "user").sort((a, b) => (a.recipeUserId < b.recipeUserId ? -1 : 1)),
    tokens: lines.filter((l) => l.type === "reset_token"),
  };
}

/**
 * Three logins: u1 mapped to legacy-1 (info, verified under the external id, metadata and a role under it, a valid
 * reset token, tenants public and t1); u2 argon2, unverified, an expired token; u3 linked to u1 from core 7 on
 * (verified under its own id), a user of its own on core 6.
 */
async function fill(core: CoreDb, mode: Mode = "LEGACY") {
  const linking = core.spec.version >= 7;
  await core.addUser(
    {
      id: uuid(1),
      email: "one@example.com",
      hash: bcryptHash(1),
      timeJoined: 1000,
      tenants: ["public", "t1"],
      linked: linking,
    },
    mode,
  );
  await core.addUser(
    { id: uuid(2), email: "two@example.com", hash: argonHash, timeJoined: 2000, tenants: ["public"] },
    mode,
  );
  await core.addUser(
    {
      id: uuid(3),
      email: "three@example.com",
      hash: bcryptHash(3),
      timeJoined: 3000,
      tenants: ["t1"],
      ...(linking ? { primary: uuid(1) } : {}),
    },
    mode,
  );
  await core.map(uuid(1), "legacy-1", "from the old db");
  await core.verify("legacy-1", "one@example.com");
  await core.verify(uuid(3), "three@example.com");
  await core.metadata("legacy-1", { plan: "pro" });
  await core.role("legacy-1", "admin");
  await core.resetToken(uuid(1), sha256hex("valid"), "one@example.com", Date.now() + 3_600_000);
  await core.resetToken(uuid(2), sha256hex("expired"), "two@example.com", Date.now() - 1000);
}

/** What fill() must export, login by login. */
function expected(version: CoreVersion) {
  const linking = version >= 7;
  const u1 = {
    type: "user",
    userId: "legacy-1",
    superTokensUserId: uuid(1),
    recipeUserId: uuid(1),
    email: "one@example.com",
    passwordHash: bcryptHash(1),
    passwordHashFormat: "bcrypt",
    timeJoined: 1000,
    emailVerified: true,
    tenantIds: ["public", "t1"],
    metadata: { plan: "pro" },
    roles: [{ tenantId: "public", role: "admin" }],
    externalUserIdInfo: "from the old db",
    recipeId: "emailpassword",
    thirdParty: null,
    phoneNumber: null,
  };
  return [
    u1,
    {
      type: "user",
      userId: uuid(2),
      superTokensUserId: uuid(2),
      recipeUserId: uuid(2),
      email: "two@example.com",
      passwordHash: argonHash,
      passwordHashFormat: "argon2",
      timeJoined: 2000,
      emailVerified: false,
      tenantIds: ["public"],
      metadata: null,
      roles: [],
      externalUserIdInfo: null,
      recipeId: "emailpassword",
      thirdParty: null,
      phoneNumber: null,
    },
    linking
      ? // Linked to u1: u1's ids, metadata and roles; its own email, hash, verification and tenants.
        {
          ...u1,
          recipeUserId: uuid(3),
          email: "three@example.com",
          passwordHash: bcryptHash(3),
          timeJoined: 3000,
          tenantIds: ["t1"],
        }
      : {
          type: "user",
          userId: uuid(3),
          superTokensUserId: uuid(3),
          recipeUserId: uuid(3),
          email: "three@example.com",
          passwordHash: bcryptHash(3),
          passwordHashFormat: "bcrypt",
          timeJoined: 3000,
          emailVerified: true,
          tenantIds: ["t1"],
          metadata: null,
          roles: [],
          externalUserIdInfo: null,
          recipeId: "emailpassword",
          thirdParty: null,
          phoneNumber: null,
        },
  ];
}

const layoutName: Record<CoreVersion, string> = {
  6: "core 6.x (postgresql plugin 3.x–4.x)",
  7: "core 7.x–11.x (postgresql plugin 5.x–9.4)",
  12: "core 12.x (postgresql plugin 9.5)",
};

describe("export: the core's table layouts, record by record", () => {
  const cases: {
    name: string;
    version: CoreVersion;
    upper?: boolean;
    prefix?: string;
    names?: LayoutSpec["names"];
    mode?: Mode;
    options: (s: string) => Partial<ExportOptions>;
  }[] = [
    { name: "core 6, no prefix", version: 6, options: (s) => ({ schema: s }) },
    {
      name: "core 7–11, prefix st (tables st_…)",
      version: 7,
      prefix: "st",
      options: (s) => ({ schema: s, tablePrefix: "st" }),
    },
    {
      name: "core 12 LEGACY, per-table names, a mixed-case schema as the config holds it",
      version: 12,
      upper: true,
      names: {
        emailpassword_users: "EP_Users",
        emailpassword_pswd_reset_tokens: "ep_reset",
        emailverification_verified_emails: "ev_done",
        key_value: "kv",
        session_info: "sessions",
      },
      options: (s) => ({
        schema: s,
        tableNames: {
          emailpasswordUsers: "EP_Users",
          passwordResetTokens: "ep_reset",
          verifiedEmails: "ev_done",
          keyValue: "kv",
          sessionInfo: "sessions",
        },
      }),
    },
    {
      name: "core 12 MIGRATED (from the tenant config), mixed-case prefix",
      version: 12,
      prefix: "App1",
      mode: "MIGRATED",
      options: (s) => ({ schema: s, tablePrefix: "App1" }),
    },
    {
      name: "core 12 DUAL_WRITE_READ_OLD",
      version: 12,
      mode: "DUAL_WRITE_READ_OLD",
      options: (s) => ({ schema: s }),
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const schema = newSchema(c.upper);
      const core = new CoreDb(pool, { version: c.version, schema, prefix: c.prefix, names: c.names });
      await core.create(["t1"], c.mode);
      await fill(core, c.mode);
      const { report, header, users, tokens } = await exportAll(c.options(schema));
      assert.deepEqual(users, expected(c.version));
      assert.equal(tokens.length, 1);
      assert.deepEqual(tokens[0], {
        type: "reset_token",
        userId: "legacy-1",
        superTokensUserId: uuid(1),
        recipeUserId: uuid(1),
        email: "one@example.com",
        tokenHash: sha256hex("valid"),
        tokenHashAlgorithm: "sha256-hex",
        expiresAt: tokens[0].expiresAt,
      });
      assert.equal(header.version, 3);
      assert.equal(header.schema, schema.toLowerCase());
      assert.equal(report.coreLayout, layoutName[c.version]);
      assert.equal(report.migrationMode, c.mode ?? "LEGACY");
      assert.equal(report.migrationModeSource, c.mode ? "tenant config" : "default");
      assert.equal(report.users, 3);
      assert.equal(report.linkedLogins, c.version >= 7 ? 1 : 0);
      assert.equal(report.verifiedUsers, 2);
      assert.deepEqual(report.warnings, []);
    });
  }
});

describe("export: plugin 9.5 migration modes", () => {
  /**
   * u1 joined t1 before the cutover (both tables) and left it after (only recipe_user_tenants knows); u2 signed up
   * after the cutover (no all_auth_recipe_users row at all).
   */
  async function migratedCore(modeInConfig: Mode | undefined) {
    const schema = newSchema();
    const core = new CoreDb(pool, { version: 12, schema });
    await core.create(["t1"], modeInConfig);
    await core.addUser(
      { id: uuid(1), email: "one@example.com", hash: bcryptHash(1), timeJoined: 1, tenants: ["public", "t1"] },
      "DUAL_WRITE_READ_NEW",
    );
    await pool.query(`DELETE FROM ${core.t("recipe_user_tenants")} WHERE recipe_user_id = $1 AND tenant_id = 't1'`, [
      uuid(1),
    ]);
    await core.addUser(
      { id: uuid(2), email: "two@example.com", hash: bcryptHash(2), timeJoined: 2, tenants: ["public", "t1"] },
      "MIGRATED",
    );
    return schema;
  }

  it("MIGRATED in the tenant config: tenants come from recipe_user_tenants, the old table is stale", async () => {
    const schema = await migratedCore("MIGRATED");
    const { report, users } = await exportAll({ schema });
    assert.deepEqual(
      users.map((u) => [u.recipeUserId, u.tenantIds]),
      [
        [uuid(1), ["public"]],
        [uuid(2), ["public", "t1"]],
      ],
    );
    assert.equal(report.migrationMode, "MIGRATED");
    assert.deepEqual(report.warnings, []);
  });

  it("MIGRATED only in config.yaml: a login only in recipe_user_tenants is taken from there, warned", async () => {
    const schema = await migratedCore(undefined);
    const legacy = await exportAll({ schema });
    assert.deepEqual(
      legacy.users.map((u) => [u.recipeUserId, u.tenantIds]),
      [
        [uuid(1), ["public", "t1"]],
        [uuid(2), ["public", "t1"]],
      ],
    );
    assert.equal(legacy.report.migrationMode, "LEGACY");
    assert.equal(legacy.report.warnings.length, 1);
    assert.match(legacy.report.warnings[0], /^1 users have tenants only in recipe_user_tenants .*--migration-mode/);

    const told = await exportAll({ schema, migrationMode: "MIGRATED" });
    assert.deepEqual(
      told.users.map((u) => [u.recipeUserId, u.tenantIds]),
      [
        [uuid(1), ["public"]],
        [uuid(2), ["public", "t1"]],
      ],
    );
    assert.equal(told.report.migrationModeSource, "option");
    assert.deepEqual(told.report.warnings, []);
  });
});

describe("export: where the core's tables are", () => {
  it("schema public: the tables the core created unqualified are found through search_path", async () => {
    const schema = newSchema();
    const client = await pool.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path TO ${schema}`);
      const core = new CoreDb(client, { version: 12, schema: "public" });
      await core.create(["t1"]);
      await fill(core);
      const { report, users } = await exportAll({ db: client });
      assert.equal(report.schema, schema);
      assert.deepEqual(users, expected(12));
    } finally {
      await client.query("RESET search_path");
      client.release();
    }
  });

  it("a renamed verified-emails or reset-tokens table without its option is a warning, not wrong data", async () => {
    const schema = newSchema();
    const names = { emailverification_verified_emails: "verified", emailpassword_pswd_reset_tokens: "resets" };
    const core = new CoreDb(pool, { version: 7, schema, names });
    await core.create(["t1"]);
    await fill(core);
    const { report } = await exportAll({ schema });
    assert.equal(report.verifiedUsers, 0);
    assert.equal(report.resetTokens, 0);
    assert.equal(report.warnings.length, 2);
    assert.match(
      report.warnings[0],
      /no table emailverification_verified_emails .*emailVerified false.*--verified-emails-table/,
    );
    assert.match(
      report.warnings[1],
      /no table emailpassword_pswd_reset_tokens .*no reset tokens.*--pswd-reset-tokens-table/,
    );
  });

  it("a prefix given with the underscore the core adds itself is refused with the fix", async () => {
    const schema = newSchema();
    const core = new CoreDb(pool, { version: 7, schema, prefix: "st" });
    await core.create([]);
    await assert.rejects(exportAll({ schema, tablePrefix: "st_" }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "ERR_MIGRATE_BAD_INPUT");
      assert.match(err.message, /no table st__emailpassword_users .*pass --table-prefix st /);
      return true;
    });
  });
});

describe("export: layouts it does not know are refused, naming what was found", () => {
  it("a core newer than 12 (all_auth_recipe_users dropped)", async () => {
    const schema = newSchema();
    const core = new CoreDb(pool, { version: 12, schema });
    await core.create([]);
    await pool.query(`DROP TABLE ${core.t("all_auth_recipe_users")} CASCADE`);
    await assert.rejects(exportAll({ schema }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "ERR_MIGRATE_BAD_INPUT");
      assert.match(
        err.message,
        /layout this export does not know: recipe_user_tenants without all_auth_recipe_users: a core newer than 12\.x/,
      );
      assert.match(err.message, /It reads core 6\.x .*core 12\.x \(postgresql plugin 9\.5\)/);
      return true;
    });
  });

  it("half of the plugin 9.5 change (time_joined without recipe_user_tenants)", async () => {
    const schema = newSchema();
    const core = new CoreDb(pool, { version: 12, schema });
    await core.create([]);
    await pool.query(`DROP TABLE ${core.t("recipe_user_tenants")}`);
    await assert.rejects(
      exportAll({ schema }),
      /time_joined on app_id_to_user_id \(plugin 9\.5\) but no recipe_user_tenants/,
    );
  });

  it("a core older than 6.0 (no app_id)", async () => {
    const schema = newSchema();
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(`CREATE TABLE ${schema}.emailpassword_users (user_id CHAR(36) PRIMARY KEY, email VARCHAR(256))`);
    await assert.rejects(exportAll({ schema }), /older than 6\.0 \(postgresql plugin before 3\.0\)/);
  });
});

describe("export CLI: the core's settings as options", () => {
  const cli = (args: string[]) =>
    run(process.execPath, ["--import", "tsx", "lib/cli/main.ts", "export", ...args], {
      cwd: process.cwd(),
      maxBuffer: 16 * 1024 * 1024,
    });

  it("prefix, per-table names, --migration-mode; currentSchema in --from is the schema, as for the core", async () => {
    const schema = newSchema();
    const core = new CoreDb(pool, {
      version: 12,
      schema,
      prefix: "st",
      names: { emailpassword_users: "ep_users", emailverification_verified_emails: "ev" },
    });
    await core.create(["t1"]);
    await fill(core, "MIGRATED");
    const url = new URL(requireEnv("DATABASE_URL"));
    url.searchParams.set("currentSchema", schema);
    const { stdout, stderr } = await run(process.execPath, [
      "--import",
      "tsx",
      "lib/cli/main.ts",
      "export",
      "--from",
      url.toString(),
      "--table-prefix",
      "st",
      "--emailpassword-users-table",
      "ep_users",
      "--verified-emails-table",
      "ev",
      "--migration-mode",
      "MIGRATED",
    ]);
    const users = stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.type === "user")
      .sort((a, b) => (String(a.recipeUserId) < String(b.recipeUserId) ? -1 : 1));
    assert.deepEqual(users, expected(12));
    assert.match(stderr, /layout: core 12\.x \(postgresql plugin 9\.5\), migration_mode MIGRATED \(option\)/);
    assert.match(stderr, /1 logins are linked to another user and exported under its id/);
  });

  it("a refused connection names the host, port and database and what to check", async () => {
    // A port nothing listens on: bind one, note it, close it.
    const net = await import("node:net");
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    await assert.rejects(
      cli(["--from", `postgres://someone:secret@127.0.0.1:${port}/stcore`]),
      (err: { stderr: string }) => {
        assert.match(
          err.stderr,
          new RegExp(
            `cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port}, database "stcore", user "someone": ` +
              ".*ECONNREFUSED.*" +
              "is PostgreSQL running",
          ),
        );
        assert.doesNotMatch(err.stderr, /secret/);
        return true;
      },
    );
  });
});

describe("export: third-party and passwordless logins in every layout", () => {
  for (const version of [6, 7, 12] as const) {
    it(`core ${version}: a record per login, linked to its primary from core 7`, async () => {
      const schema = newSchema();
      const core = new CoreDb(pool, { version, schema });
      await core.create([]);
      await core.addUser({
        id: uuid(1),
        email: "one@example.com",
        hash: bcryptHash(1),
        timeJoined: 1000,
        tenants: ["public"],
      });
      await core.addOtherLogin({
        id: uuid(2),
        recipe: "thirdparty",
        email: "one@example.com",
        thirdParty: { id: "google", userId: "g-1" },
        timeJoined: 2000,
        tenants: ["public"],
        ...(version >= 7 ? { primary: uuid(1) } : {}),
      });
      await core.addOtherLogin({
        id: uuid(3),
        recipe: "passwordless",
        email: null,
        phone: "+14155550100",
        timeJoined: 3000,
        tenants: ["public"],
      });
      await core.map(uuid(1), "legacy-1");
      const { report, header, users } = await exportAll({ schema, pageSize: 1 });
      assert.equal(header.version, 3);
      assert.deepEqual(
        users.map((u) => [
          u.recipeId,
          u.userId,
          u.recipeUserId,
          u.email,
          u.thirdParty,
          u.phoneNumber,
          u.passwordHash === null,
        ]),
        [
          ["emailpassword", "legacy-1", uuid(1), "one@example.com", null, null, false],
          [
            "thirdparty",
            version >= 7 ? "legacy-1" : uuid(2),
            uuid(2),
            "one@example.com",
            { id: "google", userId: "g-1" },
            null,
            true,
          ],
          ["passwordless", uuid(3), uuid(3), null, null, "+14155550100", true],
        ],
      );
      assert.deepEqual(report.logins, { emailpassword: 1, thirdparty: 1, passwordless: 1 });
      assert.equal(report.linkedLogins, version >= 7 ? 1 : 0);
      assert.equal(report.otherRecipeUsers, 0);
    });
  }
});
