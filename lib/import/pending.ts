import { createHash } from "node:crypto";

/**
 * In per-user mode a user first exists under a placeholder address in this reserved domain (RFC 2606 `.invalid`:
 * no mail is delivered, nobody can prove they own it), gets its mapping, metadata and verification, and only
 * then its real email. Until that last step no one can sign in as it or sign up over it, so a crash at any
 * point leaves either an invisible user that the next run finishes or a complete one. legacyAuth() parks
 * users in the same domain (lib/auth/core-client.ts, not imported here to keep supertokens-node out of the CLI).
 */
export const PENDING_EMAIL_DOMAIN = "pending.supertokens-migrate.invalid";

/** Recorded on the mappings the import creates, so an operator can tell them from others. */
export const MAPPING_INFO = "supertokens-migrate:import";

/**
 * The placeholder is derived from the legacy id, so a re-run finds the user a killed run left behind instead of
 * creating a second one; the hash only hides which id it is.
 */
export function pendingEmailFor(legacyId: string): string {
  return `import-${createHash("sha256").update(legacyId).digest("hex").slice(0, 40)}@${PENDING_EMAIL_DOMAIN}`;
}

export const isPendingEmail = (email: string | undefined): boolean =>
  typeof email === "string" && email.toLowerCase().endsWith(`@${PENDING_EMAIL_DOMAIN}`);
