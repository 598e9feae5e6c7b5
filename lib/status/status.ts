import { judgeCoordinator, readCoordinator, readPgCoordinator, type CoordinatorStatus } from "./coordinator.js";
import { readLegacySessions } from "./legacy-sessions.js";
import { statusLog } from "./log.js";
import { resolveMigrationStatusOptions, type MigrationStatusOptions } from "./options.js";
import type { SessionsStatus } from "./sessions.js";
import { readUsers, type UsersStatus } from "./users.js";

/**
 * What is left of the migration, read from the stores every process shares. Versioned like every format we write:
 * a reader checks `version`.
 */
export interface MigrationStatus {
  version: 1;
  checkedAt: string;
  /** True when every part read can be retired. Parts not read (absent below) are not judged. */
  done: boolean;
  /** The legacy session store; absent when not read. */
  sessions?: SessionsStatus;
  /** The legacy users table (and the core); absent when not read. */
  users?: UsersStatus;
  /** The migration coordinator (Redis or PostgreSQL); absent when not read. */
  coordinator?: CoordinatorStatus;
  /** Each part's next step, in the order to take them. */
  nextSteps: string[];
}

/**
 * `migrationStatus(options)`: the data of `supertokens-migrate status`, for an admin page. Reads only (SCAN and
 * GET on Redis, SELECT in read-only transactions on PostgreSQL, GET on the core), a page at a time. Throws a
 * ConfigError for options, or UnavailableError (503) when a store or the core fails or misses its deadline.
 */
export async function migrationStatus(options: MigrationStatusOptions): Promise<MigrationStatus> {
  const config = resolveMigrationStatusOptions(options);
  const now = Date.now();
  const limits = { pageSize: config.pageSize, timeoutMs: config.timeoutMs, now };
  statusLog(
    "reading: sessions %s, users %s, core %s, coordinator %s",
    config.sessions?.kind ?? "no",
    config.users ? "yes" : "no",
    config.core?.connectionURI ?? "no",
    config.coordinator?.kind ?? "no",
  );
  const [sessions, users, coordinatorRead] = await Promise.all([
    config.sessions ? readLegacySessions(config.sessions, config.userId, limits) : undefined,
    config.users ? readUsers(config.users, config.core, limits, config.onProgress) : undefined,
    config.coordinator?.kind === "redis"
      ? readCoordinator(config.coordinator.client, config.coordinator.prefix, limits)
      : config.coordinator?.kind === "postgres"
        ? readPgCoordinator(config.coordinator.db, config.coordinator.table, limits)
        : undefined,
  ]);
  const where =
    config.coordinator?.kind === "redis"
      ? `keys matching ${config.coordinator.prefix}*`
      : `rows of ${config.coordinator?.table ?? ""}`;
  const coordinator = coordinatorRead ? judgeCoordinator(coordinatorRead, where, sessions?.loggedIn) : undefined;
  const parts = [users, sessions, coordinator].filter((p) => p !== undefined);
  return {
    version: 1,
    checkedAt: new Date(now).toISOString(),
    done: parts.every((p) => p.canRetire === true),
    ...(sessions ? { sessions } : {}),
    ...(users ? { users } : {}),
    ...(coordinator ? { coordinator } : {}),
    nextSteps: parts.map((p) => p.nextStep),
  };
}
