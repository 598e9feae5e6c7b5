import { javaTrim } from "./encoding.js";
import { parseFirebaseScrypt } from "./firebase-scrypt.js";

/** What the core's `/recipe/user/passwordhash/import` would store the hash as. */
export type ImportAlgorithm = "bcrypt" | "argon2" | "firebase_scrypt";

/**
 * `status` is what the core answers: 400 with `message` as the body's message, or 500 for a Firebase hash when
 * the core has no signer key (its config getter throws). `passwordHash` is the trimmed hash the core stores.
 */
export type ImportFormatResult =
  { ok: true; algorithm: ImportAlgorithm; passwordHash: string } | { ok: false; status: 400 | 500; message: string };

export interface ImportFormatOptions {
  /** The core's `firebase_password_hashing_signer_key`. Default: none (Firebase hashes then fail with 500). */
  firebaseSignerKey?: string;
}

// The core's prefix checks (PasswordHashingUtils.isInputHashIn*Format): three and eight characters, with no
// `$` after them, so they are looser than detectHashFormat; import decisions must match the core's.
const isCoreBcrypt = (hash: string) => ["$2a", "$2x", "$2y", "$2b"].some((prefix) => hash.startsWith(prefix));
const isCoreArgon2 = (hash: string) => ["$argon2id", "$argon2i", "$argon2d"].some((prefix) => hash.startsWith(prefix));

/** Whether a detected format is one the core's import takes. */
export const isImportAlgorithm = (format: string): format is ImportAlgorithm =>
  format === "bcrypt" || format === "argon2" || format === "firebase_scrypt";

/** OWASP's floor for bcrypt (T17): legacyAuth does not import a weaker hash as is, the import flags it. */
export const MIN_IMPORTED_BCRYPT_COST = 10;
const BCRYPT_IMPORTABLE = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/**
 * The cost of a bcrypt hash complete enough to go into the core byte for byte: the full $2a/$2b/$2y grammar,
 * never `$2x$` (crypt_blowfish's buggy variant). Stricter than the core's prefix check (T17); undefined otherwise.
 */
export function importableBcryptCost(hash: string): number | undefined {
  const match = BCRYPT_IMPORTABLE.exec(hash);
  return match ? Number(match[1]) : undefined;
}

const fail = (message: string, status: 400 | 500 = 400): ImportFormatResult => ({ ok: false, status, message });
const missingKey = () => fail("'firebase_password_hashing_signer_key' cannot be null", 500);

/**
 * The validation of ImportUserWithPasswordHashAPI plus PasswordHashingUtils
 * .assertSuperTokensSupportInputPasswordHashFormat, in the core's order and with its messages. `algorithm` is
 * the request's optional `hashingAlgorithm`, matched case-insensitively after trimming.
 */
export function checkImportFormat(
  hash: string,
  algorithm?: string | null,
  options: ImportFormatOptions = {},
): ImportFormatResult {
  if (typeof hash !== "string") return fail("Password hash is in invalid format");
  const passwordHash = javaTrim(hash);
  if (passwordHash === "") return fail("Password hash cannot be an empty string");
  const signerKeySet = typeof options.firebaseSignerKey === "string" && options.firebaseSignerKey !== "";

  if (algorithm === undefined || algorithm === null) {
    if (parseFirebaseScrypt(passwordHash)) {
      return signerKeySet ? { ok: true, algorithm: "firebase_scrypt", passwordHash } : missingKey();
    }
    if (isCoreBcrypt(passwordHash)) return { ok: true, algorithm: "bcrypt", passwordHash };
    if (isCoreArgon2(passwordHash)) return { ok: true, algorithm: "argon2", passwordHash };
    return fail("Password hash is in invalid format");
  }

  const name = javaTrim(String(algorithm)).toUpperCase();
  if (name === "") return fail("Hashing Algorithm cannot be an empty string");
  switch (name) {
    case "ARGON2":
      return isCoreArgon2(passwordHash)
        ? { ok: true, algorithm: "argon2", passwordHash }
        : fail("Password hash is in invalid Argon2 format");
    case "BCRYPT":
      return isCoreBcrypt(passwordHash)
        ? { ok: true, algorithm: "bcrypt", passwordHash }
        : fail("Password hash is in invalid BCrypt format");
    case "FIREBASE_SCRYPT":
      // The core reads the signer key before parsing, so a missing key wins over a malformed hash.
      if (!signerKeySet) return missingKey();
      return parseFirebaseScrypt(passwordHash)
        ? { ok: true, algorithm: "firebase_scrypt", passwordHash }
        : fail("Password hash is in invalid Firebase SCrypt format");
    default:
      return fail("Unsupported password hashing algorithm");
  }
}

/** Whether the core would import this hash as is (no `hashingAlgorithm` given), so legacyAuth can skip rehashing. */
export function coreImportable(hash: string, options: ImportFormatOptions = {}): boolean {
  return checkImportFormat(hash, undefined, options).ok;
}
