/** supertokens-migrate: move an express-session app to SuperTokens without logging anyone out. */
import "./augment.js";

export type { DualSessionRequest } from "./augment.js";

export {
  dualSession,
  configureLegacySessions,
  sessionOf,
  migrationEndpoint,
  type MigrationEndpointOptions,
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  createPostgresMigrationCoordinator,
  type PostgresCoordinatorOptions,
  type PostgresMigrationCoordinator,
  type CoordinatorOptions,
  type RedisScriptClient,
  defaultUserId,
  retireLegacySessionsOnRevoke,
  type DualSessionMiddleware,
  type DualSessionOptions,
  type MigrationCoordinator,
  type MigrationEvent,
  type MigrationStats,
} from "./session/index.js";
export { MigrateError, ConfigError, UnavailableError, isMigrateError, type MigrateErrorCode } from "./errors.js";
export { METRIC_NAMES, METRIC_ATTRIBUTES, type MeterProviderLike, type MigrationMetricsOption } from "./metrics.js";
export type { LegacyRolesValue, RoleStats } from "./roles.js";
export {
  verifyPassword,
  detectHashFormat,
  hashPassword,
  dummyVerify,
  type HashFormat,
  type PasswordVerifier,
  type VerifyResult,
} from "./hashes/index.js";
export { leaveSuperTokens, verifyExportedPassword, type LeaveSuperTokensOptions } from "./leave/index.js";
export {
  legacyAuth,
  createPgLegacyUsers,
  PENDING_EMAIL_DOMAIN,
  type LegacyAuth,
  type LegacyAuthOptions,
  type LegacyUser,
  type LegacyLookup,
  type UserMigratedEvent,
  type AnyUser,
  type MigrationProgress,
  type FinishPendingResult,
  type PgLegacyUsers,
  type PgLegacyUsersOptions,
  type PgQueryable,
} from "./auth/index.js";
export {
  exportSuperTokens,
  formatExportReport,
  type ExportReport,
  type ExportOptions,
  type ExportedUser,
} from "./export/index.js";
export {
  migrationStatus,
  sendResetToStragglers,
  type MigrationStatus,
  type MigrationStatusOptions,
  type SessionsStatus,
  type UsersStatus,
  type CoordinatorStatus,
  type SendResetOptions,
  type SendResetReport,
} from "./status/index.js";
