/**
 * PostgreSQL identifiers, shared by everything that builds SQL from configured names (the dev core's storage, the
 * export, the legacy users table). Names are validated first and then quoted, never interpolated raw.
 */

/** A PostgreSQL identifier, quoted. Call it only with names that passed one of the checks below. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Schema names we accept: what an unquoted identifier may be, so that psql users can type it as is. */
export const isValidSchemaName = (name: string): boolean => /^[a-z_][a-z0-9_$]{0,62}$/.test(name);

// Letters, digits, `_` and `$`, not starting with a digit or `$`, as PostgreSQL allows them unquoted (any case).
const PLAIN_IDENTIFIER = /^[\p{L}_][\p{L}\p{N}_$]*$/u;

/** A name an app's table or column may have unquoted, at most 63 bytes (NAMEDATALEN - 1). */
export function isPlainIdentifier(value: unknown): value is string {
  return typeof value === "string" && PLAIN_IDENTIFIER.test(value) && Buffer.byteLength(value) <= 63;
}

/** What running SQL needs from a driver: a `pg.Pool`, a `pg.Client`, PGlite, or a wrapper of one. */
export interface SqlDriver {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/**
 * The rows of one statement, typed as the columns the statement selects (`R`). Nothing checks them at run time:
 * `R` states what the SQL returns, and BIGINT columns arrive as a string, a number or a bigint by driver.
 */
export function queryRows<R>(db: SqlDriver, sql: string, params?: unknown[]): Promise<R[]> {
  return (params === undefined ? db.query(sql) : db.query(sql, params)).then((r) => r.rows as R[]);
}
