import { ConfigError } from "../errors.js";
import { rejectUnknownKeys } from "../options.js";
import { createMemoryMigrationCoordinator, type MigrationCoordinator } from "./coordinator.js";
import type { LegacySessionData, LegacyStoreLike } from "./legacy-store.js";
import { defaultUserId } from "./user-id.js";

/** What each migration reports to `onMigration`. Contains no token, cookie value or session id. */
export interface MigrationEvent {
  type: "migrated" | "reused" | "retired" | "rejected" | "logged-out";
  userId?: string;
  /** SuperTokens session handle, when one exists. */
  sessionHandle?: string;
  /** Why a legacy session was not migrated (`rejected`), or how it was retired. */
  reason?: "bad-signature" | "unknown-session" | "anonymous" | "csrf" | "store-unavailable" | "core-unavailable" | "proof" | "grace-expired" | "already-migrated";
}

export interface DualSessionOptions {
  /** The express-session store the legacy app uses (MemoryStore, connect-redis, connect-pg-simple, ...). Required. */
  store?: LegacyStoreLike;
  /** The secret(s) given to express-session; any of them verifies, as in express-session. Required. */
  secret?: string | string[];
  /** Legacy cookie name. Default `connect.sid`. */
  name?: string;
  /** Attributes of the legacy cookie, needed to clear it. Default `{ path: "/" }`. */
  cookie?: { path?: string; domain?: string; secure?: boolean; sameSite?: boolean | "lax" | "strict" | "none"; httpOnly?: boolean };
  /** Legacy user id from the stored session. Default: `passport.user`, `userId`, `user_id`, `user.id`. */
  userId?: (legacy: LegacySessionData) => string | undefined;
  /** Claims for the new access token. Default: none. */
  accessTokenPayload?: (legacy: LegacySessionData, userId: string) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Data for the new session in the core. Default: none. */
  sessionDataInDatabase?: (legacy: LegacySessionData, userId: string) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** SuperTokens tenant for new sessions. Default `public`. */
  tenantId?: string;
  /** verifySession's options, passed through. `sessionRequired` defaults to true, as in verifySession. */
  sessionRequired?: boolean;
  antiCsrfCheck?: boolean;
  checkDatabase?: boolean;
  overrideGlobalClaimValidators?: (...args: any[]) => any;
  /** `migrate` (default) creates a SuperTokens session; `logout` clears the legacy session and creates nothing. */
  mode?: "migrate" | "logout";
  /** How long the legacy session survives its migration if no later request proves the client holds the new tokens. Default 30000 ms. */
  graceMs?: number;
  /** Deadline for each legacy store call. Default 2000 ms. */
  storeTimeoutMs?: number;
  /** Deadline for creating the SuperTokens session in the core. Default 5000 ms. */
  coreTimeoutMs?: number;
  /** Seconds for the Retry-After header of 503 answers. Default 1. */
  retryAfterSeconds?: number;
  /** Who migrates when several requests carry one legacy cookie. Default: one per process. Use `createRedisMigrationCoordinator` across processes. */
  coordinator?: MigrationCoordinator;
  /**
   * Origins whose unsafe-method requests (POST, PUT, ...) may trigger a migration. Default: the SDK's
   * `appInfo.websiteDomain` and `apiDomain`. See README "CSRF rule".
   */
  trustedOrigins?: string[];
  /** Called after each decision; errors it throws are logged and ignored. */
  onMigration?: (event: MigrationEvent) => void;
}

export interface DualSessionConfig {
  store: LegacyStoreLike;
  secrets: string[];
  name: string;
  cookie: { path: string; domain?: string; secure?: boolean; sameSite?: boolean | "lax" | "strict" | "none"; httpOnly: boolean };
  userId: (legacy: LegacySessionData) => string | undefined;
  accessTokenPayload?: DualSessionOptions["accessTokenPayload"];
  sessionDataInDatabase?: DualSessionOptions["sessionDataInDatabase"];
  tenantId: string;
  verify: { sessionRequired: boolean; antiCsrfCheck?: boolean; checkDatabase?: boolean; overrideGlobalClaimValidators?: (...args: any[]) => any };
  mode: "migrate" | "logout";
  graceMs: number;
  storeTimeoutMs: number;
  coreTimeoutMs: number;
  retryAfterSeconds: number;
  coordinator: MigrationCoordinator;
  trustedOrigins?: string[];
  onMigration?: (event: MigrationEvent) => void;
}

const validKeys = [
  "store", "secret", "name", "cookie", "userId", "accessTokenPayload", "sessionDataInDatabase", "tenantId", "sessionRequired",
  "antiCsrfCheck", "checkDatabase", "overrideGlobalClaimValidators", "mode", "graceMs", "storeTimeoutMs", "coreTimeoutMs",
  "retryAfterSeconds", "coordinator", "trustedOrigins", "onMigration",
] as const;

/**
 * What configureLegacySessions set, kept process-wide under a `Symbol.for` key: an app on the CommonJS build
 * and a dependency on the ES module build (two copies of this package) see the same settings.
 */
const configuredKey = Symbol.for("supertokens-migrate.configureLegacySessions");
const shared = globalThis as { [configuredKey]?: DualSessionOptions };

/**
 * Set the legacy source once at start-up, so that `dualSession()` can be mounted with no argument on several
 * routers. Options given to `dualSession(options)` override these.
 */
export function configureLegacySessions(options: DualSessionOptions): void {
  rejectUnknownKeys("configureLegacySessions", options, validKeys);
  shared[configuredKey] = { ...options };
}

/** For tests: forget what configureLegacySessions set. */
export function resetLegacySessionsConfig(): void {
  delete shared[configuredKey];
}

function positive(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`dualSession: \`${name}\` must be a positive number of milliseconds or seconds; received ${String(value)}.`);
  }
  return value;
}

function fn<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function") throw new ConfigError(`dualSession: \`${name}\` must be a function; received ${typeof value}.`);
  return value;
}

export function resolveDualSessionOptions(input: DualSessionOptions | undefined): DualSessionConfig {
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    throw new ConfigError("dualSession(options): options must be an object.");
  }
  // Mounted as `app.use(dualSession)` instead of `app.use(dualSession())`: Express passes (req, res, next).
  if (input && typeof (input as { headers?: unknown }).headers === "object" && typeof (input as { method?: unknown }).method === "string") {
    throw new ConfigError("dualSession was mounted without being called: use app.use(dualSession()), not app.use(dualSession).");
  }
  rejectUnknownKeys("dualSession", input ?? {}, validKeys);
  const o: DualSessionOptions = { ...shared[configuredKey], ...input };
  if (!o.store || typeof o.store.get !== "function" || typeof o.store.destroy !== "function") {
    throw new ConfigError(
      "dualSession: `store` is required: pass the express-session store the legacy app uses, either here or once with configureLegacySessions({ store, secret }).",
    );
  }
  const secrets = typeof o.secret === "string" ? [o.secret] : o.secret;
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s === "")) {
    throw new ConfigError("dualSession: `secret` is required: a non-empty string or array of strings, the same the legacy app gives express-session.");
  }
  if (o.mode !== undefined && o.mode !== "migrate" && o.mode !== "logout") {
    throw new ConfigError(`dualSession: \`mode\` must be "migrate" or "logout"; received ${String(o.mode)}.`);
  }
  const name = o.name ?? "connect.sid";
  if (typeof name !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
    throw new ConfigError(`dualSession: \`name\` must be a valid cookie name; received ${String(name)}.`);
  }
  const graceMs = positive("graceMs", o.graceMs, 30_000);
  return Object.freeze({
    store: o.store,
    secrets: [...secrets],
    name,
    cookie: { path: "/", httpOnly: true, ...o.cookie },
    userId: fn("userId", o.userId) ?? defaultUserId,
    accessTokenPayload: fn("accessTokenPayload", o.accessTokenPayload),
    sessionDataInDatabase: fn("sessionDataInDatabase", o.sessionDataInDatabase),
    tenantId: o.tenantId ?? "public",
    verify: {
      sessionRequired: o.sessionRequired ?? true,
      antiCsrfCheck: o.antiCsrfCheck,
      checkDatabase: o.checkDatabase,
      overrideGlobalClaimValidators: fn("overrideGlobalClaimValidators", o.overrideGlobalClaimValidators),
    },
    mode: o.mode ?? "migrate",
    graceMs,
    storeTimeoutMs: positive("storeTimeoutMs", o.storeTimeoutMs, 2_000),
    coreTimeoutMs: positive("coreTimeoutMs", o.coreTimeoutMs, 5_000),
    retryAfterSeconds: positive("retryAfterSeconds", o.retryAfterSeconds, 1),
    coordinator: o.coordinator ?? createMemoryMigrationCoordinator({ resultTtlMs: graceMs }),
    trustedOrigins: o.trustedOrigins,
    onMigration: fn("onMigration", o.onMigration),
  });
}
