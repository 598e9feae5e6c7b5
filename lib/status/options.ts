import { ConfigError } from "../errors.js";
import {
  functionOption,
  integerIn,
  invalidOption,
  missingOption,
  objectOption,
  positiveInteger,
  readOptions,
  stringOption,
  type OptionKeys,
} from "../options.js";
import { isPlainIdentifier, isValidSchemaName, quoteIdent } from "../sql.js";
import type { SessionSource } from "./legacy-sessions.js";
import { defaultUserId as legacyUserId } from "../legacy-user-id.js";
import type { StatusPg } from "./pg.js";
import type { StatusProgress } from "./progress.js";
import type { RedisCommandClient } from "./redis.js";
import type { CoreSource, UsersSource } from "./users.js";

/** connect-redis' store, by its client and key prefix. */
export interface RedisSessionsOptions {
  /** A connected node-redis (v4+) client on the store's Redis. Required. Never closed by the status. */
  redis: RedisCommandClient;
  /** connect-redis' `prefix`. Default `sess:`. */
  prefix?: string;
}

/** connect-pg-simple's store, by its pool and table. */
export interface PgSessionsOptions {
  /** A `pg` Pool (or Client) on the store's database. Required. Never ended by the status. */
  pool: StatusPg;
  /** connect-pg-simple's `tableName`. Default `session`. */
  tableName?: string;
  /** connect-pg-simple's `schemaName`. Default: none, the search_path decides. */
  schemaName?: string;
}

export interface RedisCoordinatorStatusOptions {
  /** A connected node-redis (v4+) client. Required. */
  redis: RedisCommandClient;
  /** The coordinator's `prefix`. Required. */
  prefix: string;
}

export interface PgCoordinatorStatusOptions {
  /** A `pg` Pool (or Client). Required. */
  pool: StatusPg;
  /** The coordinator's `table`. Default `stm_migration_claims`, as the coordinator's. */
  table?: string;
  /** The coordinator's `schema`. Default: the search_path. */
  schema?: string;
}

export interface MigrationStatusOptions {
  /** The legacy express-session store. Default: not read. */
  sessions?: RedisSessionsOptions | PgSessionsOptions;
  /**
   * The legacy user id in a stored session, as given to dualSession(); a session with one is signed in. Default:
   * dualSession's default (`passport.user`, `userId`, `user_id`, `user.id`).
   */
  userId?: (data: Record<string, unknown>) => string | undefined;
  /** The legacy users table, as `supertokens-migrate import --from --query` reads it. Default: not read. */
  users?: {
    /** A `pg` Pool (or Client) on the legacy database. Required. Never ended by the status. */
    pool: StatusPg;
    /** A SELECT returning one row per legacy user. Required. Run inside a read-only transaction. */
    query: string;
    /** Column names. Default `{ id: "id", passwordHash: "password_hash" or "passwordHash" }`. */
    columns?: { id?: string; passwordHash?: string };
  };
  /** The SuperTokens core, to count the users who moved. Default: not read. */
  core?: {
    /** The core's URL, with `/appid-<id>` for an app other than the default. Required. */
    connectionURI: string;
    /** The core's API key. Default: none. */
    apiKey?: string;
  };
  /**
   * The migration coordinator dualSession() uses: `{ redis, prefix }` for createRedisMigrationCoordinator, or
   * `{ pool, table?, schema? }` for createPostgresMigrationCoordinator. Default: not read.
   */
  coordinator?: RedisCoordinatorStatusOptions | PgCoordinatorStatusOptions;
  /**
   * Called as a long read goes (the users query, the core's users): rows done, the total when known, the time left
   * at the rate so far. At most every 2 s per phase, and once when a phase ends. Default: none (the
   * `supertokens-migrate:status` debug log has the same lines).
   */
  onProgress?: (progress: StatusProgress) => void;
  /** Keys or rows read per round trip. Default 1000. */
  pageSize?: number;
  /** Deadline for each call to a store or the core, in milliseconds. Default 10000. */
  timeoutMs?: number;
}

export interface MigrationStatusConfig {
  readonly sessions: SessionSource | undefined;
  readonly userId: (data: Record<string, unknown>) => string | undefined;
  readonly users: UsersSource | undefined;
  readonly core: CoreSource | undefined;
  readonly coordinator:
    | { readonly kind: "redis"; readonly client: RedisCommandClient; readonly prefix: string }
    /** `table`: validated and quoted, schema-qualified when a schema was named. */
    | { readonly kind: "postgres"; readonly db: StatusPg; readonly table: string }
    | undefined;
  readonly onProgress: ((progress: StatusProgress) => void) | undefined;
  readonly pageSize: number;
  readonly timeoutMs: number;
}

const KEYS = {
  sessions: true,
  userId: true,
  users: true,
  core: true,
  coordinator: true,
  onProgress: true,
  pageSize: true,
  timeoutMs: true,
} satisfies OptionKeys<MigrationStatusOptions>;
const REDIS_SESSIONS_KEYS = { redis: true, prefix: true } satisfies OptionKeys<RedisSessionsOptions>;
const PG_SESSIONS_KEYS = { pool: true, tableName: true, schemaName: true } satisfies OptionKeys<PgSessionsOptions>;
const USERS_KEYS = { pool: true, query: true, columns: true } satisfies OptionKeys<
  NonNullable<MigrationStatusOptions["users"]>
>;
const COLUMNS_KEYS = { id: true, passwordHash: true } satisfies OptionKeys<
  NonNullable<NonNullable<MigrationStatusOptions["users"]>["columns"]>
>;
const CORE_KEYS = { connectionURI: true, apiKey: true } satisfies OptionKeys<
  NonNullable<MigrationStatusOptions["core"]>
>;
const REDIS_COORDINATOR_KEYS = { redis: true, prefix: true } satisfies OptionKeys<RedisCoordinatorStatusOptions>;
const PG_COORDINATOR_KEYS = { pool: true, table: true, schema: true } satisfies OptionKeys<PgCoordinatorStatusOptions>;

/** Every default of the status, and nowhere else. */
export const STATUS_DEFAULTS = Object.freeze({
  sessionPrefix: "sess:",
  tableName: "session",
  /** As createPostgresMigrationCoordinator's default. */
  coordinatorTable: "stm_migration_claims",
  pageSize: 1000,
  timeoutMs: 10_000,
});

const what = "migrationStatus";

function redisClient(name: string, value: unknown): RedisCommandClient {
  if (value === undefined)
    throw missingOption(what, name, "a connected node-redis client (createClient() after connect()).");
  if (
    typeof value !== "object" ||
    value === null ||
    typeof (value as { sendCommand?: unknown }).sendCommand !== "function"
  )
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_CLIENT",
      `${what}: \`${name}\` must be a node-redis (v4+) client with sendCommand(); pass the result of createClient() ` +
        "after connect().",
    );
  return value as RedisCommandClient;
}

function pgPool(name: string, value: unknown): StatusPg {
  if (value === undefined) throw missingOption(what, name, "a `pg` Pool (or Client) on the database.");
  if (typeof value !== "object" || value === null || typeof (value as { query?: unknown }).query !== "function")
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_CLIENT",
      `${what}: \`${name}\` must be a \`pg\` Pool or Client (an object with query()).`,
    );
  return value as StatusPg;
}

function resolveSessions(value: MigrationStatusOptions["sessions"]): SessionSource | undefined {
  const given = objectOption(what, "sessions", value, "{ redis, prefix? } or { pool, tableName?, schemaName? }");
  if (given === undefined) return undefined;
  if ("redis" in given && "pool" in given)
    throw new ConfigError(
      "ERR_MIGRATE_CONFLICTING_OPTIONS",
      `${what}: \`sessions\` names both \`redis\` and \`pool\`; give the one store the legacy app uses.`,
    );
  if ("redis" in given) {
    objectOption(what, "sessions", given, "an object", REDIS_SESSIONS_KEYS);
    const prefix = stringOption(what, "sessions.prefix", given.prefix, STATUS_DEFAULTS.sessionPrefix, {
      allowEmpty: true,
    });
    return { kind: "redis", client: redisClient("sessions.redis", given.redis), prefix };
  }
  if ("pool" in given) {
    objectOption(what, "sessions", given, "an object", PG_SESSIONS_KEYS);
    const table = stringOption(what, "sessions.tableName", given.tableName, STATUS_DEFAULTS.tableName, {
      test: isPlainIdentifier,
      expected: "a plain PostgreSQL identifier",
    });
    const schema = stringOption(what, "sessions.schemaName", given.schemaName, undefined, {
      test: isValidSchemaName,
      expected: "a lower-case PostgreSQL schema name",
    });
    return { kind: "postgres", db: pgPool("sessions.pool", given.pool), table: qualified(table, schema) };
  }
  throw invalidOption(
    what,
    "sessions",
    "{ redis, prefix? } for connect-redis or { pool, tableName?, schemaName? } for connect-pg-simple",
    given,
  );
}

function resolveUsers(value: MigrationStatusOptions["users"]): UsersSource | undefined {
  const given = objectOption(what, "users", value, "{ pool, query, columns? }", USERS_KEYS);
  if (given === undefined) return undefined;
  const query = stringOption(what, "users.query", given.query, undefined, { expected: "a SELECT" });
  if (query === undefined || query.trim() === "")
    throw missingOption(what, "users.query", "a SELECT returning one row per legacy user.");
  const columns = objectOption(what, "users.columns", given.columns, "{ id?, passwordHash? }", COLUMNS_KEYS) ?? {};
  for (const [name, column] of Object.entries(columns))
    stringOption(what, `users.columns.${name}`, column, undefined, { expected: "a column name" });
  return {
    db: pgPool("users.pool", given.pool),
    // Wrapped as a subquery: one statement, without its terminator.
    query: query.trim().replace(/;+\s*$/, ""),
    columns: { id: columns.id, passwordHash: columns.passwordHash },
  };
}

function resolveCore(value: MigrationStatusOptions["core"]): CoreSource | undefined {
  const given = objectOption(what, "core", value, "{ connectionURI, apiKey? }", CORE_KEYS);
  if (given === undefined) return undefined;
  const uri = stringOption(what, "core.connectionURI", given.connectionURI, undefined, {
    expected: "an http(s) URL",
    test: (s) => /^https?:\/\/[^/]/.test(s) && URL.canParse(s),
  });
  if (uri === undefined) throw missingOption(what, "core.connectionURI", "the core's URL, e.g. http://localhost:3567.");
  const apiKey = stringOption(what, "core.apiKey", given.apiKey, undefined, { allowEmpty: true });
  const url = new URL(uri);
  return {
    connectionURI: `${url.origin}${url.pathname.replace(/\/+$/, "")}`,
    apiKey: apiKey === "" ? undefined : apiKey,
  };
}

function qualified(table: string, schema: string | undefined): string {
  return schema === undefined ? quoteIdent(table) : `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

function resolveCoordinator(value: MigrationStatusOptions["coordinator"]): MigrationStatusConfig["coordinator"] {
  const given = objectOption(what, "coordinator", value, "{ redis, prefix } or { pool, table?, schema? }");
  if (given === undefined) return undefined;
  if ("redis" in given && "pool" in given)
    throw new ConfigError(
      "ERR_MIGRATE_CONFLICTING_OPTIONS",
      `${what}: \`coordinator\` names both \`redis\` and \`pool\`; give the one the app's coordinator uses.`,
    );
  if ("pool" in given) {
    objectOption(what, "coordinator", given, "an object", PG_COORDINATOR_KEYS);
    const table = stringOption(what, "coordinator.table", given.table, STATUS_DEFAULTS.coordinatorTable, {
      test: isPlainIdentifier,
      expected: "a plain PostgreSQL identifier",
    });
    const schema = stringOption(what, "coordinator.schema", given.schema, undefined, {
      test: isValidSchemaName,
      expected: "a lower-case PostgreSQL schema name",
    });
    return Object.freeze({
      kind: "postgres",
      db: pgPool("coordinator.pool", given.pool),
      table: qualified(table, schema),
    });
  }
  objectOption(what, "coordinator", given, "an object", REDIS_COORDINATOR_KEYS);
  const prefix = stringOption(what, "coordinator.prefix", given.prefix, undefined, {
    expected: 'the coordinator\'s key prefix, such as "stm:"',
  });
  if (prefix === undefined)
    throw missingOption(
      what,
      "coordinator.prefix",
      'the `prefix` given to createRedisMigrationCoordinator, e.g. "stm:".',
    );
  return Object.freeze({ kind: "redis", client: redisClient("coordinator.redis", given.redis), prefix });
}

/** Validate once, before any read: each problem names the option, what was received and the fix. */
export function resolveMigrationStatusOptions(options: MigrationStatusOptions | undefined): MigrationStatusConfig {
  const o = readOptions(what, options, KEYS, "naming what to read: `sessions`, `users` (with `core`), `coordinator`");
  const coordinator = resolveCoordinator(o.coordinator);
  const config: MigrationStatusConfig = {
    sessions: resolveSessions(o.sessions),
    userId:
      functionOption(what, "userId", o.userId, "Pass the same `userId` function given to dualSession().") ??
      legacyUserId,
    users: resolveUsers(o.users),
    core: resolveCore(o.core),
    coordinator,
    onProgress: functionOption(what, "onProgress", o.onProgress, "Pass a function called with each progress report."),
    pageSize: integerIn(what, "pageSize", o.pageSize, 1, 100_000, STATUS_DEFAULTS.pageSize),
    timeoutMs: positiveInteger(what, "timeoutMs", o.timeoutMs, STATUS_DEFAULTS.timeoutMs, "number of milliseconds"),
  };
  if (config.core !== undefined && config.users === undefined)
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_OPTION",
      `${what}: \`core\` is read to count the legacy users who moved; give \`users\` ({ pool, query }) as well.`,
    );
  if (!config.sessions && !config.users && !config.coordinator)
    throw missingOption(what, "sessions", "name at least one part to read: `sessions`, `users` or `coordinator`.");
  return Object.freeze(config);
}
