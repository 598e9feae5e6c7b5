import { createHash } from "node:crypto";

/*
 * In per-user mode a user first exists under a placeholder address in the reserved domain (see
 * lib/pending-email.ts), gets its mapping, metadata and verification, and only then its real email, so a crash at
 * any point leaves either an invisible user that the next run finishes or a complete one.
 */
export { isPendingEmail, PENDING_EMAIL_DOMAIN } from "../pending-email.js";
import { PENDING_EMAIL_DOMAIN } from "../pending-email.js";

/** Recorded on the mappings the import creates, so an operator can tell them from others. */
export const MAPPING_INFO = "supertokens-migrate:import";

/**
 * The placeholder is derived from the legacy id, so a re-run finds the user a killed run left behind instead of
 * creating a second one; the hash only hides which id it is.
 */
export function pendingEmailFor(legacyId: string): string {
  return `import-${createHash("sha256").update(legacyId).digest("hex").slice(0, 40)}@${PENDING_EMAIL_DOMAIN}`;
}
