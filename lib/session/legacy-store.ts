import { log } from "../debug.js";
import { ConfigError, UnavailableError } from "../errors.js";

const debug = log.extend("session");

/**
 * The part of an express-session `Store` we call. Declared here instead of importing express-session's types:
 * those augment `Request.session` globally, which clashes with SuperTokens' `SessionRequest` in any program
 * that also uses `verifySession()` (and express-session is not a dependency of this package).
 */
export interface LegacyStoreLike {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): unknown;
  destroy(sid: string, callback?: (err?: unknown) => void): unknown;
  /** express-session stores are EventEmitters; some emit "disconnect" / "connect". */
  on?(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** The express-session cookie as stored: a `Cookie` instance in MemoryStore, plain JSON elsewhere. */
interface LegacySessionCookie {
  expires?: Date | string | null;
  originalMaxAge?: number | null;
  [key: string]: unknown;
}

export interface LegacySessionData {
  cookie: LegacySessionCookie;
  [key: string]: unknown;
}

interface LegacyStoreOptions {
  /** Deadline for each store call, in milliseconds. */
  timeoutMs: number;
}

export interface LegacyStore {
  /**
   * The live session for `sid`, or `undefined` when there is none, it has expired, or its shape is not an
   * express-session session. Throws UnavailableError ERR_MIGRATE_STORE_UNAVAILABLE when the store fails and
   * ERR_MIGRATE_TIMEOUT when it does not answer in time: the caller must answer 503, never "anonymous" (T9).
   */
  get(sid: string): Promise<LegacySessionData | undefined>;
  /** Removes `sid`; a session that is already gone is success. Throws like `get`. */
  destroy(sid: string): Promise<void>;
}

export function createLegacyStore(store: LegacyStoreLike, options: LegacyStoreOptions): LegacyStore {
  if (
    store === null ||
    typeof store !== "object" ||
    typeof store.get !== "function" ||
    typeof store.destroy !== "function"
  ) {
    throw new ConfigError(
      "ERR_MIGRATE_STORE_REQUIRED",
      "`store` must be an express-session store with get() and destroy(); pass the same store instance the legacy " +
        "app gives express-session.",
    );
  }
  const { timeoutMs } = options;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `\`timeoutMs\` must be a positive number of milliseconds; received ${String(timeoutMs)}.`,
    );
  }

  // express-session stops using a store that emitted "disconnect" until "connect" (its `storeReady`). We fail
  // fast with 503 instead of waiting out the deadline, and unlike express-session never read it as "no session".
  let connected = true;
  if (typeof store.on === "function") {
    store.on("disconnect", () => {
      connected = false;
      debug("legacy store emitted disconnect");
    });
    store.on("connect", () => {
      connected = true;
      debug("legacy store emitted connect");
    });
  }

  function call(
    op: "get" | "destroy",
    invoke: (callback: (err: unknown, value?: unknown) => void) => unknown,
  ): Promise<unknown> {
    if (!connected) {
      return Promise.reject(
        new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", `legacy session store is disconnected (${op})`),
      );
    }
    return settleOnce(op, invoke, timeoutMs);
  }

  return {
    async get(sid) {
      const value = await call("get", (cb) => store.get(sid, cb));
      return liveSession(value);
    },
    async destroy(sid) {
      await call("destroy", (cb) => store.destroy(sid, cb));
    },
  };
}

/**
 * Calls a store method with a callback and settles exactly once, on the first of: the callback, a rejection
 * of the promise the method returns, a synchronous throw, or the deadline.
 *
 * connect-redis 9 both calls the callback and returns a promise; the promise resolves to whatever the
 * callback returned, so only the callback carries data and only the promise's rejection is used. It also
 * calls the callback a second time (with the error) if the callback throws, so ours never throws and ignores
 * every call after the first. Callback-only stores (MemoryStore, connect-pg-simple) return undefined.
 */
function settleOnce(
  op: "get" | "destroy",
  invoke: (callback: (err: unknown, value?: unknown) => void) => unknown,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      debug("legacy store %s timed out after %d ms", op, timeoutMs);
      reject(
        new UnavailableError("ERR_MIGRATE_TIMEOUT", `legacy session store ${op} did not answer within ${timeoutMs} ms`),
      );
    }, timeoutMs);

    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // express-session reads ENOENT as "not found" (file-based stores); anything else is an outage.
      if (errorCode(err) === "ENOENT") {
        resolve(undefined);
        return;
      }
      // A record that is not JSON (MemoryStore and connect-redis parse it and pass on the SyntaxError) will not
      // heal by retrying, and the legacy app cannot load it either: it is no session, not a 503 loop (T21).
      if (err instanceof SyntaxError) {
        debug("legacy session ignored: stored record is not valid JSON");
        resolve(undefined);
        return;
      }
      debug("legacy store %s failed: %s", op, describe(err));
      reject(
        new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", `legacy session store ${op} failed`, { cause: err }),
      );
    };

    // Same truthiness test as express-session: a falsy `err` is success.
    const callback = (err: unknown, value?: unknown): void => {
      if (err) {
        fail(err);
        return;
      }
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };

    let returned: unknown;
    try {
      returned = invoke(callback);
    } catch (err) {
      fail(err ?? new Error(`store ${op} threw a falsy value`));
      return;
    }
    if (isThenable(returned)) {
      try {
        returned.then(undefined, (err: unknown) => fail(err ?? new Error(`store ${op} rejected with a falsy value`)));
      } catch (err) {
        fail(err ?? new Error(`store ${op} returned a broken thenable`));
      }
    }
  });
}

/** Shape and expiry checks for what `get` returned; anything that is not a live session counts as none. */
function liveSession(value: unknown): LegacySessionData | undefined {
  if (value === null || value === undefined || value === false) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    debug("legacy session ignored: store returned a %s, not an object", typeof value);
    return undefined;
  }
  const cookie = (value as { cookie?: unknown }).cookie;
  if (cookie === null || typeof cookie !== "object") {
    debug("legacy session ignored: no cookie field");
    return undefined;
  }
  // MemoryStore drops expired sessions on get; Redis and PostgreSQL rely on TTLs or pruning that may lag or be
  // off, and a revived dead session would become a fresh SuperTokens session (T3).
  const expires = expiryTime((cookie as LegacySessionCookie).expires);
  if (expires === "invalid") {
    debug("legacy session ignored: cookie.expires is not a date");
    return undefined;
  }
  if (expires !== undefined && expires <= Date.now()) {
    debug("legacy session ignored: expired");
    return undefined;
  }
  return value as LegacySessionData;
}

/** `undefined` for a browser-session cookie (no expiry), epoch ms for a date, "invalid" for anything else. */
function expiryTime(expires: unknown): number | undefined | "invalid" {
  if (expires === undefined || expires === null || expires === false) return undefined;
  let ms: number;
  if (expires instanceof Date) ms = expires.getTime();
  else if (typeof expires === "string") ms = Date.parse(expires);
  else if (typeof expires === "number") ms = expires;
  else return "invalid";
  return Number.isNaN(ms) ? "invalid" : ms;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

function errorCode(err: unknown): unknown {
  return typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
}

/** Name and code only: store error messages can carry connection strings or keys (T19). */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = errorCode(err);
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- codes are strings or numbers
    return code === undefined ? err.name : `${err.name} ${String(code)}`;
  }
  return typeof err;
}
