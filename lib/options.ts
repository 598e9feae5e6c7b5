/*
 * One way to read options, for every entry point that takes an options object:
 *
 *     // the build fails when a key is missing or extra
 *     const KEYS = { a: true, b: true } satisfies OptionKeys<Options>;
 *     // every default, in one place
 *     const DEFAULTS = Object.freeze({ b: 1000 });
 *
 *     // a plain object with known keys only
 *     const o = readOptions("thing", input, KEYS);
 *     // typed validators; undefined gives the default
 *     const b = positiveInteger("thing", "b", o.b, DEFAULTS.b);
 *
 * Every failure is a ConfigError whose message names the entry point, the option, what it must be and what was
 * received, and whose code says which kind of mistake it is (docs/errors.md).
 */
import { ConfigError } from "./errors.js";

/** The option names of an options interface, written as `{ name: true, ... } satisfies OptionKeys<Options>`. */
export type OptionKeys<T> = Record<keyof T, true>;

/** Levenshtein distance, case-insensitive: enough to catch a typo. */
function distance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** The valid name closest to `key`, when it is close enough to be a typo of it. */
export function closestName(key: string, valid: readonly string[]): string | undefined {
  const best = valid.map((v) => [v, distance(key, v)] as const).sort((a, b) => a[1] - b[1])[0];
  return best && best[1] <= Math.max(2, Math.floor(key.length / 3)) ? best[0] : undefined;
}

/** Fail on option keys we do not know, naming the closest valid one (a typo must not silently use a default). */
export function rejectUnknownKeys(
  what: string,
  given: object,
  valid: readonly string[] | Readonly<Record<string, true>>,
): void {
  const names = Array.isArray(valid) ? (valid as readonly string[]) : Object.keys(valid);
  for (const key of Object.keys(given)) {
    if (names.includes(key)) continue;
    const best = closestName(key, names);
    const hint = best ? ` Did you mean \`${best}\`?` : "";
    throw new ConfigError(
      "ERR_MIGRATE_UNKNOWN_OPTION",
      `${what}: unknown option \`${key}\`.${hint} Valid options: ${names.join(", ")}.`,
    );
  }
}

/** A received value as a message shows it: short, and never the insides of a client or store object. */
export function shown(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "function") return "a function";
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "symbol") return String(value);
  if (typeof value === "string" || typeof value === "boolean" || value === null) return JSON.stringify(value);
  if (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype) {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch {
      text = undefined;
    }
    if (text !== undefined) return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  }
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" && name !== "Object" ? `a ${name}` : `an ${typeof value}`;
}

/** `what: \`name\` must be <expected>; received <value>. <fix>` with ERR_MIGRATE_INVALID_OPTION. */
export function invalidOption(what: string, name: string, expected: string, value: unknown, fix = ""): ConfigError {
  return new ConfigError(
    "ERR_MIGRATE_INVALID_OPTION",
    `${what}: \`${name}\` must be ${expected}; received ${shown(value)}.${fix ? ` ${fix}` : ""}`,
  );
}

/** `what: \`name\` is required: <how>` with ERR_MIGRATE_MISSING_OPTION. */
export function missingOption(what: string, name: string, how: string): ConfigError {
  return new ConfigError("ERR_MIGRATE_MISSING_OPTION", `${what}: \`${name}\` is required: ${how}`);
}

/**
 * True for what Express passes a middleware first: an http.IncomingMessage (or a look-alike with `headers`
 * and `method`). A factory receiving one was mounted itself, `app.use(factory)`, instead of its result.
 */
export function looksLikeRequest(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { headers?: unknown }).headers === "object" &&
    typeof (value as { method?: unknown }).method === "string"
  );
}

/**
 * Throws ERR_MIGRATE_FACTORY_NOT_CALLED when a middleware factory got a request as its options: it was mounted
 * as `app.use(factory)`. Express hands the throw to the error handler, so the mistake fails the first request
 * loudly instead of passing it through unchecked. `call` is how to call it, e.g. `dualSession()`.
 */
export function assertFactoryCalled(factory: string, first: unknown, call: string): void {
  if (!looksLikeRequest(first)) return;
  throw new ConfigError(
    "ERR_MIGRATE_FACTORY_NOT_CALLED",
    `${factory} was mounted without being called: call ${call} — you passed the factory itself. Use ` +
      `app.use(${call}), not app.use(${factory}).`,
  );
}

/**
 * Checks that `input` is a plain options object (undefined reads as `{}` unless `required` says what it must
 * hold) with no unknown key, and returns it typed. Checks nothing inside: the validators below do that.
 */
export function readOptions<T extends object>(
  what: string,
  input: T | undefined,
  keys: Readonly<Record<string, true>> | readonly string[],
  required?: string,
): Partial<T> {
  if (input === undefined && required !== undefined) {
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_OPTION",
      `${what}(options): options must be an object ${required}; received nothing.`,
    );
  }
  if (input === undefined) return {};
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `${what}(options): options must be an object${required ? ` ${required}` : ""}; received ${shown(input)}.`,
    );
  }
  rejectUnknownKeys(what, input, keys);
  return input;
}

/** A number > 0 (milliseconds or seconds, fractions allowed); `fallback` when undefined. */
export function positiveNumber(what: string, name: string, value: unknown, fallback: number, unit = "number"): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw invalidOption(what, name, `a positive ${unit}`, value);
  return value;
}

/** A whole number > 0, e.g. a TTL Redis takes as PX; `fallback` when undefined. */
export function positiveInteger(
  what: string,
  name: string,
  value: unknown,
  fallback: number,
  unit = "whole number",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0)
    throw invalidOption(what, name, `a positive ${unit}`, value);
  return value;
}

/** An integer from `min` to `max`; `fallback` when undefined. */
export function integerIn(
  what: string,
  name: string,
  value: unknown,
  min: number,
  max: number,
  fallback: number,
  fix = "",
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(what, name, `an integer from ${min} to ${max}`, value, fix);
  }
  return value;
}

/** true or false; `fallback` when undefined. */
export function booleanOption<F extends boolean | undefined>(
  what: string,
  name: string,
  value: unknown,
  fallback: F,
): boolean | F {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalidOption(what, name, "true or false", value);
  return value;
}

/** A string (non-empty unless `allowEmpty`); `fallback` when undefined. */
export function stringOption<F extends string | undefined>(
  what: string,
  name: string,
  value: unknown,
  fallback: F,
  check: { allowEmpty?: boolean; expected?: string; fix?: string; test?: (s: string) => boolean } = {},
): string | F {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || (!check.allowEmpty && value === "") || (check.test && !check.test(value))) {
    throw invalidOption(
      what,
      name,
      check.expected ?? (check.allowEmpty ? "a string" : "a non-empty string"),
      value,
      check.fix,
    );
  }
  return value;
}

/** One of `allowed`; `fallback` when undefined. */
export function enumOption<T extends string, F extends T | undefined>(
  what: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: F,
): T | F {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw invalidOption(what, name, `one of ${allowed.join(", ")}`, value);
  }
  return value as T;
}

/** A function or undefined. */
export function functionOption<T>(
  what: string,
  name: string,
  value: T | undefined,
  fix = "Pass a function or leave it undefined.",
): T | undefined {
  if (value !== undefined && typeof value !== "function") throw invalidOption(what, name, "a function", value, fix);
  return value;
}

/** A function, required: ERR_MIGRATE_MISSING_OPTION when absent, ERR_MIGRATE_INVALID_OPTION when not a function. */
export function requiredFunction<T>(what: string, name: string, value: T | undefined, how: string): T {
  if (value === undefined) throw missingOption(what, name, how);
  if (typeof value !== "function") throw invalidOption(what, name, "a function", value, how);
  return value;
}

/** A plain object (not an array) or undefined, with only `keys` when given. */
export function objectOption<T extends object>(
  what: string,
  name: string,
  value: T | undefined,
  expected = "an object",
  keys?: Readonly<Record<string, true>> | readonly string[],
): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw invalidOption(what, name, expected, value);
  if (keys) rejectUnknownKeys(`${what}: ${name}`, value, keys);
  return value;
}
