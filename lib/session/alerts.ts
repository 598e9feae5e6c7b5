/*
 * Loud lines: the few conditions an operator must hear about without DEBUG, because they sign users out or fail
 * every request (issue 11, items 8 and 11). They go to console.error, carry no cookie value, sid, token or
 * secret (T19), and are rate-limited: once per process per cause, or once per interval per signal.
 */

const PREFIX = "supertokens-migrate:";

const saidOnce = new Set<string>();

/** console.error(`message`), once per process for each `cause`. */
export function sayOnce(cause: string, message: string): void {
  if (saidOnce.has(cause)) return;
  saidOnce.add(cause);
  console.error(`${PREFIX} ${message}`);
}

/** A misconfiguration signal: what was seen, and what to check. */
export interface MigrationWarning {
  signal: "bad-signature" | "session-not-found" | "no-user-id";
  message: string;
  /** When it was last detected (ms since the epoch). */
  at: number;
}

/** The interval over which the signals are counted, and at most one warning per signal is written. */
export const WARNING_INTERVAL_MS = 5 * 60_000;
/** Fewer legacy cookies than this in an interval say nothing. */
export const WARNING_MIN_SAMPLE = 20;
/** Share of failures at or above which a signal fires (with no success at all in the interval). */
export const WARNING_MIN_SHARE = 0.95;

/** One outcome of reading a legacy cookie, as the monitor counts it. */
export type LegacyOutcome =
  | "bad-signature"
  | "verified"
  /** Verified, and the store has a session for it. */
  | "found"
  | "session-not-found"
  /** Found, and `userId` gave a user id. */
  | "user-id"
  | "no-user-id";

interface Signal {
  name: MigrationWarning["signal"];
  /** The outcome counted as failure, and the one counted as success, out of the same population. */
  failure: LegacyOutcome;
  success: LegacyOutcome;
  message: (failures: number, sample: number) => string;
}

/**
 * Counts legacy-cookie outcomes per interval and warns when one kind of failure makes up nearly all of a
 * meaningful sample and nothing succeeded: the legacy source is misread, and every legacy user is being signed out.
 */
export function createMisconfigurationMonitor(cfg: { name: string; write?: (line: string) => void }) {
  const write = cfg.write ?? ((line: string) => console.error(`${PREFIX} ${line}`));
  const minutes = WARNING_INTERVAL_MS / 60_000;
  const signals: Signal[] = [
    {
      name: "bad-signature",
      failure: "bad-signature",
      success: "verified",
      message: (n, of) =>
        `dualSession: ${n} of ${of} legacy cookies (${cfg.name}) in the last ${minutes} minutes failed their ` +
        "signature check and none verified: every legacy user is being signed out. Check that `secret` lists the " +
        "secret(s) the legacy app gives express-session (after a rotation: the newest first, the old ones kept), " +
        `and that \`name\` (${cfg.name}) is the legacy app's cookie name.`,
    },
    {
      name: "session-not-found",
      failure: "session-not-found",
      success: "found",
      message: (n, of) =>
        `dualSession: ${n} of ${of} legacy cookies (${cfg.name}) with a valid signature in the last ${minutes} ` +
        "minutes named no session in the store, and none was found: every legacy user is being signed out. Check " +
        "that `store` is the legacy app's store, on the same server and database, with the same key prefix " +
        '(connect-redis: `prefix`, default "sess:"; connect-pg-simple: `tableName`, `schemaName`).',
    },
    {
      name: "no-user-id",
      failure: "no-user-id",
      success: "user-id",
      message: (n, of) =>
        `dualSession: ${n} of ${of} stored legacy sessions in the last ${minutes} minutes had no user id where ` +
        "`userId` looks, and none had one: logged-in users are treated as anonymous and signed out. Check " +
        "`userId` (default: passport.user, userId, user_id or user.id); pass `userId: (data) => ...` for your " +
        "layout. Ignore this if your legacy sessions are mostly anonymous (saveUninitialized).",
    },
  ];
  let windowStart = Date.now();
  let counts = new Map<LegacyOutcome, number>();
  const lastWarned = new Map<MigrationWarning["signal"], number>();
  const active = new Map<MigrationWarning["signal"], MigrationWarning>();

  function record(outcome: LegacyOutcome): void {
    const now = Date.now();
    if (now - windowStart >= WARNING_INTERVAL_MS) {
      windowStart = now;
      counts = new Map();
    }
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    for (const s of signals) {
      if (outcome === s.success) {
        active.delete(s.name);
        continue;
      }
      if (outcome !== s.failure) continue;
      const failures = counts.get(s.failure) ?? 0;
      const sample = failures + (counts.get(s.success) ?? 0);
      if (sample < WARNING_MIN_SAMPLE || failures / sample < WARNING_MIN_SHARE || failures !== sample) continue;
      const message = s.message(failures, sample);
      active.set(s.name, { signal: s.name, message, at: now });
      const last = lastWarned.get(s.name);
      if (last !== undefined && now - last < WARNING_INTERVAL_MS) continue;
      lastWarned.set(s.name, now);
      write(message);
    }
  }

  return {
    record,
    /** The signals detected and not contradicted since (a cookie verified, a session found, a user id read). */
    warnings: (): MigrationWarning[] => [...active.values()].map((w) => ({ ...w })),
  };
}
