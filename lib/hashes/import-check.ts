import { bcryptCost } from "./bcrypt.js";
import { detectHashFormat } from "./detect.js";
import {
  checkImportFormat,
  importableBcryptCost,
  isImportAlgorithm,
  MIN_IMPORTED_BCRYPT_COST,
  type ImportAlgorithm,
} from "./import-format.js";

export type HashCheck =
  { ok: true; algorithm: ImportAlgorithm; passwordHash: string; weak?: string } | { ok: false; detail: string };

/**
 * Whether the core can import `hash` byte for byte, and as what. Stricter than the core's prefix check (T17):
 * a bcrypt hash must be complete, and `$2x$` (crypt_blowfish's marker for its sign-extension bug) is left to
 * legacyAuth(), which verifies it the way the legacy app did. Formats the core cannot verify are left to it too.
 * Weak bcrypt hashes (below OWASP's floor) are imported as they are but flagged.
 */
export function checkHash(raw: string): HashCheck {
  const hash = raw.trim();
  const format = detectHashFormat(hash);
  if (format === undefined) return { ok: false, detail: "unrecognised hash format: left to legacyAuth()" };
  if (!isImportAlgorithm(format))
    return { ok: false, detail: `${format} hashes cannot be imported into SuperTokens: left to legacyAuth()` };
  let weak: string | undefined;
  if (format === "bcrypt") {
    if (hash.startsWith("$2x$"))
      return { ok: false, detail: "bcrypt $2x$ (crypt_blowfish's buggy variant): left to legacyAuth()" };
    const cost = importableBcryptCost(hash);
    if (cost === undefined || bcryptCost(hash) === undefined) return { ok: false, detail: "malformed bcrypt hash" };
    if (cost < MIN_IMPORTED_BCRYPT_COST)
      weak = `bcrypt cost ${cost} is below ${MIN_IMPORTED_BCRYPT_COST}; rehash on the next sign-in`;
  }
  // The signer key is the core's to hold; here only the format is checked.
  const checked = checkImportFormat(hash, format, { firebaseSignerKey: "format-check-only" });
  if (!checked.ok) return { ok: false, detail: checked.message };
  return { ok: true, algorithm: format, passwordHash: checked.passwordHash, ...(weak ? { weak } : {}) };
}
