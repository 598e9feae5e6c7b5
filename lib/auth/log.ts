import { log } from "../debug.js";

/**
 * One line per decision, with its reason. Never pass a password, a hash, a reset token or a full email: emails go
 * through {@link maskEmail} (SuperTokens' own debug lines print them; ours need not add more copies, T19).
 */
export const authLog = log.extend("auth");

/** `alice@example.com` → `a***@example.com`: enough to correlate lines, not enough to harvest addresses. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at <= 0) return "***";
  return `${email[0]}***${email.slice(at)}`;
}
