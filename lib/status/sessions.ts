import { statusLog } from "./log.js";

/** Time since the legacy app last saved a session (set its cookie, or rolled it): how long its user has been away. */
export type AgeBucket = "under-1h" | "1h-1d" | "1d-7d" | "7d-30d" | "over-30d" | "unknown";

export const AGE_BUCKETS: readonly { bucket: AgeBucket; upToMs: number }[] = [
  { bucket: "under-1h", upToMs: 3_600_000 },
  { bucket: "1h-1d", upToMs: 86_400_000 },
  { bucket: "1d-7d", upToMs: 7 * 86_400_000 },
  { bucket: "7d-30d", upToMs: 30 * 86_400_000 },
  { bucket: "over-30d", upToMs: Infinity },
];

export interface SessionsStatus {
  store: "redis" | "postgres";
  /** Live sessions of signed-in users: the ones dualSession() would still turn into SuperTokens sessions. */
  loggedIn: number;
  /** Live sessions without a user (carts, CSRF secrets): nothing to migrate. */
  anonymous: number;
  /** Records past their expiry that the store has not removed yet (connect-pg-simple prunes on a timer). */
  expired: number;
  /** Records that are not an express-session session (not JSON, no cookie): the legacy app cannot load them either. */
  unreadable: number;
  /** Signed-in sessions by time since the legacy app last saved them; `unknown` without `cookie.originalMaxAge`. */
  byAge: Record<AgeBucket, number>;
  /** When the last signed-in session expires (ISO 8601); null when none is left or when one never expires. */
  lastExpiresAt: string | null;
  /** Signed-in sessions with neither a store TTL nor a cookie expiry: they stay until deleted. */
  withoutExpiry: number;
  /** True when no signed-in legacy session is left: dualSession() and the legacy store have nothing more to do. */
  canRetire: boolean;
  nextStep: string;
}

/** One stored record as a store returns it: the raw value and when the store itself drops it (ms, or none). */
export interface StoredSession {
  value: unknown;
  storeExpiresAt: number | undefined;
}

/** Adds up stored sessions one page at a time: memory stays constant however large the store is. */
export class SessionTally {
  loggedIn = 0;
  anonymous = 0;
  expired = 0;
  unreadable = 0;
  withoutExpiry = 0;
  lastExpiresAt: number | undefined;
  readonly byAge = Object.fromEntries([...AGE_BUCKETS.map((b) => [b.bucket, 0]), ["unknown", 0]]) as Record<
    AgeBucket,
    number
  >;

  constructor(
    private readonly userId: (data: Record<string, unknown>) => string | undefined,
    private readonly now: number,
  ) {}

  add(record: StoredSession): void {
    const data = parse(record.value);
    const cookie = data?.cookie;
    if (data === undefined || typeof cookie !== "object" || cookie === null) {
      this.unreadable++;
      return;
    }
    const cookieExpires = dateMs((cookie as { expires?: unknown }).expires);
    if (cookieExpires === "invalid") {
      this.unreadable++;
      return;
    }
    // Dead at whichever comes first, as lib/session/legacy-store.ts reads it: the store's TTL or the cookie's date.
    const expiresAt = earliest(record.storeExpiresAt, cookieExpires);
    if (expiresAt !== undefined && expiresAt <= this.now) {
      this.expired++;
      return;
    }
    let id: string | undefined;
    try {
      id = this.userId(data);
    } catch (err) {
      statusLog("userId threw on a stored session; counted as anonymous: %s", (err as Error).name);
    }
    if (id === undefined) {
      this.anonymous++;
      return;
    }
    this.loggedIn++;
    if (expiresAt === undefined) this.withoutExpiry++;
    else if (this.lastExpiresAt === undefined || expiresAt > this.lastExpiresAt) this.lastExpiresAt = expiresAt;
    const maxAge = (cookie as { originalMaxAge?: unknown }).originalMaxAge;
    if (cookieExpires === undefined || typeof maxAge !== "number" || !Number.isFinite(maxAge)) {
      this.byAge.unknown++;
      return;
    }
    const age = Math.max(0, this.now - (cookieExpires - maxAge));
    this.byAge[AGE_BUCKETS.find((b) => age < b.upToMs)!.bucket]++;
  }

  result(store: SessionsStatus["store"]): SessionsStatus {
    const canRetire = this.loggedIn === 0;
    return {
      store,
      loggedIn: this.loggedIn,
      anonymous: this.anonymous,
      expired: this.expired,
      unreadable: this.unreadable,
      byAge: { ...this.byAge },
      lastExpiresAt:
        this.withoutExpiry > 0 || this.lastExpiresAt === undefined ? null : new Date(this.lastExpiresAt).toISOString(),
      withoutExpiry: this.withoutExpiry,
      canRetire,
      nextStep: this.nextStep(canRetire),
    };
  }

  private nextStep(canRetire: boolean): string {
    if (canRetire)
      return (
        "No signed-in legacy session is left: remove dualSession() and express-session from the app, then retire " +
        "the legacy session store."
      );
    const left = `${this.loggedIn} signed-in legacy session${this.loggedIn === 1 ? "" : "s"} left`;
    if (this.withoutExpiry > 0)
      return (
        `${left}; ${this.withoutExpiry} never expire (no TTL, no cookie expiry): keep dualSession() until they ` +
        "come back, or delete them from the store (their users sign in again)."
      );
    const last = this.lastExpiresAt!;
    return (
      `${left}; the last expires ${inWords(last - this.now)} (${new Date(last).toISOString()}): keep dualSession() ` +
      "until then. Users who come back before that are moved on their first request."
    );
  }
}

/** "in 6 days", "in 3 hours", "in 12 minutes". */
export function inWords(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "day"],
    [3_600_000, "hour"],
    [60_000, "minute"],
  ];
  for (const [size, name] of units) {
    if (ms >= size) {
      const n = Math.round(ms / size);
      return `in ${n} ${name}${n === 1 ? "" : "s"}`;
    }
  }
  return "in under a minute";
}

function parse(value: unknown): Record<string, unknown> | undefined {
  let data = value;
  if (typeof value === "string" || Buffer.isBuffer(value)) {
    try {
      data = JSON.parse(String(value));
    } catch {
      return undefined;
    }
  }
  return typeof data === "object" && data !== null && !Array.isArray(data)
    ? (data as Record<string, unknown>)
    : undefined;
}

/** Epoch ms of an express-session `cookie.expires` (a Date, an ISO string or a number); undefined when absent. */
function dateMs(value: unknown): number | undefined | "invalid" {
  if (value === undefined || value === null || value === false) return undefined;
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "string") ms = Date.parse(value);
  else if (typeof value === "number") ms = value;
  else return "invalid";
  return Number.isNaN(ms) ? "invalid" : ms;
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
