export { dualSession, type DualSessionMiddleware } from "./middleware.js";
export type { MigrationStats } from "./engine.js";
export { configureLegacySessions, type DualSessionOptions, type MigrationEvent } from "./options.js";
export {
  createMemoryMigrationCoordinator,
  createRedisMigrationCoordinator,
  type MigrationCoordinator,
  type CoordinatorOptions,
  type RedisScriptClient,
} from "./coordinator.js";
export {
  createPostgresMigrationCoordinator,
  type PostgresCoordinatorOptions,
  type PostgresMigrationCoordinator,
} from "./coordinators/postgres.js";
export { defaultUserId } from "../legacy-user-id.js";
export { sessionOf } from "./request.js";
export { migrationEndpoint, type MigrationEndpointOptions } from "./endpoint.js";
export { retireLegacySessionsOnRevoke } from "./revocation.js";
