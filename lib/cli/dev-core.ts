import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { PGlite as PGliteClass } from "@electric-sql/pglite";
import type PgModule from "pg";
import { startDevCore } from "../core/server.js";
import { PostgresStorage, type SqlQueryable } from "../core/storage/postgres.js";
import { ConfigError } from "../errors.js";

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError("expected a port number from 0 to 65535");
  return n;
}

function configJson(value: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError("expected a JSON object, e.g. '{\"access_token_validity\":60}'");
}

/** Where the dev core keeps its data, opened: the storage's driver and how to let it go. */
interface DataStore {
  db: SqlQueryable;
  schema: string;
  /** For the start-up line; never a password. */
  description: string;
  close(): Promise<void>;
}

const isPostgresUrl = (data: string) => /^postgres(ql)?:\/\//i.test(data);

/** A PostgreSQL database; `currentSchema` in the URL is the schema, as the real core reads it from its URI. */
async function openPostgres(url: string): Promise<DataStore> {
  let pg: typeof PgModule;
  try {
    pg = (await import("pg")).default;
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_DEPENDENCY",
      `dev-core --data <postgres url> needs the PostgreSQL client: npm install pg (${(err as Error).message})`,
    );
  }
  const parsed = new URL(url);
  const schema = parsed.searchParams.get("currentSchema")?.trim() || "public";
  parsed.searchParams.delete("currentSchema");
  const pool = new pg.Pool({ connectionString: parsed.toString(), max: 5, application_name: "supertokens dev core" });
  // An idle client's error (the server restarted) must not end the process; the next query reconnects.
  pool.on("error", () => {});
  return {
    db: pool,
    schema,
    description: `PostgreSQL ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}, schema ${schema}`,
    close: () => pool.end(),
  };
}

/**
 * A directory: an embedded PostgreSQL (PGlite) in `<dir>/pgdata`. PGlite is an optional peer dependency, so that
 * installing this package does not bring its WebAssembly build to apps that never run a dev core on disk. Two
 * processes on one PGlite directory corrupt it, so a lock file with the owner's pid refuses the second.
 */
async function openDirectory(dir: string): Promise<DataStore> {
  let PGlite: typeof PGliteClass;
  try {
    ({ PGlite } = await import("@electric-sql/pglite"));
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_DEPENDENCY",
      "dev-core --data <directory> keeps its data in an embedded PostgreSQL, PGlite, an optional peer dependency: " +
        `npm install @electric-sql/pglite (or pass --data postgres://… to use a PostgreSQL server). ` +
        `(${(err as Error).message})`,
    );
  }
  await mkdir(dir, { recursive: true });
  const unlock = await lock(path.join(dir, "dev-core.lock"));
  try {
    const db = await PGlite.create(path.join(dir, "pgdata"));
    return {
      db: {
        query: async (sql, params) => ({ rows: (await db.query(sql, params)).rows }),
      },
      schema: "public",
      description: `embedded PostgreSQL (PGlite) in ${dir}`,
      close: async () => {
        await db.close();
        await unlock();
      },
    };
  } catch (err) {
    await unlock();
    throw err;
  }
}

async function lock(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new ConfigError(
          "ERR_MIGRATE_INVALID_OPTION",
          `dev-core: another dev core (pid ${owner}) is using ${path.dirname(file)}; stop it first, or pass another ` +
            `--data directory.`,
        );
      }
      // Left by a process that died: take it over.
      await rm(file, { force: true });
    }
  }
  throw new Error(`dev-core: could not lock ${file}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

interface DevCoreCliOptions {
  port: number;
  host: string;
  apiKey?: string[];
  config?: Record<string, unknown>;
  data?: string;
}

/** `supertokens-migrate dev-core`: run the dev core until SIGINT or SIGTERM, in memory or on `--data`. */
export function devCoreCommand(): Command {
  return new Command("dev-core")
    .description(
      "Run the SuperTokens dev core (for tests, demos and tryouts, not production): in memory, or with --data in a " +
        "directory or PostgreSQL database that survives a restart",
    )
    .option("-p, --port <port>", "port to listen on (0 picks a free one)", port, 3567)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--api-key <key...>", "require one of these API keys")
    .option("--config <json>", "base core config as JSON", configJson)
    .addOption(
      new Option(
        "--data <dir|postgres url>",
        "keep users, sessions and keys in this directory (embedded PostgreSQL: npm install @electric-sql/pglite) or " +
          "PostgreSQL database (postgres://…; ?currentSchema=<schema> as for the core), in the core's table layout",
      ),
    )
    .action(async (opts: DevCoreCliOptions) => {
      const data = opts.data === undefined ? undefined : await openData(opts.data);
      let core;
      try {
        const storage = data ? await PostgresStorage.create(data.db, { schema: data.schema }) : undefined;
        core = await startDevCore({
          port: opts.port,
          host: opts.host,
          apiKeys: opts.apiKey,
          config: opts.config,
          storage,
        });
      } catch (err) {
        await data?.close().catch(() => {});
        throw err;
      }
      process.stdout.write(
        `SuperTokens dev core listening on ${core.url}\n` +
          (data ? `data: ${data.description}\n` : "data: in memory (pass --data to keep it across restarts)\n"),
      );
      const running = core;
      const stop = (signal: string) => {
        process.stdout.write(`received ${signal}, stopping\n`);
        running
          .close()
          .then(() => data?.close())
          .then(
            () => process.exit(0),
            () => process.exit(1),
          );
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}

function openData(data: string): Promise<DataStore> {
  if (data.trim() === "") throw new InvalidArgumentError("--data needs a directory or a postgres:// URL");
  return isPostgresUrl(data) ? openPostgres(data) : openDirectory(path.resolve(data));
}
