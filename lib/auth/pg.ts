import { missingOption, objectOption, readOptions, type OptionKeys } from "../options.js";
import { ConfigError } from "../errors.js";
import { isPlainIdentifier, queryRows, quoteIdent } from "../sql.js";
import type { LegacyUser } from "./options.js";

/** Anything with node-postgres' `query(text, values)`: a `pg.Pool`, a `pg.Client`, or a wrapper. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export interface PgLegacyUsersOptions {
  /** A `pg` Pool (or Client). Required. legacyAuth never ends it. */
  pool?: PgQueryable;
  /** Table name, as stored (unquoted names are lower case in PostgreSQL). Required. */
  table?: string;
  /** Schema of the table. Default: none, PostgreSQL's search_path decides. */
  schema?: string;
  /**
   * Column names. Default `{ id: "id", email: "email", passwordHash: "password_hash" }`, and no roles. `roles`: a
   * column holding the user's roles, given to them as SuperTokens UserRoles when they move: `text` with one role or
   * a comma-separated list, `text[]`, or a `json`/`jsonb` array.
   */
  columns?: { id?: string; email?: string; passwordHash?: string; roles?: string };
}

export interface PgLegacyUsers {
  findUserByEmail(email: string, tenantId?: string): Promise<LegacyUser | LegacyUser[] | undefined>;
  findUserById(id: string): Promise<LegacyUser | undefined>;
  findUsersByIds(ids: readonly string[]): Promise<LegacyUser[]>;
  countLegacyUsers(): Promise<number>;
  /** Pages in primary-key order: pass the last id of a page as `after` for the next. */
  listLegacyUsers(page: { after?: string; limit: number }): Promise<LegacyUser[]>;
}

/** Every option of createPgLegacyUsers: the build fails when PgLegacyUsersOptions gains one not listed. */
const PG_LEGACY_USERS_KEYS = {
  pool: true,
  table: true,
  schema: true,
  columns: true,
} satisfies OptionKeys<PgLegacyUsersOptions>;
const COLUMN_KEYS = { id: true, email: true, passwordHash: true, roles: true } satisfies OptionKeys<
  NonNullable<PgLegacyUsersOptions["columns"]>
>;

/** Every default of createPgLegacyUsers, and nowhere else. */
export const PG_LEGACY_USERS_DEFAULTS = Object.freeze({
  columns: Object.freeze({ id: "id", email: "email", passwordHash: "password_hash" }),
});

const what = "createPgLegacyUsers";

function identifier(option: string, value: unknown): string {
  if (!isPlainIdentifier(value)) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `createPgLegacyUsers: \`${option}\` must be a plain PostgreSQL identifier (letters, digits, _ or $, at most ` +
        `63 bytes); ` +
        `received ${JSON.stringify(value)}. Give the name as stored, e.g. "users", without quotes or a schema ` +
        `prefix (use \`schema\`).`,
    );
  }
  return quoteIdent(value);
}

/** Which id strings can be compared with the key column without a type error (a UUID column rejects "42"). */
function idFilter(pgType: string | undefined): (id: string) => boolean {
  switch (pgType) {
    case "smallint":
    case "integer":
    case "bigint":
      return (id) =>
        /^-?\d{1,19}$/.test(id) && BigInt(id) <= 9223372036854775807n && BigInt(id) >= -9223372036854775808n;
    case "numeric":
      return (id) => /^-?\d+(\.\d+)?$/.test(id);
    case "uuid":
      return (id) => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(id);
    default:
      return () => true;
  }
}

/**
 * The legacy store for the most common case: a PostgreSQL users table. Emails match after trim + lower case, as
 * SuperTokens normalises them; for large tables add `CREATE INDEX ON users (lower(btrim(email)))`.
 *
 *     legacyAuth({ ...createPgLegacyUsers({ pool, table: "users" }) })
 */
export function createPgLegacyUsers(options: PgLegacyUsersOptions): PgLegacyUsers {
  const o = readOptions(what, options, PG_LEGACY_USERS_KEYS, "{ pool, table }");
  const { pool } = o;
  if (!pool || typeof pool.query !== "function") {
    throw new ConfigError(
      pool === undefined ? "ERR_MIGRATE_MISSING_OPTION" : "ERR_MIGRATE_INVALID_CLIENT",
      "createPgLegacyUsers: `pool` is required: a pg Pool (new pg.Pool({ connectionString })) or anything with " +
        "query(text, values).",
    );
  }
  const columns = objectOption(
    what,
    "columns",
    o.columns,
    "an object { id?, email?, passwordHash?, roles? }",
    COLUMN_KEYS,
  );
  const defaults = PG_LEGACY_USERS_DEFAULTS.columns;
  if (o.table === undefined)
    throw missingOption(what, "table", 'the legacy users table, as stored, e.g. "users" (a schema goes in `schema`).');
  const table = (o.schema === undefined ? "" : `${identifier("schema", o.schema)}.`) + identifier("table", o.table);
  const idName = columns?.id ?? defaults.id;
  const id = identifier("columns.id", idName);
  const email = identifier("columns.email", columns?.email ?? defaults.email);
  const hash = identifier("columns.passwordHash", columns?.passwordHash ?? defaults.passwordHash);
  const roles = columns?.roles === undefined ? undefined : identifier("columns.roles", columns.roles);
  // text, text[], json and jsonb all arrive as the driver gives them (a string, an array, a parsed array).
  const rolesColumn = roles === undefined ? "" : `, ${roles} AS roles`;
  const select =
    `SELECT ${id}::text AS id, ${email} AS email, ${hash}::text AS password_hash${rolesColumn} ` + `FROM ${table}`;

  type UserRow = { id: string; email: string; password_hash: string | null; roles?: LegacyUser["roles"] };
  const toUser = (row: UserRow): LegacyUser => ({
    id: row.id,
    email: row.email,
    passwordHash: row.password_hash,
    ...(roles === undefined ? {} : { roles: row.roles ?? null }),
  });

  let keyType: Promise<(id: string) => boolean> | undefined;
  const acceptsId = async (value: string) => {
    // The key column's type, read once: comparing `id = $1` keeps the primary-key index usable, but only for
    // values of the column's type.
    keyType ??= queryRows<{ t: string }>(
      pool,
      "SELECT format_type(atttypid, NULL) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2",
      [table, idName],
    )
      .then((rows) => idFilter(rows[0]?.t))
      .catch((err) => {
        keyType = undefined;
        throw err;
      });
    return (await keyType)(value);
  };

  return {
    async findUserByEmail(value) {
      // LIMIT 2: enough to tell one row from a collision, which legacyAuth refuses to resolve.
      const rows = await queryRows<UserRow>(pool, `${select} WHERE lower(btrim(${email})) = lower(btrim($1)) LIMIT 2`, [
        value,
      ]);
      if (rows.length === 0) return undefined;
      return rows.length === 1 ? toUser(rows[0]) : rows.map(toUser);
    },
    async findUserById(value) {
      if (!(await acceptsId(value))) return undefined;
      const rows = await queryRows<UserRow>(pool, `${select} WHERE ${id} = $1`, [value]);
      return rows[0] ? toUser(rows[0]) : undefined;
    },
    async findUsersByIds(values) {
      const usable: string[] = [];
      for (const v of values) if (await acceptsId(v)) usable.push(v);
      if (usable.length === 0) return [];
      const rows = await queryRows<UserRow>(pool, `${select} WHERE ${id} = ANY($1)`, [usable]);
      return rows.map(toUser);
    },
    async countLegacyUsers() {
      const rows = await queryRows<{ n: string }>(pool, `SELECT count(*)::text AS n FROM ${table}`);
      return Number(rows[0].n);
    },
    async listLegacyUsers({ after, limit }) {
      const bounded = Math.max(1, Math.min(Math.floor(limit), 10_000));
      const rows =
        after === undefined
          ? await queryRows<UserRow>(pool, `${select} ORDER BY ${id} LIMIT $1`, [bounded])
          : await queryRows<UserRow>(pool, `${select} WHERE ${id} > $1 ORDER BY ${id} LIMIT $2`, [after, bounded]);
      return rows.map(toUser);
    },
  };
}
