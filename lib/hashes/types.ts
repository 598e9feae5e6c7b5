/** Hash families this module can verify without help. Encodings within a family are listed in detect.ts. */
export type HashFormat = "bcrypt" | "argon2" | "firebase_scrypt" | "scrypt" | "pbkdf2" | "django_pbkdf2";

/**
 * A verifier for a format we do not ship (or to replace one we do: custom verifiers are asked first, in the
 * order of the `verifiers` record, and the first whose `detect` says yes decides).
 *
 * `detect` must be cheap and synchronous. Anything `detect` or `verify` throws reaches the caller of
 * `verifyPassword` unchanged, so an outage of, say, a remote verifier is not reported as a wrong password.
 */
export interface PasswordVerifier {
  detect(hash: string): boolean;
  verify(password: string, hash: string): Promise<boolean>;
}

/**
 * `format` is a {@link HashFormat} or the key of the custom verifier that decided. A hash that looks like a
 * known format but cannot be parsed is NO_MATCH: the row is broken, and nothing could ever match it.
 */
export type VerifyResult =
  { status: "MATCH"; format: string } | { status: "NO_MATCH"; format: string } | { status: "UNKNOWN_FORMAT" };

export interface VerifyOptions {
  /** Tried before the built-in formats, in key order; the key names the format in results and logs. Default: none. */
  verifiers?: Record<string, PasswordVerifier>;
  /**
   * Base64 signer key of the Firebase project the hashes came from (the core's
   * `firebase_password_hashing_signer_key`). Default: none, and a Firebase scrypt hash then throws
   * ERR_MIGRATE_MISSING_SIGNER_KEY, as the core answers 500 for it.
   */
  firebaseSignerKey?: string;
}
