import { Command, InvalidArgumentError, Option } from "commander";
import { ConfigError, UnavailableError } from "../errors.js";
import { importFields, parseColumnMap } from "../import/options.js";
import { rejectUnknownKeys } from "../options.js";
import { formatStatus } from "../status/format.js";
import { formatProgress } from "../status/progress.js";
import type { MigrationStatusOptions } from "../status/options.js";
import type { StatusPg } from "../status/pg.js";
import type { RedisCommandClient } from "../status/redis.js";
import { migrationStatus, type MigrationStatus } from "../status/status.js";

interface StatusCliOptions {
  sessions?: string;
  sessionPrefix?: string;
  sessionTable?: string;
  sessionSchema?: string;
  from?: string;
  query?: string;
  map?: string;
  core?: string;
  apiKey?: string;
  appId?: string;
  coordinator?: string;
  coordinatorPrefix?: string;
  coordinatorTable?: string;
  coordinatorSchema?: string;
  timeout?: number;
  json?: boolean;
}

export interface Closable {
  close(): Promise<void>;
}

const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);
const isRedisUrl = (url: string) => /^rediss?:\/\//.test(url);

/** A node-redis client for `url`, or a ConfigError naming the flag when `redis` is not installed. */
export async function openRedis(url: string, flag: string, timeoutMs: number): Promise<RedisCommandClient & Closable> {
  let mod: { createClient?: (options: unknown) => unknown; default?: { createClient?: (options: unknown) => unknown } };
  try {
    mod = (await import("redis")) as typeof mod;
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_DEPENDENCY",
      `${flag} needs the \`redis\` package (npm install redis). ${(err as Error).message}`,
    );
  }
  const createClient = mod.createClient ?? mod.default?.createClient;
  // No reconnecting: a status run that cannot reach Redis should say so at once, not retry forever.
  const client = createClient!({ url, socket: { reconnectStrategy: false, connectTimeout: timeoutMs } }) as {
    on(event: string, listener: (err: Error) => void): void;
    connect(): Promise<unknown>;
    sendCommand(args: string[]): Promise<unknown>;
    close?: () => Promise<void>;
    quit?: () => Promise<unknown>;
    destroy?: () => void;
  };
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new UnavailableError(
      "ERR_MIGRATE_STORE_UNAVAILABLE",
      `${flag}: cannot connect to Redis: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  return {
    sendCommand: (args) => client.sendCommand(args),
    async close() {
      if (client.close) await client.close().catch(() => client.destroy?.());
      else await client.quit?.().catch(() => client.destroy?.());
    },
  };
}

/** A pg Pool for `url`; pg is an optional peer, loaded on demand. */
export async function openPg(url: string, flag: string): Promise<StatusPg & Closable> {
  let mod: { default?: { Pool: new (o: object) => unknown }; Pool?: new (o: object) => unknown };
  try {
    mod = await import("pg");
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_DEPENDENCY",
      `${flag} needs the \`pg\` package (npm install pg). ${(err as Error).message}`,
    );
  }
  const Pool = (mod.default?.Pool ?? mod.Pool)!;
  const pool = new Pool({
    connectionString: url,
    max: 2,
    application_name: "supertokens-migrate status",
  }) as StatusPg & {
    on(event: string, listener: (err: Error) => void): void;
    end(): Promise<void>;
  };
  pool.on("error", () => {});
  return Object.assign(pool, { close: () => pool.end() });
}

/** `--core` with `--app-id`, as the import takes them. */
export function coreUri(core: string, appId: string | undefined): string {
  if (appId === undefined || appId === "public") return core;
  if (!/^[a-z0-9-]+$/.test(appId)) throw new InvalidArgumentError("--app-id must match [a-z0-9-]+");
  return `${core.replace(/\/+$/, "")}/appid-${appId}`;
}

/** Reads the stores the flags name, closes every connection it opened, and prints text or JSON. */
export async function runStatus(opts: StatusCliOptions, out: { write(s: string): unknown }): Promise<MigrationStatus> {
  const timeoutMs = opts.timeout ?? 10_000;
  const opened: Closable[] = [];
  const open = async <T extends Closable>(p: Promise<T>) => {
    const c = await p;
    opened.push(c);
    return c;
  };
  if (opts.core !== undefined && opts.from === undefined)
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_OPTION",
      "status: --core counts the legacy users who moved; give the users table too, with --from and --query.",
    );
  if (opts.sessions === undefined && opts.from === undefined && opts.coordinator === undefined)
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_OPTION",
      "status: name what to read: --sessions <url>, --from <url> --query <sql> (with --core), --coordinator <url>.",
    );
  try {
    const options: MigrationStatusOptions = { timeoutMs };
    if (opts.sessions !== undefined) {
      if (isRedisUrl(opts.sessions)) {
        options.sessions = {
          redis: await open(openRedis(opts.sessions, "--sessions", timeoutMs)),
          prefix: opts.sessionPrefix,
        };
      } else if (isPostgresUrl(opts.sessions)) {
        options.sessions = {
          pool: await open(openPg(opts.sessions, "--sessions")),
          tableName: opts.sessionTable,
          schemaName: opts.sessionSchema,
        };
      } else {
        throw new ConfigError(
          "ERR_MIGRATE_INVALID_OPTION",
          "status: --sessions must be a redis:// URL (connect-redis) or a postgres:// URL (connect-pg-simple).",
        );
      }
    }
    if (opts.from !== undefined) {
      if (!isPostgresUrl(opts.from))
        throw new ConfigError("ERR_MIGRATE_INVALID_OPTION", "status: --from must be a PostgreSQL URL (postgres://…).");
      if (opts.query === undefined)
        throw new ConfigError(
          "ERR_MIGRATE_MISSING_OPTION",
          "status: --from needs --query: a SELECT returning one row per user.",
        );
      const map = opts.map === undefined ? {} : parseColumnMap(opts.map);
      // The import's --map works here unchanged; the status reads the id and hash columns only.
      rejectUnknownKeys("status: `--map`", map, importFields);
      options.users = {
        pool: await open(openPg(opts.from, "--from")),
        query: opts.query,
        columns: { id: map.id, passwordHash: map.passwordHash },
      };
    } else if (opts.query !== undefined) {
      throw new ConfigError("ERR_MIGRATE_MISSING_OPTION", "status: --query needs --from, the legacy database's URL.");
    }
    if (opts.core !== undefined) options.core = { connectionURI: coreUri(opts.core, opts.appId), apiKey: opts.apiKey };
    if (opts.coordinator !== undefined && isPostgresUrl(opts.coordinator)) {
      options.coordinator = {
        pool: await open(openPg(opts.coordinator, "--coordinator")),
        table: opts.coordinatorTable,
        schema: opts.coordinatorSchema,
      };
    } else if (opts.coordinator !== undefined) {
      if (!isRedisUrl(opts.coordinator))
        throw new ConfigError(
          "ERR_MIGRATE_INVALID_OPTION",
          "status: --coordinator must be a redis:// URL (createRedisMigrationCoordinator) or a postgres:// URL " +
            "(createPostgresMigrationCoordinator).",
        );
      if (opts.coordinatorPrefix === undefined)
        throw new ConfigError(
          "ERR_MIGRATE_MISSING_OPTION",
          "status: a Redis --coordinator needs --coordinator-prefix, the `prefix` given to " +
            'createRedisMigrationCoordinator (e.g. "stm:").',
        );
      options.coordinator = {
        redis: await open(openRedis(opts.coordinator, "--coordinator", timeoutMs)),
        prefix: opts.coordinatorPrefix,
      };
    }
    // A long read says how far it is, on a terminal only (a pipe or a file gets the result alone).
    if (process.stderr.isTTY) options.onProgress = (p) => process.stderr.write(formatProgress(p));
    const status = await migrationStatus(options);
    out.write(opts.json ? JSON.stringify(status, null, 2) + "\n" : formatStatus(status));
    return status;
  } finally {
    await Promise.all(opened.map((c) => c.close().catch(() => {})));
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** `supertokens-migrate status`: what is left of the migration, and which parts can be retired. */
export function statusCommand(): Command {
  return new Command("status")
    .description(
      "Read the legacy session store, the users table with the core, and the coordinator, across all processes; " +
        "print what is left and whether each part can be retired, with the next step. Reads only.",
    )
    .option(
      "--sessions <url>",
      "the legacy session store: redis://… (connect-redis) or postgres://… (connect-pg-simple)",
    )
    .option("--session-prefix <prefix>", "connect-redis' key prefix (default sess:)")
    .option("--session-table <name>", "connect-pg-simple's table (default session)")
    .option("--session-schema <name>", "connect-pg-simple's schema (default: the search_path)")
    .option("--from <url>", "PostgreSQL URL of the legacy database (as for import)")
    .option("--query <sql>", "SELECT returning one row per legacy user (with --from)")
    .option(
      "--map <pairs>",
      "source columns, as for import; status reads id and passwordHash (default id, password_hash)",
    )
    .option("--core <url>", "the SuperTokens core's URL, to count the users who moved")
    .addOption(new Option("--api-key <key>", "the core's API key").env("SUPERTOKENS_API_KEY"))
    .option("--app-id <id>", "the core's app (default: the one --core addresses)")
    .option("--coordinator <url>", "the migration coordinator's redis://… or postgres://… (as dualSession() uses it)")
    .option("--coordinator-prefix <prefix>", "the Redis coordinator's key prefix")
    .option("--coordinator-table <name>", "the PostgreSQL coordinator's table (default stm_migration_claims)")
    .option("--coordinator-schema <name>", "the PostgreSQL coordinator's schema (default: the search_path)")
    .option("--timeout <ms>", "deadline per call to a store or the core (default 10000)", positiveInt)
    .option("--json", "print the status as JSON (the data migrationStatus() returns)")
    .action(async (opts: StatusCliOptions) => {
      await runStatus(opts, process.stdout);
    });
}
