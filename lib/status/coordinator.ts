import { statusLog } from "./log.js";
import { pgQuery, type StatusPg } from "./pg.js";
import { readExpiries, scanKeys, type RedisCommandClient } from "./redis.js";
import type { ReadLimits } from "./legacy-sessions.js";

export interface CoordinatorStatus {
  /** Legacy sessions migrated whose "migrated before" marker is still kept (it stops a second SuperTokens session). */
  migrated: number;
  /** Migrations running right now (a claim's lock). */
  inFlight: number;
  /** Published results still reusable by requests carrying the same legacy cookie (the grace window). */
  reusable: number;
  /** When the last marker expires on its own (ISO 8601); null when there is none or one has no TTL. */
  lastMarkerExpiresAt: string | null;
  /** null when the legacy sessions were not read: the coordinator can go once they are gone. */
  canRetire: boolean | null;
  nextStep: string;
}

/**
 * The Redis coordinator's keys (createRedisMigrationCoordinator, lib/session/coordinator.ts), read by their layout:
 * `<prefix>lock:{H}`, `<prefix>result:{H}`, `<prefix>migrated:{H}` for H the SHA-256 of a legacy sid. Values are
 * never read: a result holds a new session's tokens. spec/status/status.spec.ts drives the real coordinator and
 * checks this reading of its keys.
 */
export async function readCoordinator(
  client: RedisCommandClient,
  prefix: string,
  limits: ReadLimits,
): Promise<Omit<CoordinatorStatus, "canRetire" | "nextStep">> {
  let migrated = 0;
  let inFlight = 0;
  let reusable = 0;
  let last: number | undefined;
  let withoutTtl = 0;
  for await (const keys of scanKeys(client, prefix, limits.pageSize, limits.timeoutMs)) {
    const markers: string[] = [];
    for (const key of keys) {
      const kind = key.slice(prefix.length).split(":", 1)[0];
      if (kind === "migrated") markers.push(key);
      else if (kind === "lock") inFlight++;
      else if (kind === "result") reusable++;
    }
    if (markers.length === 0) continue;
    for (const expiresAt of await readExpiries(client, markers, limits.timeoutMs, limits.now)) {
      migrated++;
      if (expiresAt === undefined) withoutTtl++;
      else if (last === undefined || expiresAt > last) last = expiresAt;
    }
  }
  statusLog("coordinator: %d migrated markers, %d in flight, %d reusable results", migrated, inFlight, reusable);
  return {
    migrated,
    inFlight,
    reusable,
    lastMarkerExpiresAt: withoutTtl > 0 || last === undefined ? null : new Date(last).toISOString(),
  };
}

/**
 * The PostgreSQL coordinator's table (createPostgresMigrationCoordinator, lib/session/coordinators/postgres.ts): one
 * row per legacy session with the expiry of each part. One aggregate statement, however many rows; expiries are
 * compared with the database's clock, as the coordinator itself does. `table` is validated and quoted.
 */
export async function readPgCoordinator(
  db: StatusPg,
  table: string,
  limits: ReadLimits,
): Promise<Omit<CoordinatorStatus, "canRetire" | "nextStep">> {
  const { rows } = await pgQuery<{ migrated: string; in_flight: string; reusable: string; last_ms: number | null }>(
    db,
    `SELECT count(*) FILTER (WHERE migrated_expires_at > now()) AS migrated, ` +
      `count(*) FILTER (WHERE lock_expires_at > now()) AS in_flight, ` +
      `count(*) FILTER (WHERE result_expires_at > now()) AS reusable, ` +
      `(extract(epoch FROM max(migrated_expires_at) FILTER (WHERE migrated_expires_at > now())) * 1000)::float8 ` +
      `AS last_ms FROM ${table}`,
    [],
    limits.timeoutMs,
    "reading the coordinator's table",
    "Pass the `table` and `schema` given to createPostgresMigrationCoordinator.",
  );
  const row = rows[0];
  const read = {
    migrated: Number(row.migrated),
    inFlight: Number(row.in_flight),
    reusable: Number(row.reusable),
    lastMarkerExpiresAt: row.last_ms === null ? null : new Date(Number(row.last_ms)).toISOString(),
  };
  statusLog(
    "coordinator (postgres): %d migrated, %d in flight, %d reusable",
    read.migrated,
    read.inFlight,
    read.reusable,
  );
  return read;
}

/** Retire the coordinator with dualSession(): once no signed-in legacy session is left and nothing is in flight. */
export function judgeCoordinator(
  read: Omit<CoordinatorStatus, "canRetire" | "nextStep">,
  /** Where its state lives, for the clean-up step: `keys matching stm:*` or `rows of table "x"`. */
  where: string,
  sessionsLeft: number | undefined,
): CoordinatorStatus {
  if (read.inFlight > 0 || read.reusable > 0)
    return {
      ...read,
      canRetire: false,
      nextStep:
        `${read.inFlight} migration${read.inFlight === 1 ? "" : "s"} in flight and ${read.reusable} result` +
        `${read.reusable === 1 ? "" : "s"} within the grace window: legacy sessions are still being migrated; ` +
        "keep the coordinator with dualSession().",
    };
  if (sessionsLeft === undefined)
    return {
      ...read,
      canRetire: null,
      nextStep:
        "Nothing in flight. The coordinator goes when dualSession() goes: read the legacy sessions too (--sessions) " +
        "to know when.",
    };
  if (sessionsLeft > 0)
    return {
      ...read,
      canRetire: false,
      nextStep: "Keep the coordinator while dualSession() runs: signed-in legacy sessions are left to migrate.",
    };
  const cleanup =
    read.migrated === 0
      ? "no keys are left"
      : `then delete the ${where} (${read.migrated} migrated markers) or let them expire` +
        (read.lastMarkerExpiresAt ? ` (the last on ${read.lastMarkerExpiresAt})` : "");
  return {
    ...read,
    canRetire: true,
    nextStep: `Remove the coordinator together with dualSession(); ${cleanup}.`,
  };
}
