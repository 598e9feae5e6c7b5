import { MigrateError } from "../errors.js";
import { integerIn, invalidOption, rejectUnknownKeys, type OptionKeys } from "../options.js";
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
  | { algorithm: "bcrypt"; logRounds: number }
  | { algorithm: "argon2"; iterations: number; memoryKb: number; parallelism: number }
>;

/** The core's defaults (config.yaml), in one place. */
const DEFAULTS = Object.freeze({ logRounds: 11, iterations: 1, memoryKb: 87795, parallelism: 2 });

const KEYS = {
  bcrypt: { algorithm: true, logRounds: true } satisfies OptionKeys<
    Extract<HashPasswordOptions, { algorithm: "bcrypt" }>
  >,
  argon2: { algorithm: true, iterations: true, memoryKb: true, parallelism: true } satisfies OptionKeys<
    Extract<HashPasswordOptions, { algorithm: "argon2" }>
  >,
};

const what = "hashPassword";
const fix = "Fix the value or leave it undefined for the core's default.";

/** Validates once (the dev core calls this at startup); hashPassword calls it too, so a bad config never hashes. */
export function resolveHashPasswordConfig(options: HashPasswordOptions = { algorithm: "bcrypt" }): HashPasswordConfig {
  // Typed callers cannot get these wrong, but the dev core feeds in values read from a config file.
  const given: unknown = (options as { algorithm?: unknown } | undefined)?.algorithm;
  const algorithm = typeof given === "string" ? given.toLowerCase() : given;
  if (algorithm === "bcrypt") {
    rejectUnknownKeys(what, options, KEYS.bcrypt);
    const logRounds = integerIn(
      what,
      "logRounds",
      (options as { logRounds?: unknown }).logRounds,
      4,
      30,
      DEFAULTS.logRounds,
      fix,
    );
    return Object.freeze({ algorithm, logRounds });
  }
  if (algorithm === "argon2") {
    rejectUnknownKeys(what, options, KEYS.argon2);
    const o = options as { iterations?: unknown; memoryKb?: unknown; parallelism?: unknown };
    const iterations = integerIn(what, "iterations", o.iterations, 1, 2 ** 32 - 1, DEFAULTS.iterations, fix);
    const parallelism = integerIn(what, "parallelism", o.parallelism, 1, 2 ** 24 - 1, DEFAULTS.parallelism, fix);
    // Argon2 (RFC 9106 section 3.1) needs m >= 8·p.
    const memoryKb = integerIn(what, "memoryKb", o.memoryKb, 8 * parallelism, 2 ** 32 - 1, DEFAULTS.memoryKb, fix);
    return Object.freeze({ algorithm, iterations, memoryKb, parallelism });
  }
  throw invalidOption(what, "algorithm", '"bcrypt" or "argon2"', given, fix);
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
