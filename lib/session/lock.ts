import { createHash, randomBytes } from "node:crypto";
import { log } from "../debug.js";
import { ConfigError, UnavailableError, isMigrateError } from "../errors.js";
import { withDeadline } from "../deadline.js";

const debug = log.extend("session");

/*
 * Concurrency control for migrating one legacy session (T6, T11).
 *
 * Two layers, cheapest first:
 * 1. `createSingleFlight`: requests in the same process that carry the same legacy cookie share one promise,
 *    so a page firing ten XHRs does one store read and one migration, with no Redis round trip.
 * 2. `MigrationLock` (and `createRedisMigrationCoordinator` in coordinator.ts, built on the same keys): one
 *    request across all processes and instances wins a claim per legacy sid (`SET NX PX`); the others wait
 *    for its published result. The TTL bounds how long a crashed winner can block others.
 *
 * Keys carry sha256(sid), never the sid: anyone who can read Redis keys (a MONITOR, a slow log, a key dump)
 * must not learn live session ids (T19). The hash is wrapped in `{}` so Redis Cluster puts every key of one
 * sid in the same slot, which the multi-key scripts in coordinator.ts need.
 */

export interface SingleFlight<T> {
  /**
   * Runs `fn` unless a call with the same key is already in flight, in which case the caller gets that call's
   * promise (same value or same rejection). The key is forgotten once the promise settles, so a later call
   * runs `fn` again: this shares work, it does not cache results.
   */
  run(key: string, fn: () => Promise<T>): Promise<T>;
  /** Keys in flight; for tests and diagnostics. */
  readonly size: number;
}

export function createSingleFlight<T>(): SingleFlight<T> {
  const inFlight = new Map<string, Promise<T>>();
  return {
    run(key, fn) {
      const existing = inFlight.get(key);
      if (existing !== undefined) return existing;
      // `Promise.resolve().then(fn)` turns a synchronous throw in `fn` into a rejection shared by all callers.
      const promise = Promise.resolve().then(fn).finally(() => {
        if (inFlight.get(key) === promise) inFlight.delete(key);
      });
      inFlight.set(key, promise);
      return promise;
    },
    get size() {
      return inFlight.size;
    },
  };
}

export interface LockHandle {
  /** Random value identifying this holder; only its holder can release the lock (a fencing token). */
  readonly token: string;
  /** Releases the lock if this holder still owns it. Resolves false when it had expired or been taken over. */
  release(): Promise<boolean>;
}

export interface MigrationLock {
  /**
   * Tries once to take the lock for `key` (a legacy sid; it is hashed before use) for `ttlMs`. Resolves
   * `undefined` when someone else holds it. Throws UnavailableError ERR_MIGRATE_LOCK_UNAVAILABLE when the
   * backend fails and ERR_MIGRATE_TIMEOUT when it does not answer in time: never treat that as "won".
   */
  acquire(key: string, ttlMs: number): Promise<LockHandle | undefined>;
}

/**
 * The one node-redis method we use. node-redis v4, v5 and v6 clients and cluster clients all fit; `redis` is
 * not a dependency of this package, so we do not import its types. Everything goes through EVAL, which keeps
 * each step atomic and the surface to a single, version-stable call.
 */
export interface RedisScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

export interface RedisLockOptions {
  /** Key prefix, e.g. "stm:". Keys are `<prefix>lock:{<sha256(sid) hex>}`. */
  prefix: string;
  /** Deadline for each Redis call in milliseconds. Default 1000. */
  timeoutMs?: number;
}

/** `SET key token NX PX ttl`; returns "OK" when taken, nil otherwise. */
export const ACQUIRE_SCRIPT = `return redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2])`;

/** Compare-and-delete: a holder whose TTL ran out must not delete the lock a later holder took. */
export const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) else return 0 end`;

export function createRedisLock(client: RedisScriptClient, options: RedisLockOptions): MigrationLock {
  const { prefix, timeoutMs } = resolveRedisOptions(client, options);
  return {
    async acquire(key, ttlMs) {
      checkTtl("ttlMs", ttlMs);
      const redisKey = `${prefix}lock:${hashTag(key)}`;
      const token = newToken();
      const reply = await runScript(client, ACQUIRE_SCRIPT, [redisKey], [token, String(ttlMs)], timeoutMs, "lock acquire");
      if (reply === null || reply === undefined) {
        debug("migration lock busy");
        return undefined;
      }
      debug("migration lock acquired");
      return {
        token,
        async release() {
          const released = await runScript(client, RELEASE_SCRIPT, [redisKey], [token], timeoutMs, "lock release");
          const owned = Number(released) === 1;
          if (!owned) debug("migration lock already expired or taken over at release");
          return owned;
        },
      };
    },
  };
}

/** sha256 hex of a legacy sid: the only form of the sid that may appear in keys or logs. */
export function hashSid(sid: string): string {
  return createHash("sha256").update(sid, "utf8").digest("hex");
}

/** `{<sha256 hex>}`: the hash as a Redis Cluster hash tag. */
export function hashTag(sid: string): string {
  return `{${hashSid(sid)}}`;
}

export function newToken(): string {
  return randomBytes(16).toString("hex");
}

export function checkTtl(name: string, ms: unknown): asserts ms is number {
  // PX takes a positive integer; 0 or a fraction makes Redis answer "invalid expire time".
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(`\`${name}\` must be a positive whole number of milliseconds; received ${String(ms)}.`);
  }
}

export function resolveRedisOptions(
  client: RedisScriptClient,
  options: { prefix: string; timeoutMs?: number },
): { prefix: string; timeoutMs: number } {
  if (client === null || typeof client !== "object" || typeof client.eval !== "function") {
    throw new ConfigError("The Redis client must be a node-redis (v4+) client with eval(); pass the result of createClient() after connect().");
  }
  if (typeof options.prefix !== "string") {
    throw new ConfigError(`\`prefix\` must be a string such as "stm:"; received ${typeof options.prefix}.`);
  }
  const timeoutMs = options.timeoutMs ?? 1000;
  checkTtl("timeoutMs", timeoutMs);
  return { prefix: options.prefix, timeoutMs };
}

/**
 * EVAL with a deadline. node-redis queues commands while it reconnects, so a Redis outage shows up as a hang,
 * not an error; the deadline turns it into ERR_MIGRATE_TIMEOUT. Other failures become
 * ERR_MIGRATE_LOCK_UNAVAILABLE; neither may be read as "lock free" or "lock busy".
 */
export async function runScript(
  client: RedisScriptClient,
  script: string,
  keys: string[],
  args: string[],
  timeoutMs: number,
  what: string,
): Promise<unknown> {
  let call: Promise<unknown>;
  try {
    call = Promise.resolve(client.eval(script, { keys, arguments: args }));
  } catch (err) {
    call = Promise.reject(err);
  }
  try {
    return await withDeadline(call, timeoutMs, `Redis ${what}`);
  } catch (err) {
    if (isMigrateError(err)) {
      debug("Redis %s timed out after %d ms", what, timeoutMs);
      throw err;
    }
    debug("Redis %s failed: %s", what, err instanceof Error ? err.name : typeof err);
    throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", `Redis ${what} failed`, { cause: err });
  }
}
