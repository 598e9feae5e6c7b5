/**
 * Errors thrown by supertokens-migrate. Callers should test `code`. `instanceof` works too, also across two
 * copies of the package in one process (an app on the CommonJS build and a dependency on the ES module
 * build): each error carries a process-wide brand listing its kinds, and each class checks that brand.
 */
/**
 * Codes of ConfigError: each names one kind of mistake in how the package is set up or called, so that a
 * handler, a test or a reader of docs/errors.md can tell them apart. Found when a factory is called, when the
 * import or export starts, or (ERR_MIGRATE_SDK_NOT_INITIALISED, ERR_MIGRATE_MISSING_SIGNER_KEY) at first use.
 */
export const CONFIG_ERROR_CODES = [
  "ERR_MIGRATE_UNKNOWN_OPTION",
  "ERR_MIGRATE_INVALID_OPTION",
  "ERR_MIGRATE_MISSING_OPTION",
  "ERR_MIGRATE_CONFLICTING_OPTIONS",
  "ERR_MIGRATE_FACTORY_NOT_CALLED",
  "ERR_MIGRATE_STORE_REQUIRED",
  "ERR_MIGRATE_MISSING_SECRET",
  "ERR_MIGRATE_INVALID_CLIENT",
  "ERR_MIGRATE_INVALID_ARGUMENT",
  "ERR_MIGRATE_SDK_NOT_INITIALISED",
  "ERR_MIGRATE_MISSING_SIGNER_KEY",
  "ERR_MIGRATE_MISSING_DEPENDENCY",
  "ERR_MIGRATE_UNSUPPORTED_CORE",
  "ERR_MIGRATE_API_KEY_REFUSED",
  "ERR_MIGRATE_MISSING_COLUMN",
  "ERR_MIGRATE_RECIPE_NOT_GUARDED",
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export type MigrateErrorCode =
  | ConfigErrorCode
  | "ERR_MIGRATE_STORE_UNAVAILABLE"
  | "ERR_MIGRATE_CORE_UNAVAILABLE"
  | "ERR_MIGRATE_TIMEOUT"
  | "ERR_MIGRATE_LOCK_UNAVAILABLE"
  | "ERR_MIGRATE_BAD_INPUT"
  | "ERR_MIGRATE_UNKNOWN_HASH"
  | "ERR_MIGRATE_IMPORT"
  | "ERR_MIGRATE_SDK_INTERNALS";

/**
 * Where each code is explained: docs/errors.md, one section per code, anchored by the code in lower case. The
 * file ships in the package, so an installed app finds it at node_modules/supertokens-migrate/docs/errors.md.
 */
export const ERRORS_DOC = "supertokens-migrate/docs/errors.md";

/** The reference every message of a MigrateError ends with. */
export function errorDocLink(code: MigrateErrorCode): string {
  return `${ERRORS_DOC}#${code.toLowerCase()}`;
}

/** `Symbol.for`: the same key in every copy of this package loaded into the process. */
const kindsBrand = Symbol.for("supertokens-migrate.error-kinds");

/** `instanceof` by brand: true for this copy's instances and for the other copy's errors of the same kind. */
function brandedInstance(kind: string, value: unknown): boolean {
  const kinds =
    typeof value === "object" && value !== null ? (value as { [kindsBrand]?: unknown })[kindsBrand] : undefined;
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

  constructor(
    code: MigrateErrorCode,
    message: string,
    options: { status?: number; cause?: unknown; retryAfter?: number } = {},
  ) {
    // The link is added here, once, so every message of every code ends with where to read about it.
    super(
      `${message}${/[.!?]$/.test(message) ? "" : "."} See ${errorDocLink(code)}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
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

/**
 * A mistake in how the package is set up or called: a wrong, missing or unknown option, a factory passed
 * without being called, a core or dependency that cannot serve this setup. Found when a factory is called or a
 * run starts, never for a request's own data. `code` tells which mistake (CONFIG_ERROR_CODES); each has a section
 * in docs/errors.md.
 */
export class ConfigError extends MigrateError {
  declare readonly code: ConfigErrorCode;

  constructor(code: ConfigErrorCode, message: string);
  /** @deprecated Pass a code: `new ConfigError("ERR_MIGRATE_INVALID_OPTION", message)`. This form uses that code. */
  constructor(message: string);
  constructor(codeOrMessage: string, message?: string) {
    const code =
      message !== undefined && (CONFIG_ERROR_CODES as readonly string[]).includes(codeOrMessage)
        ? (codeOrMessage as ConfigErrorCode)
        : "ERR_MIGRATE_INVALID_OPTION";
    super(code, message ?? codeOrMessage, { status: 500 });
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
    code:
      | "ERR_MIGRATE_STORE_UNAVAILABLE"
      | "ERR_MIGRATE_CORE_UNAVAILABLE"
      | "ERR_MIGRATE_TIMEOUT"
      | "ERR_MIGRATE_LOCK_UNAVAILABLE",
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
  return (
    typeof err === "object" &&
    err !== null &&
    typeof (err as { code?: unknown }).code === "string" &&
    (err as { code: string }).code.startsWith("ERR_MIGRATE_")
  );
}
