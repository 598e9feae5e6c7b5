/**
 * Users being moved (by legacyAuth() or the import's per-user mode) first exist under an address in this reserved
 * domain (RFC 2606 `.invalid`: no mail is ever delivered), then get their mapping, then their real email. Until the
 * last step nobody can sign in as them or sign up over them. Kept free of supertokens-node so the CLI can use it.
 */
export const PENDING_EMAIL_DOMAIN = "pending.supertokens-migrate.invalid";

export const isPendingEmail = (email: string | undefined): boolean =>
  typeof email === "string" && email.toLowerCase().endsWith(`@${PENDING_EMAIL_DOMAIN}`);
