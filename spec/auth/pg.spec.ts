import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import { createPgLegacyUsers } from "../../lib/auth/index.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let pool: pg.Pool;
const schema = `legacy_${uniqueId()}`;

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 3 });
  await pool.query(`CREATE SCHEMA ${schema}`);
  // A table that is not called users, with other column names, a UUID key and a padded CHAR hash column.
  await pool.query(
    `CREATE TABLE ${schema}."Accounts" (user_id uuid PRIMARY KEY, mail text NOT NULL, pw_hash char(64))`,
  );
  await pool.query(`CREATE TABLE ${schema}.people (id bigint PRIMARY KEY, email text NOT NULL, password_hash text)`);
});
after(async () => {
  await pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await pool.end();
});

describe("createPgLegacyUsers", () => {
  describe("options", () => {
    const bad: Array<[string, Record<string, unknown>, RegExp, string?]> = [
      ["an injected table name", { table: "users; DROP TABLE users" }, /`table` must be a plain PostgreSQL identifier/],
      ["no table", {}, /`table` is required/, "ERR_MIGRATE_MISSING_OPTION"],
      ["a quoted table name", { table: '"users"' }, /`table`/],
      ["a schema-qualified table name", { table: "public.users" }, /use `schema`/],
      ["a name over 63 bytes", { table: "u".repeat(64) }, /at most 63 bytes/],
      ["a name starting with a digit", { table: "1users" }, /`table`/],
      ["a bad column", { table: "users", columns: { email: "e-mail" } }, /`columns.email`/],
      ["a bad schema", { table: "users", schema: "x y" }, /`schema`/],
      ["an unknown option", { table: "users", tabel: "users" }, /Did you mean `table`/, "ERR_MIGRATE_UNKNOWN_OPTION"],
      [
        "an unknown column key",
        { table: "users", columns: { hash: "h" } },
        /Did you mean `id`|unknown option `hash`/,
        "ERR_MIGRATE_UNKNOWN_OPTION",
      ],
    ];
    for (const [name, options, message, code = "ERR_MIGRATE_INVALID_OPTION"] of bad) {
      it(`rejects ${name} with ${code}`, () => {
        assert.throws(
          () => createPgLegacyUsers({ pool, ...options }),
          (err: NodeJS.ErrnoException) => {
            assert.equal(err.code, code);
            assert.match(err.message, message);
            return true;
          },
        );
      });
    }

    it("requires a pool", () => {
      assert.throws(() => createPgLegacyUsers({ table: "users" }), {
        code: "ERR_MIGRATE_MISSING_OPTION",
        message: /`pool` is required/,
      });
      assert.throws(() => createPgLegacyUsers({ pool: {} as never, table: "users" }), {
        code: "ERR_MIGRATE_INVALID_CLIENT",
        message: /`pool` is required/,
      });
    });
  });

  describe("with a UUID key, custom columns, a schema and a mixed-case table name", () => {
    const store = () =>
      createPgLegacyUsers({
        pool,
        schema,
        table: "Accounts",
        columns: { id: "user_id", email: "mail", passwordHash: "pw_hash" },
      });
    const ids = [randomUUID(), randomUUID(), randomUUID()];

    before(async () => {
      for (const [i, id] of ids.entries()) {
        await pool.query(`INSERT INTO ${schema}."Accounts" VALUES ($1, $2, $3)`, [
          id,
          i === 0 ? "  Alice@Example.COM " : `user${i}@example.com`,
          `$2b$10$${"a".repeat(53)}`,
        ]);
      }
    });

    it(
      "matches emails case-insensitively and ignoring surrounding spaces, as SuperTokens normalises " + "them",
      async () => {
        const found = await store().findUserByEmail("alice@example.com");
        assert.ok(found && !Array.isArray(found));
        assert.equal(found.id, ids[0]);
        assert.equal(found.email, "  Alice@Example.COM ");
        assert.equal(await store().findUserByEmail("nobody@example.com"), undefined);
      },
    );

    it("finds by id, and answers undefined (not an error) for ids that cannot be UUIDs", async () => {
      assert.equal((await store().findUserById(ids[1]))?.email, "user1@example.com");
      assert.equal(await store().findUserById("42"), undefined);
      assert.equal(await store().findUserById("'; DROP TABLE x; --"), undefined);
      const some = await store().findUsersByIds([ids[2], "42", randomUUID(), ids[0]]);
      assert.deepEqual(some.map((u) => u.id).sort(), [ids[0], ids[2]].sort());
    });

    it("counts and pages in key order", async () => {
      assert.equal(await store().countLegacyUsers(), 3);
      const first = await store().listLegacyUsers({ limit: 2 });
      const rest = await store().listLegacyUsers({ after: first.at(-1)!.id as string, limit: 2 });
      assert.deepEqual(
        [...first, ...rest].map((u) => u.id),
        [...ids].sort(),
      );
    });
  });

  describe("with a bigint key", () => {
    const store = () => createPgLegacyUsers({ pool, schema, table: "people" });

    before(async () => {
      await pool.query(
        `INSERT INTO ${schema}.people VALUES (1, 'bob@example.com', 'x'), (2, 'BOB@example.com', 'y'), ` +
          `(9007199254740993, 'big@example.com', NULL)`,
      );
    });

    it("returns every row when several share an email after normalisation", async () => {
      const found = await store().findUserByEmail("bob@example.com");
      assert.ok(Array.isArray(found));
      assert.equal(found.length, 2);
    });

    it("keeps ids beyond 2^53 exact, as text", async () => {
      const user = await store().findUserById("9007199254740993");
      assert.equal(user?.id, "9007199254740993");
      assert.equal(user?.passwordHash, null);
    });

    it("answers undefined for ids that are not integers or overflow bigint", async () => {
      for (const id of ["abc", "1.5", "99999999999999999999", ""])
        assert.equal(await store().findUserById(id), undefined, id);
      assert.deepEqual(
        (await store().findUsersByIds(["abc", "2", randomUUID()])).map((u) => u.id),
        ["2"],
      );
    });
  });
});
