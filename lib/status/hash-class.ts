import { detectHashFormat } from "../hashes/index.js";
import { checkHash } from "../hashes/import-check.js";
import { isImportAlgorithm } from "../hashes/import-format.js";

/**
 * How a legacy user can still move, judged by the stored hash alone:
 *
 * - `importable`: the core's hash import takes it byte for byte, so `supertokens-migrate finish` moves the user;
 * - `verify-only`: a format legacyAuth() verifies but the core cannot store (scrypt, PBKDF2, Django, bcrypt
 *   `$2x$`): the user moves on their next sign-in, or by a password reset;
 * - `unrecognised`: no format we know; only a custom `verifyPassword` or a reset can move the user;
 * - `malformed`: a known prefix but not a hash the core would take (e.g. a truncated bcrypt hash);
 * - `missing-hash`: no hash at all; only a reset can.
 *
 * "importable" is the import's own decision (lib/hashes/import-check.ts), so the two cannot drift apart.
 */
export type HashClass = "importable" | "verify-only" | "unrecognised" | "malformed" | "missing-hash";

export const HASH_CLASSES: readonly HashClass[] = [
  "importable",
  "verify-only",
  "unrecognised",
  "malformed",
  "missing-hash",
];

export function classifyHash(value: unknown): HashClass {
  if (value === null || value === undefined) return "missing-hash";
  if (typeof value !== "string") return "malformed";
  const hash = value.trim();
  if (hash === "") return "missing-hash";
  // The import's own decision: importable exactly when the import would import it.
  if (checkHash(hash).ok) return "importable";
  const format = detectHashFormat(hash);
  if (format === undefined) return "unrecognised";
  // crypt_blowfish's buggy variant: legacyAuth verifies it as the legacy app did, the core must not store it (T17).
  if (!isImportAlgorithm(format) || hash.startsWith("$2x$")) return "verify-only";
  return "malformed";
}
