/**
 * The dev core's PostgreSQL layout is the postgresql plugin 9.5's (core 12): the columns, indexes and keys a real
 * core of that version expects to find (it never alters a table it finds), the core's prefix and schema naming,
 * and a database the dev core wrote reads through `export` as a core 12 database in LEGACY mode.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import { PostgresStorage, startDevCore } from "../../lib/core/index.js";
import { exportSuperTokens } from "../../lib/export/index.js";
import { appInfo, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let pool: pg.Pool;
const schemas: string[] = [];

before(() => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
});
after(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await pool.end();
});

const one = async <R>(sql: string, params: unknown[]) => (await pool.query(sql, params)).rows[0] as R;

describe("dev core PostgreSQL layout: postgresql plugin 9.5", () => {
  it("prefix st: st_ tables, prefixed constraints, time_joined, pagination indexes, cascading keys", async () => {
    const schema = `StmLayout_${uniqueId()}`;
    schemas.push(schema.toLowerCase());
    const storage = await PostgresStorage.create(pool, { schema, tablePrefix: "st" });
    assert.equal(storage.schema, schema.toLowerCase());
    assert.equal(storage.tablePrefix, "st_");
    const s = schema.toLowerCase();

    const tables = (
      await pool.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [s])
    ).rows.map((r: { table_name: string }) => r.table_name);
    for (const t of [
      "app_id_to_user_id",
      "all_auth_recipe_users",
      "emailpassword_users",
      "emailpassword_user_to_tenant",
      "recipe_user_account_infos",
      "recipe_user_tenants",
      "primary_user_tenants",
    ])
      assert.ok(tables.includes(`st_${t}`), `st_${t} exists`);
    assert.ok(
      tables.every((t) => t.startsWith("st_")),
      "every table carries the prefix",
    );

    const cols = (
      await pool.query(
        `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'st_app_id_to_user_id' AND column_name LIKE '%time_joined'
          ORDER BY 1`,
        [s],
      )
    ).rows;
    assert.deepEqual(cols, [
      {
        column_name: "primary_or_recipe_user_time_joined",
        data_type: "bigint",
        is_nullable: "NO",
        column_default: "0",
      },
      { column_name: "time_joined", data_type: "bigint", is_nullable: "NO", column_default: "0" },
    ]);

    const indexes = (await pool.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1`, [s])).rows.map(
      (r: { indexname: string }) => r.indexname,
    );
    for (const i of [1, 2, 3, 4]) {
      assert.ok(indexes.includes(`app_id_to_user_id_pagination_index${i}`));
      assert.ok(indexes.includes(`all_auth_recipe_users_pagination_index${i}`));
    }
    for (const i of [
      "all_auth_recipe_users_primary_user_id_index",
      "all_auth_recipe_users_recipe_id_index",
      "all_auth_recipe_user_app_id_index",
      "idx_recipe_user_tenants_account_info",
      "idx_primary_user_tenants_primary",
    ])
      assert.ok(indexes.includes(i), i);

    // Every key to app_id_to_user_id (app_id, user_id) cascades updates too (confupdtype 'c').
    const keys = (
      await pool.query(
        `SELECT c.conname, c.confupdtype FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = $1 AND c.contype = 'f' AND c.confrelid = to_regclass($2)
          ORDER BY 1`,
        [s, `${s}.st_app_id_to_user_id`],
      )
    ).rows as { conname: string; confupdtype: string }[];
    assert.deepEqual(
      keys.map((k) => k.conname),
      [
        "st_all_auth_recipe_users_primary_or_recipe_user_id_fkey",
        "st_all_auth_recipe_users_user_id_fkey",
        "st_app_id_to_user_id_primary_or_recipe_user_id_fkey",
        "st_emailpassword_pswd_reset_tokens_user_id_fkey",
        "st_emailpassword_users_user_id_fkey",
        "st_passwordless_users_user_id_fkey",
        "st_thirdparty_users_user_id_fkey",
        "st_userid_mapping_supertokens_user_id_fkey",
      ],
    );
    assert.ok(keys.every((k) => k.confupdtype === "c"));
  });

  it("signs up under a prefix (a duplicate email is still refused); export reads it as core 12 LEGACY", async () => {
    const schema = `stm_layout_${uniqueId()}`;
    schemas.push(schema);
    const core = await startDevCore({
      config: { bcrypt_log_rounds: 4 },
      storage: await PostgresStorage.create(pool, { schema, tablePrefix: "st" }),
    });
    try {
      resetSdk();
      supertokens.init({ supertokens: { connectionURI: core.url }, appInfo, recipeList: [EmailPassword.init()] });
      const r = await EmailPassword.signUp("public", "pre@example.com", "password-1");
      assert.equal(r.status, "OK");
      assert.equal(
        (await EmailPassword.signUp("public", "pre@example.com", "password-2")).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      // LEGACY mode leaves app_id_to_user_id.time_joined at the 0 sentinel, as plugin 9.5.3 does.
      const row = await one<{ time_joined: string }>(
        `SELECT time_joined FROM ${schema}.st_app_id_to_user_id WHERE user_id = $1`,
        [r.status === "OK" ? r.user.id : ""],
      );
      assert.equal(row.time_joined, "0");

      const out = new PassThrough();
      out.resume();
      const report = await exportSuperTokens({ db: pool, out, schema, tablePrefix: "st" });
      assert.equal(report.users, 1);
      assert.equal(report.coreLayout, "core 12.x (postgresql plugin 9.5)");
      assert.equal(report.migrationMode, "LEGACY");
    } finally {
      await core.close();
    }
  });

  it('schema "public" leaves names unqualified: the connection\'s search_path decides, as for the core', async () => {
    const schema = `stm_layout_${uniqueId()}`;
    schemas.push(schema);
    const client = new pg.Client({ connectionString: requireEnv("DATABASE_URL") });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`SET search_path TO ${schema}`);
      await PostgresStorage.create(client);
      const found = await one<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name =
          'emailpassword_users'`,
        [schema],
      );
      assert.equal(found.n, 1);
    } finally {
      await client.end();
    }
  });

  it("a database an earlier dev core created (no time_joined columns) is brought to the 9.5 layout", async () => {
    const schema = `stm_layout_${uniqueId()}`;
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA ${schema}`);
    await pool.query(`CREATE TABLE ${schema}.apps (app_id VARCHAR(64) NOT NULL DEFAULT 'public' PRIMARY KEY,
      created_at_time BIGINT)`);
    await pool.query(`CREATE TABLE ${schema}.app_id_to_user_id (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL, recipe_id VARCHAR(128) NOT NULL, primary_or_recipe_user_id CHAR(36) NOT NULL,
      is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (app_id, user_id))`);
    await pool.query(`INSERT INTO ${schema}.apps VALUES ('public', 0)`);
    await pool.query(`INSERT INTO ${schema}.app_id_to_user_id VALUES ('public', $1, 'emailpassword', $1, FALSE)`, [
      "00000000-0000-4000-8000-000000000001",
    ]);
    await PostgresStorage.create(pool, { schema });
    const row = await one<{ time_joined: string; primary_or_recipe_user_time_joined: string }>(
      `SELECT time_joined, primary_or_recipe_user_time_joined FROM ${schema}.app_id_to_user_id`,
      [],
    );
    assert.deepEqual(row, { time_joined: "0", primary_or_recipe_user_time_joined: "0" });
    const idx = await one<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE ` +
        `'app_id_to_user_id_pagination%'`,
      [schema],
    );
    assert.equal(idx.n, 4);
  });
});
