export { migrationStatus, type MigrationStatus } from "./status.js";
export { formatStatus } from "./format.js";
export type {
  MigrationStatusOptions,
  RedisSessionsOptions,
  PgSessionsOptions,
  RedisCoordinatorStatusOptions,
  PgCoordinatorStatusOptions,
} from "./options.js";
export type { SessionsStatus, AgeBucket } from "./sessions.js";
export type { UsersStatus } from "./users.js";
export type { CoordinatorStatus } from "./coordinator.js";
export type { HashClass } from "./hash-class.js";
export type { StatusProgress } from "./progress.js";
export type { RedisCommandClient } from "./redis.js";
export type { StatusPg } from "./pg.js";
export { sendResetToStragglers, type SendResetOptions, type SendResetReport } from "./resets.js";
