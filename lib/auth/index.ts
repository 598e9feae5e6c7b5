export { legacyAuth, type LegacyAuth } from "./legacy-auth.js";
export type { LegacyAuthOptions, LegacyUser, LegacyLookup, UserMigratedEvent } from "./options.js";
export type { AnyUser, MigrationProgress, FinishPendingResult } from "./users-view.js";
export { createPgLegacyUsers, type PgLegacyUsers, type PgLegacyUsersOptions, type PgQueryable } from "./pg.js";
export { PENDING_EMAIL_DOMAIN } from "./core-via-sdk.js";
export { LEGACY_RESET_TOKEN_LIFETIME_MS } from "./password-reset.js";
