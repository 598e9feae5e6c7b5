import { ConfigError, isMigrateError, UnavailableError } from "../errors.js";
import { normaliseEmail } from "./core-via-sdk.js";
import { authLog, maskEmail } from "./log.js";
import type { LegacyAuthConfig, LegacyUser } from "./options.js";

/** A legacy row after checking its shape: the id as the string SuperTokens will map. */
export interface LegacyRecord {
  id: string;
  email: string;
  passwordHash: string | null;
  /** The app had verified `email` (only `true` counts). */
  emailVerified: boolean;
  /** The row as the app returned it: `getRoles` receives it, and its `roles` are read from it. */
  row?: LegacyUser;
}

/**
 * `unusable`: the email exists in the legacy table but cannot be moved: several rows share it after
 * normalisation, the row is malformed, or its email is not the one asked for. It still blocks sign-up and
 * counts as existing (T13: never pick one, never let a stranger claim it).
 */
export type EmailLookup =
  | { kind: "none" }
  | { kind: "one"; user: LegacyRecord }
  | { kind: "unusable"; reason: string }
  /**
   * The store rejected the email itself as invalid (SQLSTATE class 22: a NUL byte, a character its encoding cannot
   * hold, a value too long for it). No row can have it, but callers refuse rather than treat it as free: a data
   * exception raised by the table's own rows must not open sign-up (issue 11).
   */
  | { kind: "invalid"; reason: string };

function toRecord(row: LegacyUser | null | undefined): LegacyRecord | undefined {
  if (typeof row !== "object" || row === null) return undefined;
  const { id, email, passwordHash, emailVerified } = row as Partial<LegacyUser>;
  const idText =
    typeof id === "string"
      ? id
      : typeof id === "number" && Number.isFinite(id)
        ? String(id)
        : typeof id === "bigint"
          ? String(id)
          : undefined;
  if (idText === undefined || idText.trim() === "" || typeof email !== "string") return undefined;
  if (passwordHash !== null && passwordHash !== undefined && typeof passwordHash !== "string") return undefined;
  return { id: idText, email, passwordHash: passwordHash ?? null, emailVerified: emailVerified === true, row };
}

/** The SQLSTATE of a database error: node-postgres puts it in `code`, mysql2 in `sqlState`. */
function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { sqlState: state, code } = err as { sqlState?: unknown; code?: unknown };
  return [state, code].find((c): c is string => typeof c === "string" && /^[0-9A-Z]{5}$/.test(c));
}

/**
 * SQLSTATE class 22, data exception (22021 character_not_in_repertoire, 22P05 untranslatable_character, 22001
 * string_data_right_truncation, 22P02 invalid_text_representation...): the database refused the value it was given.
 * That is invalid input, not an outage; everything else (connection errors, 57P01, 08xxx, timeouts) is.
 */
export function isInvalidInputError(err: unknown): boolean {
  return sqlState(err)?.startsWith("22") ?? false;
}

/**
 * `onInvalid`: what the lookup answers when the store rejects its input as invalid; without it, that is an outage
 * too.
 */
async function guarded<T>(what: string, run: () => Promise<T>, onInvalid?: (reason: string) => T): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isMigrateError(err)) throw err;
    if (onInvalid && isInvalidInputError(err)) {
      const reason = `the legacy users store rejected the value as invalid input (SQLSTATE ${sqlState(err)})`;
      authLog("%s: %s; answered as invalid input, not as an outage", what, reason);
      return onInvalid(reason);
    }
    throw new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", `legacyAuth: the legacy users store failed (${what})`, {
      cause: err,
    });
  }
}

export class LegacyUsers {
  constructor(private readonly config: LegacyAuthConfig) {}

  /** `email` is already normalised. */
  async byEmail(email: string, tenantId: string): Promise<EmailLookup> {
    let invalid: string | undefined;
    const found = await guarded(
      "findUserByEmail",
      () => this.config.findUserByEmail(email, tenantId),
      (reason) => void (invalid = reason),
    );
    if (invalid !== undefined) return { kind: "invalid", reason: invalid };
    const rows = Array.isArray(found)
      ? (found as readonly LegacyUser[])
      : found === undefined || found === null
        ? []
        : [found as LegacyUser];
    if (rows.length === 0) return { kind: "none" };
    if (rows.length > 1) {
      authLog(
        "legacy table has %d rows for %s after normalisation; refusing to move any of them",
        rows.length,
        maskEmail(email),
      );
      return { kind: "unusable", reason: "several legacy rows share this email" };
    }
    const user = toRecord(rows[0]);
    if (!user) {
      authLog("legacy row for %s is malformed (id, email or passwordHash of the wrong type)", maskEmail(email));
      return { kind: "unusable", reason: "malformed legacy row" };
    }
    // A lookup that matched loosely (or a collation that lower-cases differently from JavaScript) must not move
    // a row whose email SuperTokens would store differently.
    if (normaliseEmail(user.email) !== email) {
      authLog("legacy row %s came back for %s but its email normalises differently", user.id, maskEmail(email));
      return { kind: "unusable", reason: "legacy email differs after normalisation" };
    }
    return { kind: "one", user };
  }

  async byId(id: string): Promise<LegacyRecord | undefined> {
    // An id the store rejects as invalid (a custom store comparing "abc" with an integer key) names no row.
    const row = await guarded(
      "findUserById",
      () => this.config.findUserById(id),
      () => undefined,
    );
    if (row === undefined || row === null) return undefined;
    const user = toRecord(row);
    if (!user) authLog("legacy row %s is malformed", id);
    return user;
  }

  /**
   * The legacy user who signed in with this provider identity, when `findUserByThirdParty` is given. A malformed
   * row names nobody (logged); an id the store rejects as invalid input names nobody either.
   */
  async byThirdParty(
    thirdPartyId: string,
    thirdPartyUserId: string,
    tenantId: string,
  ): Promise<LegacyRecord | undefined> {
    const find = this.config.findUserByThirdParty;
    if (!find) return undefined;
    const row = await guarded(
      "findUserByThirdParty",
      () => find(thirdPartyId, thirdPartyUserId, tenantId),
      () => undefined,
    );
    if (row === undefined || row === null) return undefined;
    const user = toRecord(row);
    if (!user) authLog("legacy row for a %s identity is malformed (id, email or passwordHash)", thirdPartyId);
    return user;
  }

  /** The subset of `ids` that are legacy ids. */
  async existing(ids: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (ids.length === 0) return found;
    const { findUsersByIds } = this.config;
    if (findUsersByIds) {
      const rows = await guarded("findUsersByIds", () => findUsersByIds(ids));
      const wanted = new Set(ids);
      for (const row of rows) {
        const record = toRecord(row);
        if (record && wanted.has(record.id)) found.add(record.id);
      }
      return found;
    }
    // Ten at a time: enough to overlap round trips, few enough not to starve the app's own pool.
    for (let i = 0; i < ids.length; i += 10) {
      const batch = ids.slice(i, i + 10);
      const rows = await Promise.all(batch.map((id) => this.byId(id)));
      rows.forEach((row, j) => row && found.add(batch[j]));
    }
    return found;
  }

  async count(): Promise<number> {
    const { countLegacyUsers } = this.config;
    if (!countLegacyUsers) {
      throw new ConfigError(
        "ERR_MIGRATE_MISSING_OPTION",
        "legacyAuth: counting legacy users needs the `countLegacyUsers` option (createPgLegacyUsers provides it).",
      );
    }
    const n = await guarded("countLegacyUsers", () => countLegacyUsers());
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
      throw new ConfigError(
        "ERR_MIGRATE_INVALID_OPTION",
        "legacyAuth: `countLegacyUsers` must resolve to a non-negative integer.",
      );
    }
    return n;
  }
}
