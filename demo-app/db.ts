import { mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";

/**
 * node-postgres' `query(text, values)`: what connect-pg-simple, createPgLegacyUsers() and the dev core's
 * PostgresStorage all take. A pg Pool is one; so is the embedded database below.
 */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

export interface Database extends Queryable {
  /** Run several statements at once (schema set-up). */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  /** For the start-up banner. */
  readonly description: string;
}

/**
 * PGlite has no lock of its own, and two processes writing one data directory corrupt it (`npm run demo:legacy`
 * still running when `npm run demo` starts). A lock file with the owner's pid refuses the second; one left by a
 * process that died is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, "demo.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number((await readFile(file, "utf8").catch(() => "")).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(`another demo (pid ${owner}) is using ${dataDir}; stop it first (Ctrl-C in its terminal)`, {
          cause: err,
        });
      }
      await rm(file, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The embedded PostgreSQL: PGlite persisted to `dataDir/pgdata`, one process at a time. `shownAs` names the
 * directory in `description` (shown on the admin page): a path relative to the project, never one on disk.
 */
export async function openPglite(dataDir: string, shownAs = path.basename(dataDir)): Promise<Database> {
  await mkdir(dataDir, { recursive: true });
  const unlock = await lockDataDir(dataDir);
  let db: PGlite;
  try {
    db = await PGlite.create(path.join(dataDir, "pgdata"));
  } catch (err) {
    await unlock();
    throw err;
  }
  return {
    description: `embedded PostgreSQL (PGlite) in ${shownAs}`,
    async query<R>(sql: string, params: unknown[] = []) {
      const result = await db.query<R>(sql, params);
      return { rows: result.rows };
    },
    async exec(sql) {
      await db.exec(sql);
    },
    async close() {
      await db.close();
      await unlock();
    },
  };
}

/** A real PostgreSQL; `schema` goes first on the search path so unqualified names land in it. */
export async function openPostgres(connectionString: string, schema: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString, max: 5, options: `-c search_path=${quoteIdent(schema)},public` });
  // An idle client's error (server restarted) must not crash the demo; the next query reconnects.
  pool.on("error", () => {});
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  const host = (() => {
    try {
      const u = new URL(connectionString);
      return `${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      return "PostgreSQL";
    }
  })();
  return {
    description: `PostgreSQL at ${host} (schema ${schema})`,
    query: <R>(sql: string, params?: unknown[]) => pool.query<R & pg.QueryResultRow>(sql, params),
    async exec(sql) {
      await pool.query(sql);
    },
    close: () => pool.end(),
  };
}

export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name))
    throw new Error(`not a plain SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
