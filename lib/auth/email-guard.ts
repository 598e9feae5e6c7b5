import { isPendingEmail, normaliseEmail } from "./core-via-sdk.js";
import { authLog, maskEmail } from "./log.js";
import type { LegacyAuthRuntime } from "./runtime.js";

import type { UserContext } from "../user-context.js";

/**
 * The one rule for every path that gives an identity an email (T13, issue 11): an address that belongs to a legacy
 * user who is not (completely) in SuperTokens yet, or an address in the reserved pending domain, is taken. Sign-up
 * (`createNewRecipeUser`) and email changes (`updateEmailOrPassword`, which SuperTokens' change-email flows, with
 * or without EmailVerification, and the dashboard all end in) ask it; each answers with its recipe's own "already
 * exists" status.
 *
 * Recipe-agnostic on purpose: ThirdParty's `signInUp`/`manuallyCreateOrUpdateUser` and Passwordless' `createCode`,
 * `consumeCode` and `updateUser` get the same question (email, the tenants the identity lives in) and map a refusal
 * to their own status (`SIGN_IN_UP_NOT_ALLOWED`, `EMAIL_CHANGE_NOT_ALLOWED_ERROR`, `EMAIL_ALREADY_EXISTS_ERROR`).
 * A store or core that cannot be reached throws UnavailableError: the caller fails closed (503).
 */
export type EmailClaimVerdict =
  | { claimable: true }
  /** `hash`: the legacy user's stored hash, so a refusal can cost what a real check would (T14). */
  | { claimable: false; why: "reserved address" | "legacy user"; hash?: string | null }
  /**
   * The legacy store rejected the email as invalid input (item 7 of issue 11): refused as the SDK refuses an invalid
   * email (a field error), never claimable, so a data exception from the table's own rows cannot open sign-up.
   */
  | { claimable: false; why: "invalid input" };

export interface EmailClaimInput {
  /** As the user typed it; normalised here. */
  email: string;
  /** The tenants the identity that would get the email lives in; tenants legacyAuth does not cover are skipped. */
  tenantIds: readonly string[];
  userContext?: UserContext;
  /** For the log line: "sign-up", "email change", ... */
  via: string;
}

/** Whether the email belongs to a legacy user who is not (completely) in SuperTokens yet. Normalised email. */
export async function isLegacyOnly(
  rt: LegacyAuthRuntime,
  email: string,
  tenantId: string,
  userContext?: UserContext,
): Promise<{ legacyOnly: boolean; hash?: string | null; invalid?: true }> {
  const found = await rt.legacy.byEmail(email, tenantId);
  if (found.kind === "none") return { legacyOnly: false };
  // No row can have it; email-exists answers as for an unknown email, and emailClaim refuses it as invalid input.
  if (found.kind === "invalid") return { legacyOnly: false, invalid: true };
  if (found.kind === "unusable") return { legacyOnly: true };
  const superTokensId = await rt.core.superTokensIdOf(found.user.id, userContext);
  if (superTokensId === undefined) return { legacyOnly: true, hash: found.user.passwordHash };
  // Mapped, but still under its pending address: a move in progress (or interrupted). The email is taken.
  const user = await rt.core.getUser(found.user.id, userContext);
  const pending = user !== undefined && user.loginMethods.some((lm) => isPendingEmail(lm.email));
  return { legacyOnly: pending, hash: found.user.passwordHash };
}

export async function emailClaim(rt: LegacyAuthRuntime, input: EmailClaimInput): Promise<EmailClaimVerdict> {
  const email = normaliseEmail(input.email);
  const tenants = input.tenantIds.filter((t) => rt.covers(t));
  if (tenants.length === 0) return { claimable: true };
  if (isPendingEmail(email)) {
    authLog("%s for %s refused: reserved address", input.via, maskEmail(email));
    return { claimable: false, why: "reserved address" };
  }
  for (const tenantId of tenants) {
    const legacy = await isLegacyOnly(rt, email, tenantId, input.userContext);
    if (legacy.invalid) {
      authLog("%s for %s refused: the legacy store rejected the email as invalid input", input.via, maskEmail(email));
      return { claimable: false, why: "invalid input" };
    }
    if (legacy.legacyOnly) {
      authLog(
        "%s for %s refused: the email belongs to a legacy user (tenant %s)",
        input.via,
        maskEmail(email),
        tenantId,
      );
      return { claimable: false, why: "legacy user", hash: legacy.hash };
    }
  }
  return { claimable: true };
}
