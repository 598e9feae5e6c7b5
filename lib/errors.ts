/**
 * Errors thrown by supertokens-migrate. Callers test `code`, never `instanceof`: two copies of the package
 * (CJS and ESM in one process) have distinct classes but the same codes.
 */
export type MigrateErrorCode =
  | "ERR_MIGRATE_CONFIG"
  | "ERR_MIGRATE_STORE_UNAVAILABLE"
  | "ERR_MIGRATE_CORE_UNAVAILABLE"
  | "ERR_MIGRATE_TIMEOUT"
  | "ERR_MIGRATE_LOCK_UNAVAILABLE"
  | "ERR_MIGRATE_BAD_INPUT"
  | "ERR_MIGRATE_UNKNOWN_HASH"
  | "ERR_MIGRATE_IMPORT";

export class MigrateError extends Error {
  readonly code: MigrateErrorCode;
  /** HTTP status an error handler should answer with. */
  readonly status: number;
  /** Seconds a client should wait before retrying; set for the 503 family. */
  readonly retryAfter?: number;

  constructor(code: MigrateErrorCode, message: string, options: { status?: number; cause?: unknown; retryAfter?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MigrateError";
    this.code = code;
    this.status = options.status ?? 500;
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** A wrong option, found when a factory is called (never at request time). */
export class ConfigError extends MigrateError {
  constructor(message: string) {
    super("ERR_MIGRATE_CONFIG", message, { status: 500 });
    this.name = "ConfigError";
  }
}

/**
 * A dependency (legacy store, SuperTokens core, lock) failed or timed out. Answered with 503 and Retry-After,
 * never 401: a 401 makes SuperTokens' frontend SDK sign the user out.
 */
export class UnavailableError extends MigrateError {
  constructor(
    code: "ERR_MIGRATE_STORE_UNAVAILABLE" | "ERR_MIGRATE_CORE_UNAVAILABLE" | "ERR_MIGRATE_TIMEOUT" | "ERR_MIGRATE_LOCK_UNAVAILABLE",
    message: string,
    options: { cause?: unknown; retryAfter?: number } = {},
  ) {
    super(code, message, { status: 503, cause: options.cause, retryAfter: options.retryAfter ?? 1 });
    this.name = "UnavailableError";
  }
}

export function isMigrateError(err: unknown): err is MigrateError {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    && (err as { code: string }).code.startsWith("ERR_MIGRATE_");
}
