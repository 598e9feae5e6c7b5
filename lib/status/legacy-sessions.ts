import { pgQuery, type StatusPg } from "./pg.js";
import { readValues, scanKeys, type RedisCommandClient } from "./redis.js";
import { SessionTally, type SessionsStatus } from "./sessions.js";
import { statusLog } from "./log.js";

export type SessionSource =
  | { kind: "redis"; client: RedisCommandClient; prefix: string }
  /** `table`: the session table, already validated and quoted (schema-qualified when a schema was named). */
  | { kind: "postgres"; db: StatusPg; table: string };

export interface ReadLimits {
  pageSize: number;
  timeoutMs: number;
  now: number;
}

/**
 * The sessions as the legacy app's store keeps them, read across every process that shares the store:
 *
 * - connect-redis: one key `<prefix><sid>` per session holding the JSON payload, with a TTL (SET … EX);
 * - connect-pg-simple: one row per session, `sid` (primary key), `sess` (json) and `expire` (timestamp).
 *
 * Both are read a page at a time (SCAN; keyset pagination on the primary key) and tallied as they come, so a store
 * of millions of sessions costs time, never memory.
 */
export async function readLegacySessions(
  source: SessionSource,
  userId: (data: Record<string, unknown>) => string | undefined,
  limits: ReadLimits,
): Promise<SessionsStatus> {
  const tally = new SessionTally(userId, limits.now);
  if (source.kind === "redis") {
    for await (const keys of scanKeys(source.client, source.prefix, limits.pageSize, limits.timeoutMs)) {
      // SCAN may return a key twice across pages; a repeated key is rare and only while the keyspace rehashes.
      for (const { value, expiresAt } of await readValues(source.client, keys, limits.timeoutMs, limits.now))
        tally.add({ value, storeExpiresAt: expiresAt });
    }
  } else {
    let after = "";
    for (;;) {
      // expire as epoch ms computed by the server: connect-pg-simple writes to_timestamp() into a column without a
      // time zone, so only the server can turn it back into an instant the same way.
      const { rows } = await pgQuery<{ sid: string; sess: unknown; expire_ms: string | number | null }>(
        source.db,
        `SELECT sid, sess, (extract(epoch FROM expire::timestamptz) * 1000)::float8 AS expire_ms ` +
          `FROM ${source.table} WHERE sid > $1 ORDER BY sid LIMIT $2`,
        [after, limits.pageSize],
        limits.timeoutMs,
        "reading the session table",
        "Pass the table connect-pg-simple uses (`tableName`, default session; `schemaName`).",
      );
      for (const row of rows)
        tally.add({ value: row.sess, storeExpiresAt: row.expire_ms === null ? undefined : Number(row.expire_ms) });
      if (rows.length < limits.pageSize) break;
      after = rows[rows.length - 1].sid;
    }
  }
  const result = tally.result(source.kind);
  statusLog(
    "legacy sessions (%s): %d signed in, %d anonymous, %d expired, %d unreadable",
    source.kind,
    result.loggedIn,
    result.anonymous,
    result.expired,
    result.unreadable,
  );
  return result;
}
