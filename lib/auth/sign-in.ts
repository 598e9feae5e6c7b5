import { randomUUID } from "node:crypto";
import type { User } from "supertokens-node";
import { forgetCachedCoreAnswers, isPendingEmail, normaliseEmail } from "./core-via-sdk.js";
import { importPlan, moveUser, resumeMove, type Credential } from "./import-user.js";
import { lockKey } from "./lock.js";
import { authLog, maskEmail } from "./log.js";
import { MAX_PASSWORD_LENGTH, type LegacyAuthRuntime } from "./runtime.js";
import type { UserContext } from "../user-context.js";

/**
 * - moved: the legacy password matched and the user now lives in SuperTokens (or just did, by this request).
 * - supertokens: an email-password user with this email exists, so SuperTokens alone decides. `since: "before"`:
 *   it existed when we first looked (a SuperTokens answer obtained earlier in the request stands);
 *   `"after"`: it appeared while we worked (a concurrent move, a resumed one), so SuperTokens must be asked again.
 * - rejected: WRONG_CREDENTIALS_ERROR, after exactly one password-hash check at the legacy cost.
 */
export type SignInDecision =
  | { kind: "moved"; user: User; userId: string }
  | { kind: "supertokens"; since: "before" | "after" }
  | { kind: "rejected" };

export interface SignInInput {
  email: string;
  password: string;
  tenantId: string;
  userContext?: UserContext;
}

/**
 * The fallback, asked only when SuperTokens has answered "wrong credentials" (or not been asked yet). Every
 * failure path costs one hash verification at the legacy cost: the real one, or a dummy (T14).
 */
export async function decideSignIn(rt: LegacyAuthRuntime, input: SignInInput): Promise<SignInDecision> {
  const { password, tenantId, userContext } = input;
  const email = normaliseEmail(input.email);
  if (await rt.core.emailPasswordUser(tenantId, email, userContext)) return { kind: "supertokens", since: "before" };
  if (isPendingEmail(email) || password.length > MAX_PASSWORD_LENGTH) {
    authLog("sign-in for %s refused: reserved address or over-long password", maskEmail(email));
    await rt.dummy();
    return { kind: "rejected" };
  }

  const found = await rt.legacy.byEmail(email, tenantId);
  const legacy = found.kind === "one" ? found.user : undefined;
  // Both classes do the same work: one hash check at the legacy cost (real or dummy) alongside one mapping lookup
  // (real, or for an id nobody has), so an unknown email and a wrong password take the same time (T14).
  const [verdict, superTokensId] = await Promise.all([
    legacy ? rt.verify(password, legacy.passwordHash) : rt.dummy().then(() => undefined),
    rt.core.superTokensIdOf(legacy ? legacy.id : `supertokens-migrate-decoy-${randomUUID()}`, userContext),
  ]);
  if (!legacy || !verdict) {
    authLog(
      "sign-in for %s: %s; wrong credentials after a dummy verify",
      maskEmail(email),
      found.kind === "unusable" || found.kind === "invalid" ? found.reason : "in neither store",
    );
    return { kind: "rejected" };
  }
  const grantRoles = () => rt.grantRoles(tenantId, legacy, userContext);

  if (superTokensId !== undefined) {
    // Moved before. SuperTokens just said it has no user with this email: either an earlier move stopped before
    // its email step (finish it, then SuperTokens decides), or the user changed their email in SuperTokens.
    const outcome = await rt.lock.run(lockKey(tenantId, email), () =>
      resumeMove(rt.core, { tenantId, email, legacyId: legacy.id, superTokensId, userContext, grantRoles }),
    );
    if (outcome.status === "RESUMED" || outcome.status === "IN_SUPERTOKENS") {
      forgetCachedCoreAnswers(userContext);
      return { kind: "supertokens", since: "after" };
    }
    authLog(
      "sign-in for %s: legacy user %s was moved and now has another email; wrong credentials",
      maskEmail(email),
      legacy.id,
    );
    return { kind: "rejected" };
  }

  if (verdict.status === "UNKNOWN_FORMAT") {
    authLog(
      "sign-in for legacy user %s: stored hash is in no recognised format (or missing); wrong credentials",
      legacy.id,
    );
    await rt.dummy();
    return { kind: "rejected" };
  }
  if (verdict.status === "NO_MATCH") {
    authLog("sign-in for legacy user %s: %s password does not match; wrong credentials", legacy.id, verdict.format);
    return { kind: "rejected" };
  }

  const plan = importPlan(legacy.passwordHash!, verdict, rt.config);
  const credential: Credential = plan.ok ? plan.credential : { kind: "password", password };
  if (!plan.ok)
    authLog(
      "legacy user %s: %s hash not imported as is (%s); the core will hash the verified password",
      legacy.id,
      verdict.format,
      plan.reason,
    );

  const outcome = await rt.lock.run(lockKey(tenantId, email), () =>
    moveUser(rt.core, rt.rawImplementation(), {
      tenantId,
      email,
      legacyId: legacy.id,
      credential,
      userContext,
      grantRoles,
    }),
  );
  forgetCachedCoreAnswers(userContext);
  switch (outcome.status) {
    case "MOVED":
      authLog("sign-in for legacy user %s: moved to SuperTokens", legacy.id);
      await rt.userMigrated(
        {
          userId: legacy.id,
          email,
          tenantId,
          user: outcome.user,
          via: "signIn",
          hashImported: credential.kind === "hash",
        },
        { rolesGranted: true },
      );
      return { kind: "moved", user: outcome.user, userId: legacy.id };
    case "RESUMED":
    case "IN_SUPERTOKENS":
      // Someone else finished the move while we waited for the lock: SuperTokens checks this password.
      return { kind: "supertokens", since: "after" };
    case "ALREADY_MOVED":
      return { kind: "rejected" };
  }
}
