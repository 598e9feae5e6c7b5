import { ConfigError } from "../errors.js";
import {
  assertFactoryCalled,
  booleanOption,
  enumOption,
  functionOption,
  invalidOption,
  objectOption,
  positiveNumber,
  readOptions,
  stringOption,
  type OptionKeys,
} from "../options.js";
import { resolveMetrics, type MigrationMetrics, type MigrationMetricsOption } from "../metrics.js";
import { createMemoryMigrationCoordinator, type MigrationCoordinator } from "./coordinator.js";
import type { LegacySessionData, LegacyStoreLike } from "./legacy-store.js";
import { defaultUserId } from "../legacy-user-id.js";
import type { LegacyRolesValue } from "../roles.js";

/**
 * verifySession's `overrideGlobalClaimValidators`. The same function also goes to validateClaimsForSessionHandle,
 * which passes a SessionInformation where verifySession passes a SessionContainer: no one SDK type fits both.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- two SDK functions call it with different args
export type OverrideGlobalClaimValidators = (...args: any[]) => any;
import type { MigrationEndpointOptions } from "./endpoint.js";

/** What each migration reports to `onMigration`. Contains no token, cookie value or session id. */
export interface MigrationEvent {
  type: "migrated" | "reused" | "retired" | "rejected" | "logged-out";
  userId?: string;
  /** SuperTokens session handle, when one exists. */
  sessionHandle?: string;
  /** Why a legacy session was not migrated (`rejected`), or how it was retired. */
  reason?:
    | "bad-signature"
    | "unknown-session"
    | "anonymous"
    | "csrf"
    | "store-unavailable"
    | "core-unavailable"
    | "proof"
    | "grace-expired"
    | "already-migrated"
    /** Its SuperTokens session was signed out or revoked. */
    | "revoked"
    /** It came beside a valid SuperTokens session it did not migrate to (another user's, or never migrated). */
    | "superseded";
}

export interface DualSessionOptions {
  /** The express-session store the legacy app uses (MemoryStore, connect-redis, connect-pg-simple, ...). Required. */
  store?: LegacyStoreLike;
  /** The secret(s) given to express-session; any of them verifies, as in express-session. Required. */
  secret?: string | string[];
  /** Legacy cookie name. Default `connect.sid`. */
  name?: string;
  /** Attributes of the legacy cookie, needed to clear it. Default `{ path: "/" }`. */
  cookie?: {
    path?: string;
    domain?: string;
    secure?: boolean;
    sameSite?: boolean | "lax" | "strict" | "none";
    httpOnly?: boolean;
  };
  /** Legacy user id from the stored session. Default: `passport.user`, `userId`, `user_id`, `user.id`. */
  userId?: (legacy: LegacySessionData) => string | undefined;
  /** Claims for the new access token. Default: none. */
  accessTokenPayload?: (
    legacy: LegacySessionData,
    userId: string,
  ) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /** Data for the new session in the core. Default: none. */
  sessionDataInDatabase?: (
    legacy: LegacySessionData,
    userId: string,
  ) => Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * The user's legacy roles: one role, a comma-separated list or an array, from the stored session or the app's
   * users table (`legacyUsers.findUserById(userId)` of createPgLegacyUsers with `columns.roles`). They are given to
   * the user as SuperTokens UserRoles in `tenantId` before the session is created, so the first access token carries
   * the roles claim. Needs UserRoles.init() in the recipe list. Throwing is an outage of the legacy source (503).
   * Default: none.
   */
  getRoles?: (legacy: LegacySessionData, userId: string) => LegacyRolesValue | Promise<LegacyRolesValue>;
  /**
   * Create a legacy role in the core when it does not exist yet. `false`: a role the core does not know is left out
   * (counted in `stats().roles.unknown`, said once on console.error); the migration goes on. Default: true.
   */
  createRoles?: boolean;
  /** SuperTokens tenant for new sessions. Default `public`. */
  tenantId?: string;
  /** verifySession's options, passed through. `sessionRequired` defaults to true, as in verifySession. */
  sessionRequired?: boolean;
  antiCsrfCheck?: boolean;
  checkDatabase?: boolean;
  overrideGlobalClaimValidators?: OverrideGlobalClaimValidators;
  /** `migrate` (default) creates a SuperTokens session; `logout` clears the legacy session and creates nothing. */
  mode?: "migrate" | "logout";
  /**
   * How long the legacy session survives its migration if no later request proves the client holds the new tokens.
   * Default 30000 ms.
   */
  graceMs?: number;
  /**
   * After a request proves the client holds the new tokens, how long the legacy cookie still yields them (for
   * requests of the same page load already in flight). Default 5000 ms; never longer than `graceMs`.
   */
  proofGraceMs?: number;
  /** Deadline for each legacy store call. Default 2000 ms. */
  storeTimeoutMs?: number;
  /** Deadline for creating the SuperTokens session in the core. Default 5000 ms. */
  coreTimeoutMs?: number;
  /** Seconds for the Retry-After header of 503 answers. Default 1. */
  retryAfterSeconds?: number;
  /**
   * Who migrates when several requests carry one legacy cookie. Default: one per process. Across processes use
   * `createRedisMigrationCoordinator` (a node-redis client, cluster or Sentinel client) or
   * `createPostgresMigrationCoordinator` (a pg Pool, e.g. connect-pg-simple's), or your own implementation of
   * `MigrationCoordinator` (docs/coordinators.md).
   */
  coordinator?: MigrationCoordinator;
  /**
   * Origins whose unsafe-method requests (POST, PUT, ...) may trigger a migration. Default: the SDK's
   * `appInfo.websiteDomain` and `apiDomain`. See docs/operations.md, "CSRF rule".
   */
  trustedOrigins?: string[];
  /** Called after each decision; errors it throws are logged and ignored. */
  onMigration?: (event: MigrationEvent) => void;
  /**
   * The same decisions as OpenTelemetry metrics (docs/metrics.md). Default: the global MeterProvider of
   * `@opentelemetry/api` when it is installed, none otherwise. `false`: none. `{ meterProvider }`: that one.
   */
  metrics?: MigrationMetricsOption;
}

export interface DualSessionConfig {
  store: LegacyStoreLike;
  secrets: string[];
  name: string;
  cookie: {
    path: string;
    domain?: string;
    secure?: boolean;
    sameSite?: boolean | "lax" | "strict" | "none";
    httpOnly: boolean;
  };
  userId: (legacy: LegacySessionData) => string | undefined;
  accessTokenPayload?: DualSessionOptions["accessTokenPayload"];
  sessionDataInDatabase?: DualSessionOptions["sessionDataInDatabase"];
  getRoles?: DualSessionOptions["getRoles"];
  createRoles: boolean;
  tenantId: string;
  verify: {
    sessionRequired: boolean;
    antiCsrfCheck?: boolean;
    checkDatabase?: boolean;
    overrideGlobalClaimValidators?: OverrideGlobalClaimValidators;
  };
  mode: "migrate" | "logout";
  graceMs: number;
  /** At most graceMs. */
  proofGraceMs: number;
  storeTimeoutMs: number;
  coreTimeoutMs: number;
  retryAfterSeconds: number;
  coordinator: MigrationCoordinator;
  trustedOrigins?: string[];
  onMigration?: (event: MigrationEvent) => void;
  metrics: MigrationMetrics;
}

/**
 * Every option of dualSession and configureLegacySessions: the build fails when DualSessionOptions gains one not
 * listed.
 */
const DUAL_SESSION_KEYS = {
  store: true,
  secret: true,
  name: true,
  cookie: true,
  userId: true,
  accessTokenPayload: true,
  sessionDataInDatabase: true,
  getRoles: true,
  createRoles: true,
  tenantId: true,
  sessionRequired: true,
  antiCsrfCheck: true,
  checkDatabase: true,
  overrideGlobalClaimValidators: true,
  mode: true,
  graceMs: true,
  proofGraceMs: true,
  storeTimeoutMs: true,
  coreTimeoutMs: true,
  retryAfterSeconds: true,
  coordinator: true,
  trustedOrigins: true,
  onMigration: true,
  metrics: true,
} as const satisfies OptionKeys<DualSessionOptions>;

/**
 * Every option of migrationEndpoint: dualSession's and `verifyLegacyToken`. `sessionRequired` is accepted and
 * ignored, as before (the endpoint answers 401 itself), so one options object can serve both factories.
 */
const MIGRATION_ENDPOINT_KEYS = {
  ...DUAL_SESSION_KEYS,
  verifyLegacyToken: true,
} as const satisfies OptionKeys<MigrationEndpointOptions & Pick<DualSessionOptions, "sessionRequired">>;

/**
 * migrationEndpoint's own checks, before dualSession's resolve reads the rest: a factory mounted uncalled, and
 * unknown keys named as migrationEndpoint's.
 */
export function checkMigrationEndpointOptions(options: MigrationEndpointOptions | undefined): void {
  assertFactoryCalled("migrationEndpoint", options, "migrationEndpoint()");
  readOptions("migrationEndpoint", options, MIGRATION_ENDPOINT_KEYS);
}

/** Every default of dualSession (and so of migrationEndpoint), and nowhere else. */
export const DUAL_SESSION_DEFAULTS = Object.freeze({
  name: "connect.sid",
  cookie: Object.freeze({ path: "/", httpOnly: true }),
  userId: defaultUserId,
  tenantId: "public",
  sessionRequired: true,
  mode: "migrate" as const,
  graceMs: 30_000,
  proofGraceMs: 5_000,
  storeTimeoutMs: 2_000,
  coreTimeoutMs: 5_000,
  retryAfterSeconds: 1,
  createRoles: true,
});

const MODES = ["migrate", "logout"] as const;

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
  assertFactoryCalled("configureLegacySessions", options, "configureLegacySessions({ store, secret })");
  readOptions("configureLegacySessions", options, DUAL_SESSION_KEYS, "with the legacy `store` and `secret`");
  shared[configuredKey] = { ...options };
}

/** For tests: forget what configureLegacySessions set. */
export function resetLegacySessionsConfig(): void {
  delete shared[configuredKey];
}

const what = "dualSession";

export function resolveDualSessionOptions(input: DualSessionOptions | undefined): DualSessionConfig {
  // Mounted as `app.use(dualSession)` instead of `app.use(dualSession())`: Express passes (req, res, next).
  assertFactoryCalled("dualSession", input, "dualSession()");
  const given = readOptions(what, input, DUAL_SESSION_KEYS);
  const o: DualSessionOptions = { ...shared[configuredKey], ...given };
  if (!o.store || typeof o.store.get !== "function" || typeof o.store.destroy !== "function") {
    throw new ConfigError(
      "ERR_MIGRATE_STORE_REQUIRED",
      "dualSession: `store` is required: pass the express-session store the legacy app uses, either here or once " +
        "with configureLegacySessions({ store, secret }).",
    );
  }
  const secrets = typeof o.secret === "string" ? [o.secret] : o.secret;
  if (!Array.isArray(secrets) || secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s === "")) {
    // The value is not shown: it is (or is meant to be) a secret.
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_SECRET",
      "dualSession: `secret` is required: a non-empty string or array of strings, the same the legacy app gives " +
        "express-session.",
    );
  }
  const mode = enumOption(what, "mode", o.mode, MODES, DUAL_SESSION_DEFAULTS.mode);
  const name = stringOption(what, "name", o.name, DUAL_SESSION_DEFAULTS.name, {
    expected: "a valid cookie name",
    test: (n) => /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(n),
  });
  // Not checked key by key: apps pass the cookie settings they give express-session, maxAge and all.
  const cookie = objectOption(
    what,
    "cookie",
    o.cookie,
    "an object of cookie attributes such as { path, domain, secure, sameSite }",
  );
  const graceMs = positiveNumber(what, "graceMs", o.graceMs, DUAL_SESSION_DEFAULTS.graceMs, "number of milliseconds");
  return Object.freeze({
    store: o.store,
    secrets: [...secrets],
    name,
    cookie: { ...DUAL_SESSION_DEFAULTS.cookie, ...cookie },
    userId: functionOption(what, "userId", o.userId) ?? DUAL_SESSION_DEFAULTS.userId,
    accessTokenPayload: functionOption(what, "accessTokenPayload", o.accessTokenPayload),
    sessionDataInDatabase: functionOption(what, "sessionDataInDatabase", o.sessionDataInDatabase),
    getRoles: functionOption(what, "getRoles", o.getRoles),
    createRoles: booleanOption(what, "createRoles", o.createRoles, DUAL_SESSION_DEFAULTS.createRoles),
    tenantId: stringOption(what, "tenantId", o.tenantId, DUAL_SESSION_DEFAULTS.tenantId),
    verify: {
      sessionRequired: booleanOption(what, "sessionRequired", o.sessionRequired, DUAL_SESSION_DEFAULTS.sessionRequired),
      antiCsrfCheck: booleanOption(what, "antiCsrfCheck", o.antiCsrfCheck, undefined),
      checkDatabase: booleanOption(what, "checkDatabase", o.checkDatabase, undefined),
      overrideGlobalClaimValidators: functionOption(
        what,
        "overrideGlobalClaimValidators",
        o.overrideGlobalClaimValidators,
      ),
    },
    mode,
    graceMs,
    proofGraceMs: Math.min(
      graceMs,
      positiveNumber(
        what,
        "proofGraceMs",
        o.proofGraceMs,
        DUAL_SESSION_DEFAULTS.proofGraceMs,
        "number of milliseconds",
      ),
    ),
    storeTimeoutMs: positiveNumber(
      what,
      "storeTimeoutMs",
      o.storeTimeoutMs,
      DUAL_SESSION_DEFAULTS.storeTimeoutMs,
      "number of milliseconds",
    ),
    coreTimeoutMs: positiveNumber(
      what,
      "coreTimeoutMs",
      o.coreTimeoutMs,
      DUAL_SESSION_DEFAULTS.coreTimeoutMs,
      "number of milliseconds",
    ),
    retryAfterSeconds: positiveNumber(
      what,
      "retryAfterSeconds",
      o.retryAfterSeconds,
      DUAL_SESSION_DEFAULTS.retryAfterSeconds,
      "number of seconds",
    ),
    coordinator: resolveCoordinator(o.coordinator) ?? createMemoryMigrationCoordinator({ resultTtlMs: graceMs }),
    trustedOrigins: resolveOrigins(o.trustedOrigins),
    onMigration: functionOption(what, "onMigration", o.onMigration),
    metrics: resolveMetrics(what, o.metrics),
  });
}

function resolveCoordinator(value: unknown): MigrationCoordinator | undefined {
  if (value === undefined) return undefined;
  const c = typeof value === "object" ? (value as { claim?: unknown; waitForResult?: unknown } | null) : undefined;
  if (!c || typeof c.claim !== "function" || typeof c.waitForResult !== "function") {
    throw invalidOption(
      what,
      "coordinator",
      "a MigrationCoordinator with claim() and waitForResult()",
      value,
      "Pass createRedisMigrationCoordinator(client, { prefix }) or createPostgresMigrationCoordinator(pool), or " +
        "leave it undefined for one per process.",
    );
  }
  return c as MigrationCoordinator;
}

function resolveOrigins(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || v === "")) {
    throw invalidOption(what, "trustedOrigins", 'an array of origins such as "https://app.example.com"', value);
  }
  return value as string[];
}
