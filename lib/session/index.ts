export { dualSession, type DualSessionMiddleware, type MigrationStats } from "./middleware.js";
export { configureLegacySessions, type DualSessionOptions, type MigrationEvent } from "./options.js";
export { createMemoryMigrationCoordinator, createRedisMigrationCoordinator, type MigrationCoordinator } from "./coordinator.js";
export { defaultUserId } from "./user-id.js";
export { sessionOf } from "./request.js";
export { migrationEndpoint, type MigrationEndpointOptions } from "./endpoint.js";
