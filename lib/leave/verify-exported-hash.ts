import { verifyPassword } from "../hashes/index.js";

/**
 * Check a password against a hash exported from a SuperTokens core (bcrypt `$2a$`/`$2b$` or argon2), in the
 * system you move to. Anything else answers false: the core never stores other formats except firebase-scrypt,
 * which needs its signer key (use `verifyPassword` with `firebaseSignerKey` for those).
 */
export async function verifyExportedPassword(password: string, passwordHash: string): Promise<boolean> {
  const result = await verifyPassword(password, passwordHash);
  return result.status === "MATCH" && (result.format === "bcrypt" || result.format === "argon2");
}
