import { bcryptCost } from "../auth/hashes/bcrypt.js";
import { checkImportFormat, detectHashFormat, type ImportAlgorithm } from "../auth/hashes/index.js";

export type HashCheck =
  | { ok: true; algorithm: ImportAlgorithm; passwordHash: string; weak?: string }
  | { ok: false; detail: string };

const bcryptFull = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
/** OWASP's floor for bcrypt; weaker hashes are imported as they are but flagged (T17). */
const minBcryptCost = 10;

/**
 * Whether the core can import `hash` byte for byte, and as what. Stricter than the core's prefix check (T17):
 * a bcrypt hash must be complete, and `$2x$` (crypt_blowfish's marker for its sign-extension bug) is left to
 * legacyAuth(), which verifies it the way the legacy app did. Formats the core cannot verify are left to it too.
 */
export function checkHash(raw: string): HashCheck {
  const hash = raw.trim();
  const format = detectHashFormat(hash);
  let algorithm: ImportAlgorithm;
  let weak: string | undefined;
  switch (format) {
    case "bcrypt": {
      if (hash.startsWith("$2x$")) return { ok: false, detail: "bcrypt $2x$ (crypt_blowfish's buggy variant): left to legacyAuth()" };
      const cost = bcryptCost(hash);
      if (!bcryptFull.test(hash) || cost === undefined) return { ok: false, detail: "malformed bcrypt hash" };
      if (cost < minBcryptCost) weak = `bcrypt cost ${cost} is below ${minBcryptCost}; rehash on the next sign-in`;
      algorithm = "bcrypt";
      break;
    }
    case "argon2":
    case "firebase_scrypt":
      algorithm = format;
      break;
    case undefined:
      return { ok: false, detail: "unrecognised hash format: left to legacyAuth()" };
    default:
      return { ok: false, detail: `${format} hashes cannot be imported into SuperTokens: left to legacyAuth()` };
  }
  // The signer key is the core's to hold; here only the format is checked.
  const checked = checkImportFormat(hash, algorithm, { firebaseSignerKey: "format-check-only" });
  if (!checked.ok) return { ok: false, detail: checked.message };
  return { ok: true, algorithm, passwordHash: checked.passwordHash, ...(weak ? { weak } : {}) };
}
