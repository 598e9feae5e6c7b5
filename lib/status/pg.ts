import { withDeadline } from "../deadline.js";
import { ConfigError, UnavailableError, isMigrateError } from "../errors.js";
import { statusLog } from "./log.js";

/** What the status runs SQL through: a `pg` Pool or Client (a Pool's `connect()` gives the users pass its cursor). */
export interface StatusPg {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[]; fields?: { name: string; dataTypeID: number }[] }>;
}

export interface PgResult<R> {
  rows: R[];
  fields: { name: string; dataTypeID: number }[];
}

/**
 * One statement with a deadline. A missing table or column is the caller's mistake (ConfigError naming `fix`);
 * anything else from the server or the connection is an outage (503).
 */
export async function pgQuery<R>(
  db: StatusPg,
  sql: string,
  params: unknown[],
  timeoutMs: number,
  what: string,
  fix: string,
): Promise<PgResult<R>> {
  let call: Promise<{ rows: unknown[]; fields?: { name: string; dataTypeID: number }[] }>;
  try {
    call = Promise.resolve(db.query(sql, params));
  } catch (err) {
    call = Promise.reject(err);
  }
  try {
    const res = await withDeadline(call, timeoutMs, `PostgreSQL ${what}`);
    return { rows: res.rows as R[], fields: res.fields ?? [] };
  } catch (err) {
    if (isMigrateError(err)) throw err;
    const code = (err as { code?: unknown }).code;
    // 42P01 undefined_table, 42703 undefined_column, 42601 syntax_error, 3F000 invalid_schema_name,
    // 25006 read_only_sql_transaction: the users query tried to write.
    if (["42P01", "42703", "42601", "3F000", "25006"].includes(String(code))) {
      throw new ConfigError("ERR_MIGRATE_INVALID_OPTION", `status: ${what} failed: ${(err as Error).message}. ${fix}`);
    }
    statusLog("PostgreSQL %s failed: %s", what, err instanceof Error ? `${err.name} ${String(code)}` : typeof err);
    throw new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", `status: PostgreSQL ${what} failed`, { cause: err });
  }
}
