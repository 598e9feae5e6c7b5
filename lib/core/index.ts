/** supertokens-migrate/dev-core: the SuperTokens core HTTP API (CDI 5.4) for tests and demos. Not for production. */
export { startDevCore, type DevCore, type DevCoreOptions } from "./server.js";
export { MemoryStorage } from "./storage/memory.js";
export type * from "./storage/types.js";
export type * from "./storage/passwordless.js";
export { defaultCoreConfig, type CoreConfig } from "./config.js";
export { PostgresStorage, type PostgresStorageOptions, type SqlQueryable } from "./storage/postgres.js";
