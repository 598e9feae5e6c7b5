import { createHash, randomBytes } from "node:crypto";
import { log } from "../debug.js";
import { ConfigError, UnavailableError, isMigrateError, type ConfigErrorCode } from "../errors.js";
import { readOptions, type OptionKeys } from "../options.js";
import { withDeadline } from "../deadline.js";

const debug = log.extend("session");

/*
 * Who migrates a legacy session when several requests carry it at once (T6), and what the others get.
 *
 *   claim(sid) ── DONE(result) ──────── a winner already finished: reuse its result (same tokens)
 *              ├─ WON(claim) ── migrate ── claim.publish(result) ── true: send result
 *              │                        │                        └ false: lock was lost; revoke what you made
 *              │                        └─ failure ── claim.release()
 *              └─ BUSY ── waitForResult(sid) ── DONE(result) / ABANDONED (claim again) / TIMEOUT (503)
 *
 * The memory coordinator settles this among the requests of one process that share it; the Redis one
 * (a client, a cluster or a Sentinel client) and the PostgreSQL one (coordinators/postgres.ts), across processes
 * and instances. docs/coordinators.md describes the interface for other stores; coordinators/contract.ts holds
 * the cases every implementation must pass.
 *
 * Redis keys, for H = sha256(sid) hex (never the sid itself: anyone who can read Redis keys, through MONITOR,
 * the slow log or a key dump, must not learn live session ids, T19):
 *   <prefix>lock:{H}    random token of the current winner, PX lockTtlMs (bounds a crashed winner)
 *   <prefix>result:{H}  the winner's result, PX the publisher's ttlMs (dualSession: graceMs, cut to proofGraceMs
 *                       on proof and deleted on revocation, T11) or resultTtlMs
 *   <prefix>migrated:{H}  "migrated before", PX migratedTtlMs: no second session once the result expired
 * `{H}` is a Redis Cluster hash tag, so all keys of one script share a slot.
 *
 * Every step is one Lua script, so "is there a result? else take the lock" and "am I still the owner? then
 * publish and unlock" are atomic. A winner whose lock expired mid-migration cannot overwrite the result of
 * the request that took over (publish answers false), and waiters read result and lock in one step, so
 * "published and unlocked" is never mistaken for "abandoned".
 *
 * The result is an opaque string chosen by the caller (for example JSON with the new session's tokens). It is
 * a credential: it is never logged, and it lives only as long as resultTtlMs.
 */

export type ClaimOutcome =
  | { status: "WON"; claim: MigrationClaim }
  /** A winner already published; `result` is what it published. */
  | { status: "DONE"; result: string }
  /**
   * This session was migrated before and its result has expired (the grace window is over): it must not mint a
   * second SuperTokens session, in this process or any other sharing the backend.
   */
  | { status: "MIGRATED" }
  /** Another request holds the claim; call `waitForResult`. */
  | { status: "BUSY" };

export interface MigrationClaim {
  readonly token: string;
  /**
   * Atomically, if this claim still holds the lock: stores `result` for waiters and later requests, and drops
   * the lock. Resolves false when the lock had expired or been taken over; the caller must then discard (and
   * revoke) whatever it created, because another request may be migrating the same session. `ttlMs` is how long
   * the result stays readable (dualSession passes its `graceMs`); default the coordinator's `resultTtlMs`.
   */
  publish(result: string, ttlMs?: number): Promise<boolean>;
  /** Gives the claim up without a result (the migration failed); waiters see ABANDONED and may claim. */
  release(): Promise<boolean>;
}

export type WaitOutcome =
  | { status: "DONE"; result: string }
  /** Nobody holds the claim and nothing was published: the winner failed or crashed. Claim again. */
  | { status: "ABANDONED" }
  /** The winner still holds the claim at the deadline. */
  | { status: "TIMEOUT" };

export interface MigrationCoordinator {
  /** Throws UnavailableError (ERR_MIGRATE_LOCK_UNAVAILABLE or ERR_MIGRATE_TIMEOUT) when the backend fails. */
  claim(sid: string): Promise<ClaimOutcome>;
  /**
   * Polls with backoff (10 ms doubling to 200 ms) until a result appears, the claim is abandoned, or `waitMs`
   * passes. With Redis the total time is at most waitMs plus one call's timeoutMs. `waitMs` 0 looks once.
   * Throws like `claim`.
   */
  waitForResult(sid: string, waitMs?: number): Promise<WaitOutcome>;
  /**
   * The published result stays readable at most `withinMs` more (0: gone now), for every process sharing the
   * backend; a result already due sooner is left alone, and "migrated before" is kept. dualSession calls it on
   * proof (`proofGraceMs`) and on revocation (0). Optional: without it, reuse ends with the result's own TTL.
   */
  endReuse?(sid: string, withinMs: number): Promise<void>;
}

export interface CoordinatorOptions {
  /** How long a claim holds before others may take over, in ms. Default 10000. Must exceed a migration's worst case. */
  lockTtlMs?: number;
  /**
   * How long a published result stays readable, in ms, when the publisher names no TTL. Default 30000. dualSession
   * always names its own (`graceMs`), so with it this option has no effect.
   */
  resultTtlMs?: number;
  /** Default wait for `waitForResult`, in ms. Default 5000. */
  waitMs?: number;
  /** How long "this legacy session was migrated" is remembered after the result expires, in ms. Default 30 days. */
  migratedTtlMs?: number;
}

/**
 * The one node-redis method we use. node-redis v4, v5 and v6 clients, cluster clients (createCluster, which
 * routes each script by its first key: all keys of one session share a hash tag) and, from v5, Sentinel clients
 * (createSentinel) all fit; `redis` is not a dependency of this package, so we do not import its types. Everything
 * goes through EVAL, which keeps each step atomic and the surface to a single, version-stable call.
 */
export interface RedisScriptClient {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

interface RedisCoordinatorOptions extends CoordinatorOptions {
  /** Key prefix, e.g. "stm:". */
  prefix: string;
  /** Deadline for each Redis call, in ms. Default 1000. */
  timeoutMs?: number;
}

export const COORDINATOR_KEYS = {
  lockTtlMs: true,
  resultTtlMs: true,
  waitMs: true,
  migratedTtlMs: true,
} satisfies OptionKeys<CoordinatorOptions>;
const REDIS_COORDINATOR_KEYS = {
  ...COORDINATOR_KEYS,
  prefix: true,
  timeoutMs: true,
} satisfies OptionKeys<RedisCoordinatorOptions>;

/** Every default of the coordinators, and nowhere else. */
export const COORDINATOR_DEFAULTS = Object.freeze({
  lockTtlMs: 10_000,
  resultTtlMs: 30_000,
  waitMs: 5_000,
  migratedTtlMs: 30 * 86_400_000,
  /** Redis only. */
  timeoutMs: 1000,
});

export type Peek = { status: "DONE"; result: string } | { status: "BUSY" } | { status: "FREE" };
export type ClaimReply =
  { status: "DONE"; result: string } | { status: "BUSY" } | { status: "WON" } | { status: "MIGRATED" };

/**
 * The storage steps a coordinator needs; each must be atomic. `h` is the hashed sid. createCoordinator() puts
 * the protocol (tokens, options, waiting, single publish) on top, so a store only has to implement these.
 */
export interface Backend {
  claim(h: string, token: string, lockTtlMs: number): Promise<ClaimReply>;
  publish(h: string, token: string, result: string, resultTtlMs: number, migratedTtlMs: number): Promise<boolean>;
  release(h: string, token: string): Promise<boolean>;
  peek(h: string): Promise<Peek>;
  endReuse(h: string, withinMs: number): Promise<void>;
}

const CLAIM_SCRIPT = `
local r = redis.call("GET", KEYS[2])
if r then return {"DONE", r} end
if redis.call("EXISTS", KEYS[3]) == 1 then return {"MIGRATED"} end
if redis.call("SET", KEYS[1], ARGV[1], "NX", "PX", ARGV[2]) then return {"WON"} end
return {"BUSY"}`;

const PUBLISH_SCRIPT = `
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2], "PX", ARGV[3])
redis.call("SET", KEYS[3], "1", "PX", ARGV[4])
redis.call("DEL", KEYS[1])
return 1`;

/** Compare-and-delete: a holder whose TTL ran out must not delete the lock a later holder took. */
const RELEASE_SCRIPT = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/** Shorten the result's TTL to ARGV[1] ms, or delete it for 0; never lengthen it. */
const END_REUSE_SCRIPT = `
local t = redis.call("PTTL", KEYS[1])
if t == -2 then return 0 end
if ARGV[1] == "0" then return redis.call("DEL", KEYS[1]) end
if t < 0 or t > tonumber(ARGV[1]) then redis.call("PEXPIRE", KEYS[1], ARGV[1]) end
return 1`;

const PEEK_SCRIPT = `
local r = redis.call("GET", KEYS[2])
if r then return {"DONE", r} end
if redis.call("EXISTS", KEYS[1]) == 1 then return {"BUSY"} end
return {"FREE"}`;

export function createRedisMigrationCoordinator(
  client: RedisScriptClient,
  options: RedisCoordinatorOptions,
): MigrationCoordinator {
  readOptions("createRedisMigrationCoordinator", options, REDIS_COORDINATOR_KEYS, "with at least `prefix`");
  const { prefix, timeoutMs } = resolveRedisOptions(client, options);
  const keys = (tag: string): string[] => [
    `${prefix}lock:${tag}`,
    `${prefix}result:${tag}`,
    `${prefix}migrated:${tag}`,
  ];
  const backend: Backend = {
    async claim(tag, token, lockTtlMs) {
      const reply = await runScript(
        client,
        CLAIM_SCRIPT,
        keys(tag),
        [token, String(lockTtlMs)],
        timeoutMs,
        "migration claim",
      );
      const parsed = parseReply(reply, "WON");
      if (parsed.status === "FREE") throw unexpectedReply();
      return parsed;
    },
    async publish(tag, token, result, resultTtlMs, migratedTtlMs) {
      const reply = await runScript(
        client,
        PUBLISH_SCRIPT,
        keys(tag),
        [token, result, String(resultTtlMs), String(migratedTtlMs)],
        timeoutMs,
        "migration publish",
      );
      return Number(reply) === 1;
    },
    async release(tag, token) {
      const reply = await runScript(
        client,
        RELEASE_SCRIPT,
        keys(tag).slice(0, 1),
        [token],
        timeoutMs,
        "migration release",
      );
      return Number(reply) === 1;
    },
    async peek(tag) {
      const parsed = parseReply(
        await runScript(client, PEEK_SCRIPT, keys(tag).slice(0, 2), [], timeoutMs, "migration wait"),
        "FREE",
      );
      if (parsed.status === "WON" || parsed.status === "MIGRATED") throw unexpectedReply();
      return parsed;
    },
    async endReuse(tag, withinMs) {
      await runScript(client, END_REUSE_SCRIPT, keys(tag).slice(1, 2), [String(withinMs)], timeoutMs, "reuse end");
    },
  };
  return createCoordinator(backend, options, hashTag);
}

/** Checked when the coordinator is created, so a wrong client is a ConfigError at start-up, not a 503 later. */
function resolveRedisOptions(
  client: RedisScriptClient,
  options: { prefix: string; timeoutMs?: number },
): { prefix: string; timeoutMs: number } {
  if (client === null || typeof client !== "object" || typeof client.eval !== "function") {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_CLIENT",
      "The Redis client must be a node-redis (v4+) client with eval(); " +
        "pass the result of createClient() after connect().",
    );
  }
  if (typeof options.prefix !== "string") {
    throw new ConfigError(
      options.prefix === undefined ? "ERR_MIGRATE_MISSING_OPTION" : "ERR_MIGRATE_INVALID_OPTION",
      `\`prefix\` must be a string such as "stm:"; received ${typeof options.prefix}.`,
    );
  }
  const timeoutMs = options.timeoutMs ?? COORDINATOR_DEFAULTS.timeoutMs;
  checkTtl("timeoutMs", timeoutMs);
  // Redis Cluster hashes the first {...} of a key: braces in the prefix would put every session in one slot.
  if (/[{}]/.test(options.prefix))
    debug(
      "Redis coordinator prefix %j holds a brace: on Redis Cluster every session lands in one slot",
      options.prefix,
    );
  return { prefix: options.prefix, timeoutMs };
}

/**
 * EVAL with a deadline. node-redis queues commands while it reconnects, so a Redis outage shows up as a hang,
 * not an error; the deadline turns it into ERR_MIGRATE_TIMEOUT. Other failures become
 * ERR_MIGRATE_LOCK_UNAVAILABLE; neither may be read as "lock free" or "lock busy".
 */
async function runScript(
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

/**
 * The same protocol inside one process, for apps without Redis or for a single instance. Keys are hashed
 * here too so heap dumps hold no live sids.
 */
export function createMemoryMigrationCoordinator(options: CoordinatorOptions = {}): MigrationCoordinator {
  readOptions("createMemoryMigrationCoordinator", options, COORDINATOR_KEYS);
  const locks = new Map<string, { token: string; expiresAt: number }>();
  const results = new Map<string, { result: string; expiresAt: number }>();
  const migrated = new Map<string, { expiresAt: number }>();
  let lastSweep = Date.now();

  // Expired entries are skipped on read and swept at most once a second, so memory stays bounded by traffic
  // within one TTL without a timer keeping the process alive.
  function live<V extends { expiresAt: number }>(map: Map<string, V>, h: string, now: number): V | undefined {
    if (now - lastSweep > 1000) {
      lastSweep = now;
      for (const m of [locks, results, migrated] as Map<string, { expiresAt: number }>[]) {
        for (const [k, v] of m) if (v.expiresAt <= now) m.delete(k);
      }
    }
    const entry = map.get(h);
    if (entry !== undefined && entry.expiresAt <= now) {
      map.delete(h);
      return undefined;
    }
    return entry;
  }

  function peek(h: string, now: number): Peek {
    const result = live(results, h, now);
    if (result !== undefined) return { status: "DONE", result: result.result };
    return live(locks, h, now) === undefined ? { status: "FREE" } : { status: "BUSY" };
  }

  const backend: Backend = {
    async claim(h, token, lockTtlMs) {
      const now = Date.now();
      const seen = peek(h, now);
      if (seen.status !== "FREE") return seen;
      if (live(migrated, h, now) !== undefined) return { status: "MIGRATED" };
      locks.set(h, { token, expiresAt: now + lockTtlMs });
      return { status: "WON" };
    },
    async publish(h, token, result, resultTtlMs, migratedTtlMs) {
      const now = Date.now();
      if (live(locks, h, now)?.token !== token) return false;
      results.set(h, { result, expiresAt: now + resultTtlMs });
      migrated.set(h, { expiresAt: now + migratedTtlMs });
      locks.delete(h);
      return true;
    },
    async release(h, token) {
      if (live(locks, h, Date.now())?.token !== token) return false;
      locks.delete(h);
      return true;
    },
    async peek(h) {
      return peek(h, Date.now());
    },
    async endReuse(h, withinMs) {
      const now = Date.now();
      const entry = live(results, h, now);
      if (entry === undefined || entry.expiresAt <= now + withinMs) return;
      if (withinMs === 0) results.delete(h);
      else entry.expiresAt = now + withinMs;
    },
  };
  return createCoordinator(backend, options, hashSid);
}

export function createCoordinator(
  backend: Backend,
  options: CoordinatorOptions,
  keyOf: (sid: string) => string,
): MigrationCoordinator {
  const lockTtlMs = options.lockTtlMs ?? COORDINATOR_DEFAULTS.lockTtlMs;
  const resultTtlMs = options.resultTtlMs ?? COORDINATOR_DEFAULTS.resultTtlMs;
  const defaultWaitMs = options.waitMs ?? COORDINATOR_DEFAULTS.waitMs;
  const migratedTtlMs = options.migratedTtlMs ?? COORDINATOR_DEFAULTS.migratedTtlMs;
  checkTtl("migratedTtlMs", migratedTtlMs);
  checkTtl("lockTtlMs", lockTtlMs);
  checkTtl("resultTtlMs", resultTtlMs);
  checkTtl("waitMs", defaultWaitMs);

  return {
    async claim(sid) {
      if (typeof sid !== "string" || sid === "")
        throw new ConfigError(
          "ERR_MIGRATE_INVALID_ARGUMENT",
          "claim() needs the legacy session id as a non-empty string.",
        );
      const h = keyOf(sid);
      const token = newToken();
      let outcome: ClaimReply;
      try {
        outcome = await backend.claim(h, token, lockTtlMs);
      } catch (err) {
        // A claim that timed out may still run later (node-redis queues commands while it reconnects) and then
        // hold the lock for lockTtlMs under a token nobody has: every request for this session would wait and
        // answer 503 until it expired. A release queued behind it frees the lock as soon as it lands.
        backend.release(h, token).catch(() => false);
        throw err;
      }
      if (outcome.status === "DONE") {
        debug("migration already done by another request; reusing its result");
        return outcome;
      }
      if (outcome.status === "BUSY") {
        debug("migration claimed by another request");
        return outcome;
      }
      if (outcome.status === "MIGRATED") {
        debug("legacy session was migrated before and its grace window is over");
        return outcome;
      }
      debug("migration claim won");
      let finished = false;
      return {
        status: "WON",
        claim: {
          token,
          async publish(result, ttlMs) {
            if (typeof result !== "string")
              throw new ConfigError(
                "ERR_MIGRATE_INVALID_ARGUMENT",
                "publish() takes the result as a string (for example JSON).",
              );
            if (ttlMs !== undefined) checkTtl("ttlMs", ttlMs, "ERR_MIGRATE_INVALID_ARGUMENT");
            if (finished) return false;
            const ok = await backend.publish(h, token, result, ttlMs ?? resultTtlMs, migratedTtlMs);
            finished = true;
            if (!ok) debug("migration claim lost before publish (lock expired or taken over)");
            return ok;
          },
          async release() {
            if (finished) return false;
            finished = true;
            try {
              return await backend.release(h, token);
            } catch (err) {
              // Not released: the caller may try again once the store is back (engine.ts, settlePublish).
              finished = false;
              throw err;
            }
          },
        },
      };
    },

    async waitForResult(sid, waitMs = defaultWaitMs) {
      // 0 means "look once, do not wait": the middleware asks that for a session already gone from the store.
      // checkTtl rejected it, which turned every unknown or retired legacy cookie into a 500 (ConfigError).
      if (waitMs !== 0) checkTtl("waitMs", waitMs, "ERR_MIGRATE_INVALID_ARGUMENT");
      const h = keyOf(sid);
      const deadline = Date.now() + waitMs;
      let delay = 10;
      for (;;) {
        const seen = await backend.peek(h);
        if (seen.status === "DONE") {
          debug("migration result received from the winning request");
          return seen;
        }
        if (seen.status === "FREE") {
          debug("migration claim abandoned without a result");
          return { status: "ABANDONED" };
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          debug("gave up waiting for the winning request after %d ms", waitMs);
          return { status: "TIMEOUT" };
        }
        await sleep(Math.min(delay, remaining));
        delay = Math.min(delay * 2, 200);
      }
    },

    async endReuse(sid, withinMs) {
      if (withinMs !== 0) checkTtl("withinMs", withinMs, "ERR_MIGRATE_INVALID_ARGUMENT");
      await backend.endReuse(keyOf(sid), withinMs);
    },
  };
}

/** Scripts answer {"DONE", result}, {"BUSY"}, and {"WON"} (claim) or {"FREE"} (peek). */
function parseReply(reply: unknown, third: "WON" | "FREE"): ClaimReply | Peek {
  if (Array.isArray(reply) && reply.length > 0) {
    // String(): a client configured with Buffer type mapping hands back Buffers.
    const status = String(reply[0]);
    if (status === "DONE" && reply.length === 2 && reply[1] !== null && reply[1] !== undefined) {
      return { status: "DONE", result: String(reply[1]) };
    }
    if (status === "BUSY") return { status: "BUSY" };
    if (status === "MIGRATED" && third === "WON") return { status: "MIGRATED" };
    if (status === third) return { status: third };
  }
  throw unexpectedReply();
}

function unexpectedReply(): UnavailableError {
  return new UnavailableError(
    "ERR_MIGRATE_LOCK_UNAVAILABLE",
    "Redis answered a migration script with an unexpected reply",
  );
}

/** sha256 hex of a legacy sid: the only form of the sid that may appear in keys or logs. */
export function hashSid(sid: string): string {
  return createHash("sha256").update(sid, "utf8").digest("hex");
}

/** `{<sha256 hex>}`: the hash as a Redis Cluster hash tag. */
export function hashTag(sid: string): string {
  return `{${hashSid(sid)}}`;
}

/** A claim's random token: only its holder can publish or release (a fencing token). */
function newToken(): string {
  return randomBytes(16).toString("hex");
}

export function checkTtl(
  name: string,
  ms: unknown,
  code: ConfigErrorCode = "ERR_MIGRATE_INVALID_OPTION",
): asserts ms is number {
  // PX takes a positive integer; 0 or a fraction makes Redis answer "invalid expire time".
  if (typeof ms !== "number" || !Number.isSafeInteger(ms) || ms <= 0) {
    throw new ConfigError(code, `\`${name}\` must be a positive whole number of milliseconds; received ${String(ms)}.`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
