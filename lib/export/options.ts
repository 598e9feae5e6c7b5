import type { Writable } from "node:stream";
import {
  enumOption,
  integerIn,
  invalidOption,
  missingOption,
  objectOption,
  readOptions,
  shown,
  stringOption,
  type OptionKeys,
} from "../options.js";

import { ConfigError } from "../errors.js";

/** An identifier PostgreSQL accepts unquoted (the core writes every name unquoted), at most 63 characters. */
const isUnquotedIdentifier = (s: string): boolean => /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(s);

/** What PostgreSQL makes of an unquoted name: ASCII letters lower-cased. */
const foldIdentifier = (s: string): string => s.trim().toLowerCase();

/** What the export needs from a driver: a `pg.Pool`, a `pg.Client` (for one snapshot) or PGlite. */
export interface ExportQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type ExportFormat = "ndjson" | "csv";

/** The core's `migration_mode` (plugin 9.5): which user tables it reads tenants from. */
export type MigrationMode = "LEGACY" | "DUAL_WRITE_READ_OLD" | "DUAL_WRITE_READ_NEW" | "MIGRATED";
export const MIGRATION_MODES: readonly MigrationMode[] = [
  "LEGACY",
  "DUAL_WRITE_READ_OLD",
  "DUAL_WRITE_READ_NEW",
  "MIGRATED",
];

/** The postgresql plugin's per-table name settings, by the table they rename. */
export interface ExportTableNames {
  /** `postgresql_emailpassword_users_table_name` */
  emailpasswordUsers?: string;
  /** `postgresql_emailpassword_pswd_reset_tokens_table_name` */
  passwordResetTokens?: string;
  /** `postgresql_emailverification_verified_emails_table_name` */
  verifiedEmails?: string;
  /** `postgresql_key_value_table_name` */
  keyValue?: string;
  /** `postgresql_session_info_table_name` */
  sessionInfo?: string;
}

/** Which core table each per-table setting renames. */
export const RENAMABLE_TABLES = {
  emailpasswordUsers: "emailpassword_users",
  passwordResetTokens: "emailpassword_pswd_reset_tokens",
  verifiedEmails: "emailverification_verified_emails",
  keyValue: "key_value",
  sessionInfo: "session_info",
} as const satisfies Record<keyof ExportTableNames, string>;

export interface ExportOptions {
  /**
   * The SuperTokens core's database. Required. Pass one client inside a REPEATABLE READ transaction for a consistent
   * snapshot (the CLI does).
   */
  db: ExportQueryable;
  /**
   * Where users go; in NDJSON also the reset-token and key sections unless `tokensOut` / `keysOut` are given. Required.
   */
  out: Writable;
  /**
   * Schema of the core's tables: the core's `postgresql_table_schema` (or `currentSchema` of its connection URI), as
   * written in its config. The core writes it unquoted, so PostgreSQL folds it to lower case, and so does the
   * export. With `"public"` the core does not qualify its tables and they land in the first schema of its role's
   * `search_path`: the export then finds them through this connection's `search_path`. Default `"public"`.
   */
  schema?: string;
  /**
   * The core's `postgresql_table_names_prefix`, as written in its config, e.g. `"st"`: like the core, the export
   * puts `_` between a non-empty prefix and each table name (`st_emailpassword_users`). Default `""`.
   */
  tablePrefix?: string;
  /**
   * The core's per-table name settings, for a core that sets them. Such a name replaces prefix and table name
   * (the core adds no prefix to it). Default: none.
   */
  tableNames?: ExportTableNames;
  /**
   * The app's `migration_mode` (cores 12+ with postgresql plugin 9.5+), when its config.yaml sets it. Default: read
   * from the app's tenant config in the database, else `"LEGACY"`, as the core does.
   */
  migrationMode?: MigrationMode;
  /** App whose users are exported. Default `"public"`. */
  appId?: string;
  /** Default `"ndjson"`. CSV writes users only to `out`; tokens and keys need `tokensOut` / `keysOut`. */
  format?: ExportFormat;
  /** Separate output for the still-valid password-reset token hashes. Default: none (a section of `out` in NDJSON). */
  tokensOut?: Writable;
  /**
   * Separate output for the access-token signing keys (private keys included). Default: none (a section of `out` in
   * NDJSON).
   */
  keysOut?: Writable;
  /** Users read per query (keyset pagination). Default 1000. */
  pageSize?: number;
  /**
   * Reset tokens that expire at or before this instant (ms since epoch) are left out. Default: when the export starts.
   */
  now?: number;
}

export interface ExportConfig {
  readonly db: ExportQueryable;
  readonly out: Writable;
  /** Lower-cased, as PostgreSQL stores the core's unquoted name. */
  readonly schema: string;
  /** As given (the core's setting). */
  readonly tablePrefix: string;
  /** Core table name (e.g. "emailpassword_users") to the name in the database: prefix or setting applied. */
  readonly tableName: (name: string) => string;
  readonly migrationMode: MigrationMode | undefined;
  readonly appId: string;
  readonly format: ExportFormat;
  readonly tokensOut: Writable | undefined;
  readonly keysOut: Writable | undefined;
  readonly pageSize: number;
  readonly now: number;
}

/** Every option of exportSuperTokens: the build fails when ExportOptions gains one not listed. */
const EXPORT_KEYS = {
  db: true,
  out: true,
  schema: true,
  tablePrefix: true,
  tableNames: true,
  migrationMode: true,
  appId: true,
  format: true,
  tokensOut: true,
  keysOut: true,
  pageSize: true,
  now: true,
} satisfies OptionKeys<ExportOptions>;

/** Every default of exportSuperTokens, and nowhere else (`now` defaults to when the export starts). */
export const EXPORT_DEFAULTS = Object.freeze({
  schema: "public",
  tablePrefix: "",
  appId: "public",
  format: "ndjson",
  pageSize: 1000,
});

const FORMATS: readonly ExportFormat[] = ["ndjson", "csv"];
const what = "exportSuperTokens";

const isWritable = (v: unknown): v is Writable => typeof (v as Writable | undefined)?.write === "function";

/** Resolve once per export: every default here, every check with the value received and the way out. */
export function resolveExportOptions(input: ExportOptions): ExportConfig {
  const o = readOptions(what, input, EXPORT_KEYS, "with at least `db` and `out`");
  if (o.db === undefined)
    throw missingOption(what, "db", "the SuperTokens core's database: a pg.Pool, pg.Client or PGlite.");
  if (typeof o.db?.query !== "function") {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_CLIENT",
      `exportSuperTokens: \`db\` must have a query(sql, params) method (a pg.Pool, pg.Client or PGlite); received ` +
        `${shown(o.db)}.`,
    );
  }
  if (o.out === undefined)
    throw missingOption(what, "out", "a writable stream, e.g. fs.createWriteStream(path) or process.stdout.");
  if (!isWritable(o.out))
    throw invalidOption(what, "out", "a writable stream", o.out, "E.g. fs.createWriteStream(path) or process.stdout.");
  for (const name of ["tokensOut", "keysOut"] as const) {
    if (o[name] !== undefined && !isWritable(o[name])) {
      throw invalidOption(
        what,
        name,
        "a writable stream or undefined (undefined: a section of `out` in NDJSON)",
        o[name],
      );
    }
  }
  const schema = foldIdentifier(
    stringOption(what, "schema", o.schema, EXPORT_DEFAULTS.schema, {
      expected: "a PostgreSQL identifier as the core's postgresql_table_schema holds it ([A-Za-z_][A-Za-z0-9_$]*)",
      test: (s) => isUnquotedIdentifier(s.trim()),
      fix: 'Leave it undefined for "public".',
    }),
  );
  const tablePrefix = stringOption(what, "tablePrefix", o.tablePrefix, EXPORT_DEFAULTS.tablePrefix, {
    allowEmpty: true,
    expected: "[A-Za-z0-9_]{0,30} (the core's postgresql_table_names_prefix)",
    test: (p) => /^[A-Za-z0-9_]{0,30}$/.test(p.trim()),
  });
  const names =
    objectOption(what, "tableNames", o.tableNames, "an object of table names", Object.keys(RENAMABLE_TABLES)) ?? {};
  const renamed = new Map<string, string>();
  for (const [key, table] of Object.entries(RENAMABLE_TABLES)) {
    const value = names[key as keyof ExportTableNames];
    if (value === undefined) continue;
    if (typeof value !== "string" || !isUnquotedIdentifier(value.trim()))
      throw invalidOption(
        what,
        `tableNames.${key}`,
        "a table name as the core's setting holds it ([A-Za-z_][A-Za-z0-9_$]*)",
        value,
      );
    renamed.set(table, foldIdentifier(value));
  }
  // The core trims the prefix and adds "_" when it is not empty (PostgreSQLConfig.validateAndNormalise).
  const prefix = tablePrefix.trim() === "" ? "" : `${foldIdentifier(tablePrefix)}_`;
  const tableName = (name: string) => renamed.get(name) ?? `${prefix}${name}`;
  const migrationMode = enumOption(what, "migrationMode", o.migrationMode, MIGRATION_MODES, undefined);
  const appId = stringOption(what, "appId", o.appId, EXPORT_DEFAULTS.appId, {
    expected: "a core app id ([a-z0-9-], 1 to 64 characters)",
    test: (a) => /^[a-z0-9-]{1,64}$/.test(a),
    fix: 'Leave it undefined for "public".',
  });
  const format = enumOption(what, "format", o.format, FORMATS, EXPORT_DEFAULTS.format);
  const pageSize = integerIn(
    what,
    "pageSize",
    o.pageSize,
    1,
    100_000,
    EXPORT_DEFAULTS.pageSize,
    "Leave it undefined for 1000.",
  );
  const now = o.now ?? Date.now();
  if (typeof now !== "number" || !Number.isFinite(now))
    throw invalidOption(what, "now", "milliseconds since the epoch", o.now);
  return Object.freeze({
    db: o.db,
    out: o.out,
    schema,
    tablePrefix,
    tableName,
    migrationMode,
    appId,
    format,
    tokensOut: o.tokensOut,
    keysOut: o.keysOut,
    pageSize,
    now,
  });
}
