import { MigrateError } from "../errors.js";
import { hashArgon2 } from "./argon2.js";
import { hashBcrypt } from "./bcrypt.js";

/**
 * How the dev core hashes new passwords; mirrors the core's config.yaml (`password_hashing_alg`,
 * `bcrypt_log_rounds`, `argon2_iterations`, `argon2_memory_kb`, `argon2_parallelism`).
 */
export type HashPasswordOptions =
  | {
      algorithm: "bcrypt";
      /** log2 of bcrypt's cost, 4..30 (jBCrypt's range). Default: 11, the core's `bcrypt_log_rounds`. */
      logRounds?: number;
    }
  | {
      algorithm: "argon2";
      /** Argon2 t. Default: 1, the core's `argon2_iterations`. */
      iterations?: number;
      /** Argon2 m in KiB, at least 8·parallelism. Default: 87795, the core's `argon2_memory_kb`. */
      memoryKb?: number;
      /** Argon2 p. Default: 2, the core's `argon2_parallelism`. */
      parallelism?: number;
    };

export type HashPasswordConfig = Readonly<
  { algorithm: "bcrypt"; logRounds: number } | { algorithm: "argon2"; iterations: number; memoryKb: number; parallelism: number }
>;

const DEFAULTS = { logRounds: 11, iterations: 1, memoryKb: 87795, parallelism: 2 } as const;

function invalid(option: string, value: unknown, allowed: string): MigrateError {
  return new MigrateError(
    "ERR_MIGRATE_CONFIG",
    `hashPassword: \`${option}\` is ${JSON.stringify(value)}; it must be ${allowed}. Fix the value or leave it undefined for the core's default.`,
  );
}

function integerIn(option: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

const KEYS = {
  bcrypt: ["algorithm", "logRounds"],
  argon2: ["algorithm", "iterations", "memoryKb", "parallelism"],
} as const;

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

function rejectUnknownKeys(options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (allowed.includes(key)) continue;
    const closest = [...allowed].sort((x, y) => distance(key, x) - distance(key, y))[0];
    throw new MigrateError(
      "ERR_MIGRATE_CONFIG",
      `hashPassword: unknown option \`${key}\`; did you mean \`${closest}\`? Allowed: ${allowed.join(", ")}.`,
    );
  }
}

/** Validates once (the dev core calls this at startup); hashPassword calls it too, so a bad config never hashes. */
export function resolveHashPasswordConfig(options: HashPasswordOptions = { algorithm: "bcrypt" }): HashPasswordConfig {
  // Typed callers cannot get these wrong, but the dev core feeds in values read from a config file.
  const given: unknown = (options as { algorithm?: unknown } | undefined)?.algorithm;
  const algorithm = typeof given === "string" ? given.toLowerCase() : given;
  if (algorithm === "bcrypt") {
    rejectUnknownKeys(options, KEYS.bcrypt);
    const logRounds = integerIn("logRounds", (options as { logRounds?: unknown }).logRounds, 4, 30, DEFAULTS.logRounds);
    return Object.freeze({ algorithm, logRounds });
  }
  if (algorithm === "argon2") {
    rejectUnknownKeys(options, KEYS.argon2);
    const o = options as { iterations?: unknown; memoryKb?: unknown; parallelism?: unknown };
    const iterations = integerIn("iterations", o.iterations, 1, 2 ** 32 - 1, DEFAULTS.iterations);
    const parallelism = integerIn("parallelism", o.parallelism, 1, 2 ** 24 - 1, DEFAULTS.parallelism);
    // Argon2 (RFC 9106 section 3.1) needs m >= 8·p.
    const memoryKb = integerIn("memoryKb", o.memoryKb, 8 * parallelism, 2 ** 32 - 1, DEFAULTS.memoryKb);
    return Object.freeze({ algorithm, iterations, memoryKb, parallelism });
  }
  throw invalid("algorithm", given, '"bcrypt" or "argon2"');
}

/**
 * Hashes as the core's PasswordHashing.createHashWithSalt does: bcrypt → `$2a$<rounds>$…` (jBCrypt),
 * argon2 → `$argon2id$v=19$m=…,t=…,p=…$<16-byte salt>$<32-byte hash>` (argon2-jvm).
 */
export async function hashPassword(password: string, options?: HashPasswordOptions): Promise<string> {
  const config = resolveHashPasswordConfig(options);
  if (typeof password !== "string") {
    throw new MigrateError("ERR_MIGRATE_BAD_INPUT", "hashPassword: the password must be a string", { status: 400 });
  }
  return config.algorithm === "bcrypt" ? hashBcrypt(password, config.logRounds) : hashArgon2(password, config);
}
