import {
  booleanOption,
  enumOption,
  invalidOption,
  readOptions,
  rejectUnknownKeys,
  shown,
  stringOption,
  type OptionKeys,
} from "../options.js";
import { ConfigError, type ConfigErrorCode } from "../errors.js";

/** The fields a source row can carry; `--map field=column` names their columns. */
export const importFields = [
  "id",
  "email",
  "passwordHash",
  "emailVerified",
  "timeJoined",
  "metadata",
  "roles",
  "thirdPartyId",
  "thirdPartyUserId",
  "thirdPartyEmailVerified",
] as const;
export type ImportField = (typeof importFields)[number];

export const importFormats = ["json", "ndjson", "csv"] as const;
export type ImportFormat = (typeof importFormats)[number];

export const importModes = ["auto", "bulk", "per-user"] as const;
export type ImportMode = (typeof importModes)[number];

/** The core's limit for one POST /bulk-import/users (BulkImport.MAX_USERS_TO_ADD). */
export const maxBatchSize = 10_000;

/**
 * Columns tried, in order, for a field the mapping does not name: snake_case as a SQL table has it, then the
 * camelCase a JSON export has.
 */
export const defaultColumns: Readonly<Record<ImportField, readonly string[]>> = Object.freeze({
  id: ["id"],
  email: ["email"],
  passwordHash: ["password_hash", "passwordHash"],
  emailVerified: ["email_verified", "emailVerified"],
  timeJoined: ["time_joined", "timeJoined"],
  metadata: ["metadata"],
  // One role, a comma-separated list, a text[] or a JSON array: they become SuperTokens UserRoles.
  roles: ["roles", "role"],
  // A third-party identity (the provider's thirdPartyId as the app's SuperTokens config names it, e.g. "google",
  // and the user's id there): it becomes a ThirdParty login method, linked to the email-password one when the row
  // has a hash too. Its email is the row's; verified as third_party_email_verified says, else as email_verified.
  thirdPartyId: ["third_party_id", "thirdPartyId"],
  thirdPartyUserId: ["third_party_user_id", "thirdPartyUserId"],
  thirdPartyEmailVerified: ["third_party_email_verified", "thirdPartyEmailVerified"],
});

export interface ImportOptions {
  /** PostgreSQL connection string of the legacy database, read in a read-only transaction. Needs `query`. */
  from?: string;
  /** A SELECT returning one row per user (with `from`). */
  query?: string;
  /** A JSON (array of objects), NDJSON or CSV (with a header row) file. One of `from` and `file` is required. */
  file?: string;
  /** Format of `file`. Default: from its extension (.json; .ndjson or .jsonl; .csv). */
  format?: ImportFormat;
  /**
   * Source column per field, as an object or as `id=user_id,email=mail`. Default: {@link defaultColumns}; a
   * named column must exist in the source.
   */
  map?: Partial<Record<ImportField, string>> | string;
  /** The SuperTokens core's URL, optionally with an `/appid-<id>` path. Required. */
  core?: string;
  /** The core's API key. Default: none (a dev core started without keys). */
  apiKey?: string;
  /** Import into this app (`/appid-<id>` is added to `core`). Default: the app `core` addresses. */
  appId?: string;
  /** `bulk`: the core's bulk-import API; `per-user`: one user at a time. Default `auto`: bulk when offered. */
  mode?: ImportMode;
  /** Users per POST /bulk-import/users. Default 1000; at most 10,000. */
  batchSize?: number;
  /** Users imported at once in per-user mode. Default 8. */
  concurrency?: number;
  /** Check everything, write nothing to the core. Default false. */
  dryRun?: boolean;
  /** Write the JSON report here. Default: no report file (the summary still goes to stdout). */
  report?: string;
  /** Seconds the core's bulk-import queue may make no progress before the run stops. Default 900. */
  stallTimeout?: number;
  /**
   * The app's email validator, as its EmailPassword `formFields` validate: an error message, or undefined when the
   * email is valid. A row whose email it refuses could never sign in, so it fails with `invalid-email`. Default:
   * supertokens-node's default EmailPassword email rule.
   */
  validateEmail?: EmailValidator;
}

/** An error message for an email the app's sign-in refuses; undefined for one it accepts. */
export type EmailValidator = (email: string) => string | undefined | Promise<string | undefined>;

export interface ImportConfig {
  readonly source:
    | { readonly kind: "postgres"; readonly url: string; readonly query: string }
    | { readonly kind: "file"; readonly path: string; readonly format: ImportFormat };
  /** Candidate columns per field; one entry when the mapping named the column. */
  readonly columns: Readonly<Record<ImportField, readonly string[]>>;
  /** Fields whose column the mapping named: a missing column is then a mistake, not an absent value. */
  readonly mapped: readonly ImportField[];
  readonly core: string;
  readonly apiKey: string | undefined;
  readonly mode: ImportMode;
  readonly batchSize: number;
  readonly concurrency: number;
  readonly dryRun: boolean;
  readonly report: string | undefined;
  readonly stallTimeoutMs: number;
  readonly validateEmail: EmailValidator | undefined;
}

/** Every option of the import: the build fails when ImportOptions gains one not listed. */
const IMPORT_KEYS = {
  from: true,
  query: true,
  file: true,
  format: true,
  map: true,
  core: true,
  apiKey: true,
  appId: true,
  mode: true,
  batchSize: true,
  concurrency: true,
  dryRun: true,
  report: true,
  stallTimeout: true,
  validateEmail: true,
} satisfies OptionKeys<ImportOptions>;

/**
 * Every default of the import, and nowhere else (columns: {@link defaultColumns}; format: from the file's extension).
 */
export const IMPORT_DEFAULTS = Object.freeze({
  mode: "auto",
  batchSize: 1000,
  concurrency: 8,
  dryRun: false,
  /** Seconds. */
  stallTimeout: 900,
});

const what = "import";

const fail = (message: string, code: ConfigErrorCode = "ERR_MIGRATE_INVALID_OPTION"): never => {
  throw new ConfigError(code, `${what}: ${message}`);
};

/** An integer from min to max, also as a string (the CLI's flags arrive as strings); `fallback` when undefined. */
function integer(name: string, value: unknown, min: number, max: number, fallback: number, fix = ""): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= min && n <= max) return n;
  throw invalidOption(what, name, `an integer from ${min} to ${max}`, value, fix);
}

function formatOf(path: string): ImportFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith(".json")) return "json";
  if (lower.endsWith(".ndjson") || lower.endsWith(".jsonl")) return "ndjson";
  if (lower.endsWith(".csv")) return "csv";
  return fail(
    `cannot tell the format of ${JSON.stringify(path)} from its extension. Pass \`--format json|ndjson|csv\`.`,
    "ERR_MIGRATE_MISSING_OPTION",
  );
}

/** `id=user_id,email=mail` → { id: "user_id", email: "mail" }. */
export function parseColumnMap(text: string): Partial<Record<ImportField, string>> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) fail(`\`map\`: ${JSON.stringify(pair)} is not field=column. Example: id=user_id,email=mail.`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return out;
}

function resolveColumns(map: ImportOptions["map"]) {
  const given = typeof map === "string" ? parseColumnMap(map) : (map ?? {});
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    fail(`\`map\` must be an object or a field=column list; received ${JSON.stringify(map)}.`);
  }
  rejectUnknownKeys(`${what}: \`map\``, given, importFields);
  const columns = { ...defaultColumns } as Record<ImportField, readonly string[]>;
  const mapped: ImportField[] = [];
  for (const [field, column] of Object.entries(given) as [ImportField, unknown][]) {
    if (typeof column !== "string" || column === "") fail(`\`map\`: the column for ${field} must be a non-empty name.`);
    columns[field] = [column as string];
    mapped.push(field);
  }
  return { columns: Object.freeze(columns), mapped: Object.freeze(mapped) };
}

/** The core URL with the app path: `--core http://h:3567 --app-id a` → `http://h:3567/appid-a`. */
function resolveCore(core: unknown, appId: unknown): string {
  if (core === undefined || core === "")
    return fail(
      "`core` is required: the SuperTokens core's URL, e.g. --core http://localhost:3567.",
      "ERR_MIGRATE_MISSING_OPTION",
    );
  if (typeof core !== "string") return fail(`\`core\` must be a URL; received ${shown(core)}.`);
  let url: URL;
  try {
    url = new URL(core);
  } catch {
    return fail(`\`core\` must be a URL; received ${JSON.stringify(core)}.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    fail(`\`core\` must be an http(s) URL; received ${JSON.stringify(core)}.`);
  let base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  if (appId !== undefined) {
    if (typeof appId !== "string" || !/^[a-z0-9-]+$/.test(appId)) {
      return fail(`\`appId\` must match [a-z0-9-]+ as the core's app ids do; received ${JSON.stringify(appId)}.`);
    }
    if (/\/appid-[^/]+/.test(url.pathname))
      fail(
        "`appId` was given and `core` already names an app (/appid-…). Pass only one.",
        "ERR_MIGRATE_CONFLICTING_OPTIONS",
      );
    if (appId !== "public") base += `/appid-${appId}`;
  }
  return base;
}

/** Validate once, before any work: every problem names the option, what was received and the fix. */
export function resolveImportOptions(options: ImportOptions): ImportConfig {
  const o = readOptions(what, options, IMPORT_KEYS, "naming a source (`from` and `query`, or `file`) and `core`");
  const { from, query, file } = o;
  let source: ImportConfig["source"];
  if (from !== undefined && file !== undefined) {
    source = fail(
      "give one source: `from` (with `query`) for PostgreSQL, or `file`; both were given.",
      "ERR_MIGRATE_CONFLICTING_OPTIONS",
    );
  } else if (from !== undefined) {
    if (typeof from !== "string" || !/^postgres(ql)?:\/\//.test(from)) {
      fail("`from` must be a PostgreSQL URL (postgres://user:password@host/db).");
    }
    if (query === undefined)
      fail("`from` needs `query`: a SELECT returning one row per user.", "ERR_MIGRATE_MISSING_OPTION");
    if (typeof query !== "string" || query.trim() === "")
      fail("`from` needs `query`: a SELECT returning one row per user.");
    if (o.format !== undefined)
      fail(
        "`format` applies to `file` only; a PostgreSQL source has rows, not a format.",
        "ERR_MIGRATE_CONFLICTING_OPTIONS",
      );
    // DECLARE … CURSOR FOR takes one statement without its terminator.
    source = { kind: "postgres", url: from, query: (query as string).trim().replace(/;+\s*$/, "") };
  } else if (file !== undefined) {
    if (typeof file !== "string" || file === "") fail("`file` must be a path.");
    if (query !== undefined) fail("`query` applies to `from` (PostgreSQL) only.", "ERR_MIGRATE_CONFLICTING_OPTIONS");
    const format = enumOption(what, "format", o.format, importFormats, undefined) ?? formatOf(file);
    source = { kind: "file", path: file, format };
  } else {
    source = fail(
      'a source is required: `--from postgres://… --query "select …"` or `--file users.json|.ndjson|.csv`.',
      "ERR_MIGRATE_MISSING_OPTION",
    );
  }
  const { columns, mapped } = resolveColumns(o.map);
  const batchSize = integer(
    "batchSize",
    o.batchSize,
    1,
    maxBatchSize,
    IMPORT_DEFAULTS.batchSize,
    "The core accepts at most 10,000 users per request.",
  );
  const concurrency = integer("concurrency", o.concurrency, 1, 256, IMPORT_DEFAULTS.concurrency);
  const stall = integer("stallTimeout", o.stallTimeout, 1, 86_400, IMPORT_DEFAULTS.stallTimeout);
  const dryRun = booleanOption(what, "dryRun", o.dryRun, IMPORT_DEFAULTS.dryRun);
  const report = stringOption(what, "report", o.report, undefined, { expected: "a file path" });
  const apiKey = stringOption(what, "apiKey", o.apiKey, undefined, { allowEmpty: true });
  if (o.validateEmail !== undefined && typeof o.validateEmail !== "function")
    throw invalidOption(what, "validateEmail", "a function (email) => error message | undefined", o.validateEmail);
  return Object.freeze({
    source: Object.freeze(source),
    columns,
    mapped,
    core: resolveCore(o.core, o.appId),
    apiKey: apiKey === "" ? undefined : apiKey,
    mode: enumOption(what, "mode", o.mode, importModes, IMPORT_DEFAULTS.mode),
    batchSize,
    concurrency,
    dryRun,
    report,
    stallTimeoutMs: stall * 1000,
    validateEmail: o.validateEmail,
  });
}
