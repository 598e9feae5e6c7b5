import { withDeadline } from "../deadline.js";
import { UnavailableError, isMigrateError } from "../errors.js";
import { statusLog } from "./log.js";

/**
 * The one node-redis method the status uses. node-redis v4 to v6 clients fit; `redis` is not a dependency of
 * this package, so its types are not imported. Every read is SCAN (never KEYS, which blocks Redis for the whole
 * keyspace) followed by one script per page.
 */
export interface RedisCommandClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** Values and remaining lifetimes of one page of keys in one round trip. */
const VALUES_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  out[#out + 1] = redis.call("GET", k)
  out[#out + 1] = redis.call("PTTL", k)
end
return out`;

/** Remaining lifetimes only: coordinator results are credentials and are never read. */
const TTLS_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do out[#out + 1] = redis.call("PTTL", k) end
return out`;

/** `prefix` as a SCAN pattern that matches it literally. */
export const globEscape = (prefix: string): string => prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

async function command(client: RedisCommandClient, args: string[], timeoutMs: number, what: string): Promise<unknown> {
  let call: Promise<unknown>;
  try {
    call = Promise.resolve(client.sendCommand(args));
  } catch (err) {
    call = Promise.reject(err);
  }
  try {
    return await withDeadline(call, timeoutMs, `Redis ${what}`);
  } catch (err) {
    if (isMigrateError(err)) throw err;
    statusLog("Redis %s failed: %s", what, err instanceof Error ? err.name : typeof err);
    throw new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", `status: Redis ${what} failed`, { cause: err });
  }
}

/** Every key under `prefix`, a SCAN page at a time. A key may come twice (SCAN's guarantee); callers tolerate it. */
export async function* scanKeys(
  client: RedisCommandClient,
  prefix: string,
  pageSize: number,
  timeoutMs: number,
): AsyncGenerator<string[]> {
  let cursor = "0";
  do {
    const reply = await command(
      client,
      ["SCAN", cursor, "MATCH", `${globEscape(prefix)}*`, "COUNT", String(pageSize)],
      timeoutMs,
      "SCAN",
    );
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1]))
      throw new UnavailableError(
        "ERR_MIGRATE_STORE_UNAVAILABLE",
        "status: Redis answered SCAN with an unexpected reply",
      );
    cursor = String(reply[0]);
    const keys = (reply[1] as unknown[]).map(String);
    if (keys.length > 0) yield keys;
  } while (cursor !== "0");
}

/** Value and absolute expiry (undefined: no TTL) of each key; keys gone since the SCAN are left out. */
export async function readValues(
  client: RedisCommandClient,
  keys: string[],
  timeoutMs: number,
  now: number,
): Promise<{ key: string; value: string; expiresAt: number | undefined }[]> {
  const reply = await command(client, ["EVAL", VALUES_SCRIPT, String(keys.length), ...keys], timeoutMs, "GET");
  const out: { key: string; value: string; expiresAt: number | undefined }[] = [];
  const values = Array.isArray(reply) ? reply : [];
  keys.forEach((key, i) => {
    const value: unknown = values[2 * i];
    const pttl = Number(values[2 * i + 1]);
    // PTTL -2: deleted between SCAN and GET (retired or expired meanwhile).
    if (value === null || value === undefined || pttl === -2) return;
    // A string, or a Buffer for a client configured to map replies to Buffers.
    out.push({
      key,
      value: Buffer.isBuffer(value) ? value.toString("utf8") : (value as string),
      expiresAt: pttl >= 0 ? now + pttl : undefined,
    });
  });
  return out;
}

/** Absolute expiry (undefined: no TTL) of each key still there. */
export async function readExpiries(
  client: RedisCommandClient,
  keys: string[],
  timeoutMs: number,
  now: number,
): Promise<(number | undefined)[]> {
  const reply = await command(client, ["EVAL", TTLS_SCRIPT, String(keys.length), ...keys], timeoutMs, "PTTL");
  const ttls = Array.isArray(reply) ? reply.map(Number) : [];
  return ttls.filter((t) => t !== -2).map((t) => (t >= 0 ? now + t : undefined));
}
