import { log } from "../../debug.js";
import { UnavailableError, ConfigError, isMigrateError } from "../../errors.js";
import { invalidOption, readOptions, booleanOption, type OptionKeys } from "../../options.js";
import { withDeadline } from "../../deadline.js";
import { isPlainIdentifier, isValidSchemaName, quoteIdent, type SqlDriver } from "../../sql.js";
import {
  COORDINATOR_DEFAULTS,
  COORDINATOR_KEYS,
  checkTtl,
  createCoordinator,
  hashSid,
  type Backend,
  type ClaimReply,
  type CoordinatorOptions,
  type MigrationCoordinator,
} from "../coordinator.js";

const debug = log.extend("session");

/*
 * The coordinator on PostgreSQL, for apps whose sessions live there (connect-pg-simple) and that run no Redis.
 * One row per legacy session, keyed by sha256(sid) hex (never the sid, T19), holding the three things the Redis
 * coordinator keeps in three keys: the claim (token + expiry), the published result (+ expiry) and the
 * "migrated before" marker (+ expiry). `expires_at` is the latest of the three, for the sweep.
 *
 * Every step is one statement, so it is atomic under the row lock PostgreSQL takes for it: the claim is an
 * upsert that updates only a free row (checked on the locked, latest row version, also under READ COMMITTED),
 * publish and release are compare-and-set UPDATEs on the claim token. Expiry is compared with the database's
 * clock, the one clock every process sharing the table agrees on.
 *
 * Waiting polls (10 ms doubling to 200 ms, bounded by waitMs), as with Redis, rather than LISTEN/NOTIFY: LISTEN
 * needs a connection held out of the app's pool for the life of the process and does not work through a
 * transaction-pooling PgBouncer, while waits only happen when several first requests of one legacy session
 * race, last about one migration (tens of ms) and cost a primary-key lookup per poll.
 *
 * Expired parts of a row are ignored on read and overwritten by the next claim (lazy expiry); whole rows whose
 * every part expired are deleted by a sweep on an unref'd timer, in batches, so it never keeps the process alive
 * nor holds a long lock.
 */

export interface PostgresCoordinatorOptions extends CoordinatorOptions {
  /** The table's name: letters, digits, `_`, `$` (at most 63 bytes). Default "stm_migration_claims". */
  table?: string;
  /** Its schema (lowercase, as psql users type it). Default: the connection's `search_path` (usually public). */
  schema?: string;
  /**
   * Create the schema (when named) and table on first use, `IF NOT EXISTS`. Default true. Set false when the
   * app's database role may not create tables, and run the SQL of docs/coordinators.md in a migration instead.
   */
  createTable?: boolean;
  /** Deadline for each query, in ms. Default 1000. */
  timeoutMs?: number;
  /**
   * How often rows whose every part expired are deleted, in ms. Default 60000. The timer never keeps the
   * process alive; several processes sweeping the same table is harmless.
   */
  sweepIntervalMs?: number;
}

/** What createPostgresMigrationCoordinator returns: a coordinator, plus control of its sweep. */
export interface PostgresMigrationCoordinator extends MigrationCoordinator {
  /** Deletes rows whose every part has expired now; resolves with how many. The periodic sweep calls it. */
  sweep(): Promise<number>;
  /** Stops the periodic sweep (the pool is the app's: it is not ended). */
  close(): void;
}

const POSTGRES_COORDINATOR_KEYS = {
  ...COORDINATOR_KEYS,
  table: true,
  schema: true,
  createTable: true,
  timeoutMs: true,
  sweepIntervalMs: true,
} satisfies OptionKeys<PostgresCoordinatorOptions>;

export const POSTGRES_COORDINATOR_DEFAULTS = Object.freeze({
  table: "stm_migration_claims",
  sweepIntervalMs: 60_000,
  /** Rows one sweep statement deletes at most, so a backlog never holds one long lock. */
  sweepBatch: 1000,
});

/** The version of the table's layout, in its COMMENT: a later layout can tell an old table from its own. */
const TABLE_FORMAT = "supertokens-migrate coordinator v1";

const what = "createPostgresMigrationCoordinator";

/** `$n` milliseconds as an interval. */
const ms = (n: number) => `($${n}::float8 * interval '1 millisecond')`;

/** The DDL for `name` (already quoted and qualified); `indexName` quoted. Also printed in docs/coordinators.md. */
export function coordinatorTableSql(name: string, indexName: string): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${name} (
  key text PRIMARY KEY,
  lock_token text,
  lock_expires_at timestamptz,
  result text,
  result_expires_at timestamptz,
  migrated_expires_at timestamptz,
  expires_at timestamptz NOT NULL
)`,
    `CREATE INDEX IF NOT EXISTS ${indexName} ON ${name} (expires_at)`,
    `COMMENT ON TABLE ${name} IS '${TABLE_FORMAT}'`,
  ];
}

export function createPostgresMigrationCoordinator(
  pool: SqlDriver,
  options: PostgresCoordinatorOptions = {},
): PostgresMigrationCoordinator {
  const o = readOptions(what, options, POSTGRES_COORDINATOR_KEYS);
  if (pool === null || typeof pool !== "object" || typeof (pool as { query?: unknown }).query !== "function") {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_CLIENT",
      `${what}: the first argument must be a pg Pool (or Client) with query(); pass new pg.Pool({ connectionString })` +
        ` — the same pool connect-pg-simple uses is fine.`,
    );
  }
  const tableName = o.table ?? POSTGRES_COORDINATOR_DEFAULTS.table;
  if (!isPlainIdentifier(tableName))
    throw invalidOption(what, "table", "a plain identifier (letters, digits, _ or $; at most 63 bytes)", tableName);
  if (o.schema !== undefined && (typeof o.schema !== "string" || !isValidSchemaName(o.schema)))
    throw invalidOption(what, "schema", "a lowercase identifier such as public", o.schema);
  const createTable = booleanOption(what, "createTable", o.createTable, true);
  const timeoutMs = o.timeoutMs ?? COORDINATOR_DEFAULTS.timeoutMs;
  checkTtl("timeoutMs", timeoutMs);
  const sweepIntervalMs = o.sweepIntervalMs ?? POSTGRES_COORDINATOR_DEFAULTS.sweepIntervalMs;
  checkTtl("sweepIntervalMs", sweepIntervalMs);

  const schema = o.schema === undefined ? "" : `${quoteIdent(o.schema)}.`;
  const t = `${schema}${quoteIdent(tableName)}`;
  const index = quoteIdent(`${tableName}_expires_at`.slice(0, 63));

  const live = (col: string) => `(${col}_expires_at IS NOT NULL AND ${col}_expires_at > now())`;
  // Precedence as in the Redis scripts: a result first, then "migrated before", then a live claim.
  const stateOf = (row: string) =>
    `CASE WHEN ${row}.result IS NOT NULL AND ${live(`${row}.result`)} THEN 'DONE'
          WHEN ${live(`${row}.migrated`)} THEN 'MIGRATED'
          WHEN ${row}.lock_token IS NOT NULL AND ${live(`${row}.lock`)} THEN 'BUSY'
          ELSE 'FREE' END`;
  const SELECT_STATE = `SELECT ${stateOf("c")} AS status, c.result FROM ${t} AS c WHERE c.key = $1`;
  const free = `(${stateOf("c")}) = 'FREE'`;
  // DO UPDATE ... WHERE: PostgreSQL evaluates it on the latest version of the conflicting row, under its lock,
  // so of any number of racing upserts exactly one finds the row free; the others return no row and write nothing.
  const CLAIM = `INSERT INTO ${t} AS c (key, lock_token, lock_expires_at, expires_at)
    VALUES ($1, $2, now() + ${ms(3)}, now() + ${ms(3)})
    ON CONFLICT (key) DO UPDATE SET
      lock_token = EXCLUDED.lock_token,
      lock_expires_at = EXCLUDED.lock_expires_at,
      expires_at = greatest(c.expires_at, EXCLUDED.expires_at)
    WHERE ${free}
    RETURNING 'WON' AS status`;
  const PUBLISH = `UPDATE ${t} SET lock_token = NULL, lock_expires_at = NULL, result = $3,
      result_expires_at = now() + ${ms(4)}, migrated_expires_at = now() + ${ms(5)},
      expires_at = greatest(expires_at, now() + ${ms(4)}, now() + ${ms(5)})
    WHERE key = $1 AND lock_token = $2 AND lock_expires_at > now()`;
  const RELEASE = `UPDATE ${t} SET lock_token = NULL, lock_expires_at = NULL
    WHERE key = $1 AND lock_token = $2 AND lock_expires_at > now()`;
  const END_REUSE = `UPDATE ${t} SET
      result = CASE WHEN $2::float8 = 0 THEN NULL ELSE result END,
      result_expires_at = CASE WHEN $2::float8 = 0 THEN NULL ELSE now() + ${ms(2)} END
    WHERE key = $1 AND result IS NOT NULL AND result_expires_at > now() + ${ms(2)}`;
  const SWEEP = `DELETE FROM ${t} WHERE key IN (
    SELECT key FROM ${t} WHERE expires_at <= now() LIMIT ${POSTGRES_COORDINATOR_DEFAULTS.sweepBatch})`;

  let ready: Promise<void> | undefined;
  /** The table exists (created once per coordinator when `createTable`); a failure is retried on the next call. */
  function ensureTable(): Promise<void> {
    if (!createTable) return Promise.resolve();
    ready ??= (async () => {
      const statements = [
        ...(o.schema === undefined ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(o.schema)}`]),
        ...coordinatorTableSql(t, index),
      ];
      for (const sql of statements) {
        try {
          await pool.query(sql);
        } catch (err) {
          // Two processes creating the same table at once: one of them loses a race inside the catalog
          // (unique_violation on pg_type, or duplicate_table/duplicate_object) although the table now exists.
          const code = (err as { code?: unknown }).code;
          if (code !== "23505" && code !== "42P07" && code !== "42710") throw err;
        }
      }
      debug("PostgreSQL coordinator table %s ready", t);
    })();
    ready.catch(() => (ready = undefined));
    return ready;
  }

  type Result = { rows: unknown[]; rowCount?: number | null };
  /** One step under its deadline; `onLate` sees the query's own outcome when the deadline won the race. */
  async function run(sql: string, params: unknown[], step: string, onLate?: (late: Promise<Result>) => void) {
    try {
      // Creating the table is DDL, which waits for catalog locks: it gets a longer deadline than a step, once.
      if (createTable) await withDeadline(ensureTable(), timeoutMs * 10, "PostgreSQL table creation");
      let call: Promise<Result>;
      try {
        call = Promise.resolve(pool.query(sql, params));
      } catch (err) {
        call = Promise.reject(err);
      }
      try {
        return await withDeadline(call, timeoutMs, `PostgreSQL ${step}`);
      } catch (err) {
        if (isMigrateError(err)) onLate?.(call);
        throw err;
      }
    } catch (err) {
      if (isMigrateError(err)) {
        debug("PostgreSQL %s timed out after %d ms", step, timeoutMs);
        throw err;
      }
      const code = (err as { code?: unknown }).code;
      debug("PostgreSQL %s failed: %s", step, code ?? (err instanceof Error ? err.name : typeof err));
      throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", `PostgreSQL ${step} failed`, { cause: err });
    }
  }

  function parseState(rows: unknown[], allowWon: boolean): ClaimReply | { status: "FREE" } {
    const row = rows[0] as { status?: unknown; result?: unknown } | undefined;
    if (row === undefined) return { status: "FREE" };
    switch (row.status) {
      case "DONE":
        if (typeof row.result === "string") return { status: "DONE", result: row.result };
        break;
      case "MIGRATED":
      case "BUSY":
      case "FREE":
        return { status: row.status };
      case "WON":
        if (allowWon) return { status: "WON" };
    }
    throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", "PostgreSQL answered a migration step unexpectedly");
  }

  const backend: Backend = {
    async claim(h, token, lockTtlMs) {
      // Look first: most claims meet a result or a live claim (the other requests of a page load), and a read
      // costs PostgreSQL no row version. Only a free row pays for the upsert, which decides atomically.
      const seen = parseState((await run(SELECT_STATE, [h], "migration claim")).rows, false);
      if (seen.status !== "FREE") return seen;
      // Timed out, the upsert may still land and hold the lock under a token nobody has: release it once it
      // has (a release sent at the deadline could reach PostgreSQL first, on another pooled connection).
      const releaseWhenLanded = (late: Promise<Result>) => {
        late.then(
          () => Promise.resolve(pool.query(RELEASE, [h, token])).catch(() => undefined),
          () => undefined,
        );
      };
      const claimed = await run(CLAIM, [h, token, lockTtlMs], "migration claim", releaseWhenLanded);
      if (parseState(claimed.rows, true).status === "WON") return { status: "WON" };
      // Another request took the row between our read and our upsert: read what it holds now. Free again (it
      // gave up meanwhile) reads as BUSY: the caller waits, sees the claim abandoned, and claims again.
      const now = parseState((await run(SELECT_STATE, [h], "migration claim")).rows, false);
      return now.status === "FREE" ? { status: "BUSY" } : now;
    },
    async publish(h, token, result, resultTtlMs, migratedTtlMs) {
      const r = await run(PUBLISH, [h, token, result, resultTtlMs, migratedTtlMs], "migration publish");
      return r.rowCount === 1;
    },
    async release(h, token) {
      return (await run(RELEASE, [h, token], "migration release")).rowCount === 1;
    },
    async peek(h) {
      const seen = parseState((await run(SELECT_STATE, [h], "migration wait")).rows, false);
      if (seen.status === "DONE" || seen.status === "BUSY") return seen;
      return { status: "FREE" };
    },
    async endReuse(h, withinMs) {
      await run(END_REUSE, [h, withinMs], "reuse end");
    },
  };

  let sweeping = false;
  async function sweep(): Promise<number> {
    let total = 0;
    for (;;) {
      const r = await run(SWEEP, [], "sweep");
      const n = r.rowCount ?? 0;
      total += n;
      if (n < POSTGRES_COORDINATOR_DEFAULTS.sweepBatch) break;
    }
    if (total > 0) debug("PostgreSQL coordinator swept %d expired row(s)", total);
    return total;
  }
  const timer = setInterval(() => {
    if (sweeping) return;
    sweeping = true;
    sweep()
      .catch((err: { code?: unknown }) => debug("PostgreSQL coordinator sweep failed (%s)", err?.code))
      .finally(() => (sweeping = false));
  }, sweepIntervalMs);
  timer.unref();

  debug(
    "PostgreSQL coordinator on %s (createTable %s, timeout %d ms, sweep every %d ms)",
    t,
    createTable,
    timeoutMs,
    sweepIntervalMs,
  );
  const coordinator = createCoordinator(backend, options, hashSid);
  return Object.assign(coordinator, {
    sweep,
    close() {
      clearInterval(timer);
    },
  });
}
