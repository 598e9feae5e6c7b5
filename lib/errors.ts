/**
 * Errors thrown by supertokens-migrate. Callers should test `code`. `instanceof` works too, also across two
 * copies of the package in one process (an app on the CommonJS build and a dependency on the ES module
 * build): each error carries a process-wide brand listing its kinds, and each class checks that brand.
 */
export type MigrateErrorCode =
  | "ERR_MIGRATE_CONFIG"
  | "ERR_MIGRATE_STORE_UNAVAILABLE"
  | "ERR_MIGRATE_CORE_UNAVAILABLE"
  | "ERR_MIGRATE_TIMEOUT"
  | "ERR_MIGRATE_LOCK_UNAVAILABLE"
  | "ERR_MIGRATE_BAD_INPUT"
  | "ERR_MIGRATE_UNKNOWN_HASH"
  | "ERR_MIGRATE_IMPORT"
  | "ERR_MIGRATE_SDK_INTERNALS";

/** `Symbol.for`: the same key in every copy of this package loaded into the process. */
const kindsBrand = Symbol.for("supertokens-migrate.error-kinds");

/** `instanceof` by brand: true for this copy's instances and for the other copy's errors of the same kind. */
function brandedInstance(kind: string, value: unknown): boolean {
  const kinds = typeof value === "object" && value !== null ? (value as { [kindsBrand]?: unknown })[kindsBrand] : undefined;
  return Array.isArray(kinds) && kinds.includes(kind);
}

export class MigrateError extends Error {
  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandedInstance("MigrateError", value);
  }

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
    Object.defineProperty(this, kindsBrand, { value: ["MigrateError"], writable: true });
  }

  /** Adds a subclass's kind to the brand; called by each subclass constructor. */
  protected brand(kind: string): void {
    (this as unknown as { [kindsBrand]: string[] })[kindsBrand].push(kind);
  }
}

/** A wrong option, found when a factory is called (never at request time). */
export class ConfigError extends MigrateError {
  constructor(message: string) {
    super("ERR_MIGRATE_CONFIG", message, { status: 500 });
    this.name = "ConfigError";
    this.brand("ConfigError");
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandedInstance("ConfigError", value);
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
    this.brand("UnavailableError");
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return brandedInstance("UnavailableError", value);
  }
}

export function isMigrateError(err: unknown): err is MigrateError {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string"
    && (err as { code: string }).code.startsWith("ERR_MIGRATE_");
}
