import { ConfigError } from "../errors.js";
import { isPendingEmail } from "../pending-email.js";
import { quoteIdent } from "../sql.js";
import { coreUserCount, coreUserPages, emailPasswordEmail } from "./core.js";
import { HASH_CLASSES, classifyHash, type HashClass } from "./hash-class.js";
import type { ReadLimits } from "./legacy-sessions.js";
import { statusLog } from "./log.js";
import { pgQuery, type StatusPg } from "./pg.js";
import { progressOf, type StatusProgress } from "./progress.js";

export interface UsersStatus {
  /** Rows the users query returns: every legacy user. */
  total: number;
  /** Legacy users who are in SuperTokens under their legacy id; null when the core was not read. */
  moved: number | null;
  /** Legacy users not in SuperTokens yet; null when the core was not read. */
  legacyOnly: number | null;
  /**
   * Legacy-only users by what their hash allows (every legacy user when the core was not read): `importable` can
   * move now with `supertokens-migrate finish`, the others only by signing in (legacyAuth) or by a reset.
   */
  legacyOnlyByHash: Record<HashClass, number>;
  /** Users whose move stopped half way (still under a placeholder address); null when the core was not read. */
  interrupted: number | null;
  /** Email-password users in SuperTokens, moved or signed up there; null when the core was not read. */
  superTokensUsers: number | null;
  /** null when the core was not read. */
  canRetire: boolean | null;
  nextStep: string;
}

export interface UsersSource {
  db: StatusPg;
  query: string;
  columns: { id?: string; passwordHash?: string };
}

export interface CoreSource {
  connectionURI: string;
  apiKey: string | undefined;
}

const FIX = "Check `users.query` (a SELECT returning one row per legacy user) and `users.columns`.";

/** pg type oids whose values compare with an array of the same type, so the id lookup can use the column's index. */
const INTEGER_TYPES = new Set([20, 21, 23]);
const TEXT_TYPES = new Set([25, 1043]);
const UUID_TYPE = 2950;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Cursor pages: a million users are never one result set. */
const FETCH_SIZE = 2000;

function pickColumn(found: string[], field: "id" | "passwordHash", given: string | undefined): string {
  const candidates = given !== undefined ? [given] : field === "id" ? ["id"] : ["password_hash", "passwordHash"];
  const column = candidates.find((c) => found.includes(c));
  if (column !== undefined) return column;
  throw new ConfigError(
    "ERR_MIGRATE_MISSING_COLUMN",
    `status: the users query has no ${given !== undefined ? `column ${JSON.stringify(given)}` : `${field} column`} ` +
      `(looked for ${candidates.join(", ")}). Name it with --map ${field}=<column> (\`users.columns.${field}\`). ` +
      `Columns found: ${found.join(", ") || "none"}.`,
  );
}

/** `q.<id> = ANY($1)` typed like the column when possible, with the ids that type can hold. */
function idMatch(idColumn: string, typeId: number | undefined, ids: string[]): { sql: string; ids: string[] } {
  const col = `q.${quoteIdent(idColumn)}`;
  if (typeId !== undefined && INTEGER_TYPES.has(typeId))
    return { sql: `${col} = ANY($1::bigint[])`, ids: ids.filter((id) => /^-?\d{1,18}$/.test(id)) };
  if (typeId === UUID_TYPE) return { sql: `${col} = ANY($1::uuid[])`, ids: ids.filter((id) => UUID.test(id)) };
  if (typeId !== undefined && TEXT_TYPES.has(typeId)) return { sql: `${col} = ANY($1::text[])`, ids };
  return { sql: `(${col})::text = ANY($1::text[])`, ids };
}

const emptyByHash = () => Object.fromEntries(HASH_CLASSES.map((c) => [c, 0])) as Record<HashClass, number>;

/**
 * Counts the legacy users by hash class in one read-only pass over a cursor (FETCH_SIZE rows a round trip), then
 * pages through the core's users (CORE_PAGE_SIZE a request, the next one asked for while this one is looked up) and
 * looks up each page's ids in the users query: one statement per page, by the id column's index when the query
 * lets PostgreSQL push the condition down. Memory holds a cursor page and two core pages whatever the size; time
 * grows with the number of users, one round trip per page, and is reported through `onProgress` with what is left.
 */
export function readUsers(
  source: UsersSource,
  core: CoreSource | undefined,
  limits: ReadLimits,
  onProgress?: (progress: StatusProgress) => void,
): Promise<UsersStatus> {
  return readOnly(source.db, limits.timeoutMs, (db) => readUsersIn({ ...source, db }, core, limits, onProgress));
}

async function readUsersIn(
  source: UsersSource,
  core: CoreSource | undefined,
  limits: ReadLimits,
  onProgress: ((progress: StatusProgress) => void) | undefined,
): Promise<UsersStatus> {
  const { fields } = await pgQuery(
    source.db,
    `SELECT * FROM (${source.query}) AS q LIMIT 0`,
    [],
    limits.timeoutMs,
    "the users query",
    FIX,
  );
  const found = fields.map((f) => f.name);
  const idColumn = pickColumn(found, "id", source.columns.id);
  const hashColumn = pickColumn(found, "passwordHash", source.columns.passwordHash);
  const idType = fields.find((f) => f.name === idColumn)?.dataTypeID;

  const byHash = emptyByHash();
  let total = 0;
  await pgQuery(
    source.db,
    `DECLARE supertokens_migrate_status NO SCROLL CURSOR FOR ` +
      `SELECT q.${quoteIdent(hashColumn)} AS hash FROM (${source.query}) AS q`,
    [],
    limits.timeoutMs,
    "the users query",
    FIX,
  );
  const legacyProgress = progressOf("legacy-users", undefined, onProgress);
  for (;;) {
    const { rows } = await pgQuery<{ hash: unknown }>(
      source.db,
      `FETCH FORWARD ${FETCH_SIZE} FROM supertokens_migrate_status`,
      [],
      limits.timeoutMs,
      "reading users",
      FIX,
    );
    if (rows.length === 0) break;
    for (const row of rows) byHash[classifyHash(row.hash)]++;
    total += rows.length;
    legacyProgress.advance(rows.length);
  }
  legacyProgress.finish();
  await pgQuery(source.db, "CLOSE supertokens_migrate_status", [], limits.timeoutMs, "CLOSE", FIX);

  if (core === undefined) {
    statusLog("users: %d legacy rows; the core was not read", total);
    return {
      total,
      moved: null,
      legacyOnly: null,
      legacyOnlyByHash: byHash,
      interrupted: null,
      superTokensUsers: null,
      canRetire: null,
      nextStep:
        `${total} legacy users, ${byHash.importable} with a hash the core takes. Read the core too (--core) to ` +
        "know how many have moved.",
    };
  }

  const movedByHash = emptyByHash();
  let moved = 0;
  let interrupted = 0;
  let superTokensUsers = 0;
  const coreProgress = progressOf(
    "core-users",
    await coreUserCount(core.connectionURI, core.apiKey, limits.timeoutMs),
    onProgress,
  );
  for await (const users of coreUserPages(core.connectionURI, core.apiKey, limits.timeoutMs)) {
    superTokensUsers += users.length;
    coreProgress.advance(users.length);
    for (const u of users) if (isPendingEmail(emailPasswordEmail(u))) interrupted++;
    const match = idMatch(
      idColumn,
      idType,
      users.map((u) => u.id),
    );
    if (match.ids.length === 0) continue;
    const { rows } = await pgQuery<{ hash: unknown }>(
      source.db,
      `SELECT q.${quoteIdent(hashColumn)} AS hash FROM (${source.query}) AS q WHERE ${match.sql}`,
      [match.ids],
      limits.timeoutMs,
      "looking up moved users",
      FIX,
    );
    moved += rows.length;
    for (const row of rows) movedByHash[classifyHash(row.hash)]++;
  }
  coreProgress.finish();
  moved = Math.min(moved, total);
  const legacyOnlyByHash = emptyByHash();
  for (const c of HASH_CLASSES) legacyOnlyByHash[c] = Math.max(0, byHash[c] - movedByHash[c]);
  const legacyOnly = total - moved;
  statusLog(
    "users: %d legacy, %d moved, %d interrupted, %d in SuperTokens",
    total,
    moved,
    interrupted,
    superTokensUsers,
  );
  return {
    total,
    moved,
    legacyOnly,
    legacyOnlyByHash,
    interrupted,
    superTokensUsers,
    canRetire: legacyOnly === 0 && interrupted === 0,
    nextStep: usersNextStep(legacyOnly, legacyOnlyByHash, interrupted),
  };
}

function usersNextStep(legacyOnly: number, byHash: Record<HashClass, number>, interrupted: number): string {
  const steps: string[] = [];
  if (interrupted > 0)
    steps.push(
      `${interrupted} move${interrupted === 1 ? " was" : "s were"} interrupted: call legacyAuth's ` +
        "finishPendingMigrations() (supertokens-migrate finish completes those whose hash the core takes).",
    );
  if (legacyOnly === 0) {
    if (steps.length === 0)
      steps.push(
        "Every legacy user is in SuperTokens: legacyAuth() has nothing left to move and can be removed (keep the " +
          "users table for your own foreign keys).",
      );
    return steps.join(" ");
  }
  const rest = legacyOnly - byHash.importable;
  if (byHash.importable > 0)
    steps.push(
      `${byHash.importable} user${byHash.importable === 1 ? "" : "s"} can move now with their hash: run ` +
        "supertokens-migrate finish.",
    );
  if (rest > 0)
    steps.push(
      `${rest} user${rest === 1 ? "" : "s"} can only move by sign-in or reset` +
        (byHash["missing-hash"] > 0 ? ` (${byHash["missing-hash"]} without a hash: reset only)` : "") +
        ": keep legacyAuth(), or send them a reset with sendResetToStragglers().",
    );
  return steps.join(" ");
}

/**
 * Runs `work` on one connection inside a READ ONLY transaction: the status must never be able to change the legacy
 * database, whatever the query says, and the cursor needs one connection and a transaction. A Pool lends a
 * connection (pg's Pool, told apart from a Client by its `totalCount`: a Client's `connect()` opens the connection
 * itself); a Client is used as it is.
 */
async function readOnly<T>(db: StatusPg, timeoutMs: number, work: (client: StatusPg) => Promise<T>): Promise<T> {
  const connect = (db as { connect?: unknown }).connect;
  const isPool = typeof connect === "function" && typeof (db as { totalCount?: unknown }).totalCount === "number";
  const client = isPool ? ((await (connect as () => Promise<unknown>).call(db)) as StatusPg) : db;
  let failed: unknown;
  try {
    await pgQuery(client, "BEGIN TRANSACTION READ ONLY", [], timeoutMs, "BEGIN", FIX);
    const result = await work(client);
    await pgQuery(client, "COMMIT", [], timeoutMs, "COMMIT", FIX);
    return result;
  } catch (err) {
    failed = err;
    await Promise.resolve(client.query("ROLLBACK")).catch(() => {});
    throw err;
  } finally {
    // A connection that failed mid-transaction is destroyed rather than handed back to the app's pool.
    if (isPool)
      (client as unknown as { release(err?: unknown): void }).release(failed instanceof Error ? failed : undefined);
  }
}
