import { checkImportFormat, hashPassword, verifyPassword, type ImportAlgorithm } from "../hashes/index.js";
import { isMigrateError } from "../errors.js";
import type { CoreConfig } from "./config.js";
import { CoreHttpError } from "./http.js";

/**
 * The dev core's view of lib/hashes: hash with the app's config and verify only what the core itself
 * verifies (PasswordHashing.verifyPasswordWithHash knows bcrypt, argon2 and Firebase scrypt; any other stored
 * hash is a wrong password there, never a match).
 */
const coreFormats = new Set(["bcrypt", "argon2", "firebase_scrypt"]);

const signerKeyMissing = () => new CoreHttpError(500, "'firebase_password_hashing_signer_key' cannot be null");

const signerKey = (config: CoreConfig) => config.firebase_password_hashing_signer_key ?? undefined;

/** PasswordHashing.createHashWithSalt: `password_hashing_alg` with its bcrypt or argon2 cost keys. */
export function hashForApp(config: CoreConfig, password: string): Promise<string> {
  return config.password_hashing_alg === "ARGON2"
    ? hashPassword(password, {
        algorithm: "argon2",
        iterations: config.argon2_iterations,
        memoryKb: config.argon2_memory_kb,
        parallelism: config.argon2_parallelism,
      })
    : hashPassword(password, { algorithm: "bcrypt", logRounds: config.bcrypt_log_rounds });
}

/** True only on a match; a Firebase hash with no signer key configured is the core's 500. */
export async function verifyForApp(config: CoreConfig, password: string, hash: string): Promise<boolean> {
  try {
    const result = await verifyPassword(password, hash, { firebaseSignerKey: signerKey(config) });
    return result.status === "MATCH" && coreFormats.has(result.format);
  } catch (err) {
    if (isMigrateError(err) && err.code === "ERR_MIGRATE_MISSING_SIGNER_KEY") throw signerKeyMissing();
    throw err;
  }
}

/** checkImportFormat with the app's Firebase signer key: the core's message on failure, else the hash it stores. */
export const checkImportable = (config: CoreConfig, hash: string, algorithm: string | undefined) =>
  checkImportFormat(hash, algorithm, { firebaseSignerKey: signerKey(config) });

/**
 * ImportUserWithPasswordHashAPI's checks (empty hash, algorithm name, format) with the core's messages.
 * Returns the trimmed hash the core stores.
 */
export function assertImportable(
  config: CoreConfig,
  hash: string,
  algorithm: string | undefined,
): { passwordHash: string; algorithm: ImportAlgorithm } {
  const result = checkImportable(config, hash, algorithm);
  if (!result.ok) throw new CoreHttpError(result.status, result.message);
  return { passwordHash: result.passwordHash, algorithm: result.algorithm };
}
