import type { Writable } from "node:stream";
import { rejectUnknownKeys } from "../options.js";
import { isValidSchemaName } from "../sql.js";
import { ConfigError } from "../errors.js";

/** What the export needs from a driver: a `pg.Pool`, a `pg.Client` (for one snapshot) or PGlite. */
export interface ExportQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: any[] }>;
}

export type ExportFormat = "ndjson" | "csv";

export interface ExportOptions {
  /** The SuperTokens core's database. Required. Pass one client inside a REPEATABLE READ transaction for a consistent snapshot (the CLI does). */
  db: ExportQueryable;
  /** Where users go; in NDJSON also the reset-token and key sections unless `tokensOut` / `keysOut` are given. Required. */
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
  /** Separate output for the access-token signing keys (private keys included). Default: none (a section of `out` in NDJSON). */
  keysOut?: Writable;
  /** Users read per query (keyset pagination). Default 1000. */
  pageSize?: number;
  /** Reset tokens that expire at or before this instant (ms since epoch) are left out. Default: when the export starts. */
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

const validKeys = ["db", "out", "schema", "tablePrefix", "appId", "format", "tokensOut", "keysOut", "pageSize", "now"] as const;

const isWritable = (v: unknown): v is Writable => typeof (v as Writable | undefined)?.write === "function";

/** Resolve once per export: every default here, every check with the value received and the way out. */
export function resolveExportOptions(input: ExportOptions): ExportConfig {
  if (typeof input !== "object" || input === null) throw new ConfigError("exportSuperTokens: options must be an object with at least `db` and `out`.");
  rejectUnknownKeys("exportSuperTokens", input, validKeys);
  if (typeof input.db?.query !== "function") {
    throw new ConfigError("exportSuperTokens: `db` must have a query(sql, params) method (a pg.Pool, pg.Client or PGlite); received " + typeof input.db + ".");
  }
  if (!isWritable(input.out)) throw new ConfigError("exportSuperTokens: `out` must be a writable stream, e.g. fs.createWriteStream(path) or process.stdout.");
  for (const name of ["tokensOut", "keysOut"] as const) {
    if (input[name] !== undefined && !isWritable(input[name])) {
      throw new ConfigError(`exportSuperTokens: \`${name}\` must be a writable stream or undefined (undefined: a section of \`out\` in NDJSON).`);
    }
  }
  const schema = input.schema ?? "public";
  if (typeof schema !== "string" || !isValidSchemaName(schema)) {
    throw new ConfigError(`exportSuperTokens: \`schema\` must be a lower-case PostgreSQL identifier; received ${JSON.stringify(schema)}. Leave it undefined for "public".`);
  }
  const tablePrefix = input.tablePrefix ?? "";
  if (typeof tablePrefix !== "string" || !/^[a-z0-9_]{0,30}$/.test(tablePrefix)) {
    throw new ConfigError(`exportSuperTokens: \`tablePrefix\` must match [a-z0-9_]{0,30} (the core's postgresql_table_names_prefix); received ${JSON.stringify(tablePrefix)}.`);
  }
  const appId = input.appId ?? "public";
  if (typeof appId !== "string" || !/^[a-z0-9-]{1,64}$/.test(appId)) {
    throw new ConfigError(`exportSuperTokens: \`appId\` must be a core app id ([a-z0-9-], 1 to 64 characters); received ${JSON.stringify(appId)}. Leave it undefined for "public".`);
  }
  const format = input.format ?? "ndjson";
  if (format !== "ndjson" && format !== "csv") {
    throw new ConfigError(`exportSuperTokens: \`format\` must be "ndjson" or "csv"; received ${JSON.stringify(format)}.`);
  }
  const pageSize = input.pageSize ?? 1000;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100_000) {
    throw new ConfigError(`exportSuperTokens: \`pageSize\` must be an integer from 1 to 100000; received ${JSON.stringify(pageSize)}. Leave it undefined for 1000.`);
  }
  const now = input.now ?? Date.now();
  if (!Number.isFinite(now)) throw new ConfigError(`exportSuperTokens: \`now\` must be milliseconds since the epoch; received ${JSON.stringify(input.now)}.`);
  return Object.freeze({ db: input.db, out: input.out, schema, tablePrefix, appId, format, tokensOut: input.tokensOut, keysOut: input.keysOut, pageSize, now });
}
