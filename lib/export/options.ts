import type { Writable } from "node:stream";
import {
  enumOption,
  integerIn,
  invalidOption,
  missingOption,
  readOptions,
  shown,
  stringOption,
  type OptionKeys,
} from "../options.js";
import { isValidSchemaName } from "../sql.js";
import { ConfigError } from "../errors.js";

/** What the export needs from a driver: a `pg.Pool`, a `pg.Client` (for one snapshot) or PGlite. */
export interface ExportQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

export type ExportFormat = "ndjson" | "csv";

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
  /** Schema of the core's tables (the core's `postgresql_table_schema`). Default `"public"`. */
  schema?: string;
  /** The core's `postgresql_table_names_prefix`, e.g. `"st_"`. Default `""`. */
  tablePrefix?: string;
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
  readonly schema: string;
  readonly tablePrefix: string;
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
  const schema = stringOption(what, "schema", o.schema, EXPORT_DEFAULTS.schema, {
    expected: "a lower-case PostgreSQL identifier",
    test: isValidSchemaName,
    fix: 'Leave it undefined for "public".',
  });
  const tablePrefix = stringOption(what, "tablePrefix", o.tablePrefix, EXPORT_DEFAULTS.tablePrefix, {
    allowEmpty: true,
    expected: "[a-z0-9_]{0,30} (the core's postgresql_table_names_prefix)",
    test: (p) => /^[a-z0-9_]{0,30}$/.test(p),
  });
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
    appId,
    format,
    tokensOut: o.tokensOut,
    keysOut: o.keysOut,
    pageSize,
    now,
  });
}
