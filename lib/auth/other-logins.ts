import supertokens, { type User } from "supertokens-node";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import { UnavailableError } from "../errors.js";
import { sdkRecipe } from "../sdk-internals.js";
import type { UserContext } from "../user-context.js";
import { isPendingEmail, normaliseEmail, pendingEmail } from "./core-via-sdk.js";
import { importPlan, resumeMove } from "./import-user.js";
import type { LegacyRecord } from "./legacy-users.js";
import { lockKey } from "./lock.js";
import { authLog, maskEmail } from "./log.js";
import type { LegacyAuthRuntime } from "./runtime.js";

/**
 * A way of signing in other than the legacy password, arriving for a user SuperTokens does not know by it yet.
 * `verified`: the email is proven (a magic link or code always; a provider when it says so).
 */
export type NewLogin =
  | {
      recipeId: "thirdparty";
      thirdPartyId: string;
      thirdPartyUserId: string;
      email: string;
      verified: boolean;
    }
  | { recipeId: "passwordless"; email: string; verified: true };

/**
 * - MOVED: the legacy user now lives in SuperTokens under their legacy id, with this login method.
 * - LINKED: the legacy user was already in SuperTokens by another method; with account linking the new method
 *   joined them (one primary user, the legacy id).
 * - IN_SUPERTOKENS: this login method appeared in SuperTokens meanwhile (another request, another process):
 *   SuperTokens decides, and nothing was written.
 * - NOT_ALLOWED: the legacy id already lives in SuperTokens by another method and account linking is off (or
 *   refused): a second user would fork the legacy id, so the sign-in is refused with a reason the user can act on.
 */
export type LoginOutcome =
  | { status: "MOVED" | "LINKED"; user: User; recipeUserId: string; legacyId: string }
  | { status: "IN_SUPERTOKENS" }
  | { status: "NOT_ALLOWED"; reason: string };

/** The reasons a frontend shows (the SDK's SIGN_IN_UP_NOT_ALLOWED `reason`); each names what the user can do. */
export const REASONS = Object.freeze({
  unverifiedLegacyEmail:
    "This email belongs to an existing account. Sign in with your password (or the way you signed in before) " +
    "first, or use a provider that confirms your email address.",
  unusableLegacyEmail:
    "This email belongs to an existing account that cannot be signed in to this way. Please contact support.",
  otherMethod: (methods: string) => `This account signs in with ${methods}. Sign in that way.`,
});

/** "your email and password", "Google", "a link sent to your email": how a user recognises their own method. */
export function describeMethods(user: User): string {
  const names = new Set<string>();
  for (const lm of user.loginMethods) {
    if (lm.recipeId === "emailpassword") names.add("your email and password");
    else if (lm.recipeId === "thirdparty" && lm.thirdParty) names.add(providerName(lm.thirdParty.id));
    else if (lm.recipeId === "passwordless") names.add("a link or code sent to you");
    else names.add(lm.recipeId);
  }
  return [...names].join(" or ") || "another method";
}

/** The provider's display name as the app configured it (`config.name`), else a well-known one, else its id. */
function providerName(id: string): string {
  const providers = (sdkRecipe("thirdparty") as { providers?: unknown } | undefined)?.providers;
  const configured = Array.isArray(providers)
    ? (providers as Array<{ config?: { thirdPartyId?: unknown; name?: unknown } }>).find(
        (p) => p.config?.thirdPartyId === id,
      )?.config?.name
    : undefined;
  if (typeof configured === "string" && configured !== "") return configured;
  const known: Record<string, string> = { google: "Google", github: "GitHub", apple: "Apple", facebook: "Facebook" };
  return known[id] ?? id;
}

/**
 * The app's automatic account-linking policy for this login method joining `user`, as the SDK asks it
 * (`AccountLinking.init({ shouldDoAutomaticAccountLinking })`). Without AccountLinking.init the SDK's default
 * answers "do not link".
 */
export async function accountLinkingAllows(
  login: NewLogin | { recipeId: "emailpassword"; email: string },
  user: User,
  tenantId: string,
  userContext: UserContext,
): Promise<boolean> {
  const config = sdkRecipe("accountlinking")?.config as
    | { shouldDoAutomaticAccountLinking?: (...args: unknown[]) => Promise<{ shouldAutomaticallyLink: boolean }> }
    | undefined;
  if (typeof config?.shouldDoAutomaticAccountLinking !== "function") return false;
  const accountInfo =
    login.recipeId === "thirdparty"
      ? {
          recipeId: "thirdparty",
          email: login.email,
          thirdParty: { id: login.thirdPartyId, userId: login.thirdPartyUserId },
        }
      : { recipeId: login.recipeId, email: login.email };
  const answer = await config.shouldDoAutomaticAccountLinking(accountInfo, user, undefined, tenantId, userContext);
  return answer?.shouldAutomaticallyLink === true;
}

/** Whether SuperTokens already has this exact login method (identity, or passwordless email) in the tenant. */
async function knownToSuperTokens(
  rt: LegacyAuthRuntime,
  tenantId: string,
  login: NewLogin,
  userContext?: UserContext,
): Promise<boolean> {
  if (login.recipeId === "thirdparty") {
    return (
      (await rt.core.thirdPartyUser(tenantId, login.thirdPartyId, login.thirdPartyUserId, userContext)) !== undefined
    );
  }
  return (await rt.core.passwordlessUser(tenantId, normaliseEmail(login.email), userContext)) !== undefined;
}

/** Step 1: the recipe user, under a reserved address nobody can sign in or sign up with. Its SuperTokens id. */
async function createPlaceholder(
  rt: LegacyAuthRuntime,
  tenantId: string,
  login: NewLogin,
  userContext?: UserContext,
): Promise<string | undefined> {
  const address = pendingEmail();
  if (login.recipeId === "passwordless") return rt.core.createPasswordlessUser(tenantId, address, userContext);
  const res = await rt.core.thirdPartySignInUp(tenantId, { ...login, email: address, isVerified: false }, userContext);
  if (res.status !== "OK" || res.recipeUserId === undefined) {
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      `legacyAuth: creating the ThirdParty user failed (${res.status})`,
    );
  }
  // Created a moment ago by someone else: theirs to finish; SuperTokens decides.
  return res.createdNewUser === false ? undefined : res.recipeUserId;
}

/** Step 3: the real email, on the recipe user `recipeUserId` (the legacy id once mapped). False: taken meanwhile. */
export async function attachLoginEmail(
  rt: LegacyAuthRuntime,
  tenantId: string,
  login: NewLogin,
  recipeUserId: string,
  userContext?: UserContext,
): Promise<boolean> {
  const status =
    login.recipeId === "passwordless"
      ? await rt.core.updatePasswordlessUser(recipeUserId, login.email, userContext)
      : (await rt.core.thirdPartySignInUp(tenantId, { ...login, isVerified: login.verified }, userContext)).status;
  if (status === "OK") {
    if (login.verified) await rt.core.verifyEmail(tenantId, recipeUserId, login.email, userContext);
    return true;
  }
  if (status === "EMAIL_ALREADY_EXISTS_ERROR" || status === "EMAIL_CHANGE_NOT_ALLOWED_ERROR") return false;
  throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `legacyAuth: attaching the email failed (${status})`);
}

/** Removes a placeholder that never had a session: its mapping first (by force), then the user by its own id. */
async function discard(rt: LegacyAuthRuntime, superTokensId: string, userContext?: UserContext): Promise<void> {
  try {
    if (await rt.core.hasMapping(superTokensId, userContext)) await rt.core.deleteMapping(superTokensId, userContext);
    await rt.core.deleteUser(superTokensId, userContext);
  } catch {
    authLog(
      "could not remove placeholder %s (core unavailable); it has a reserved address nobody can use",
      superTokensId,
    );
  }
}

/**
 * Brings a legacy user into SuperTokens by a login method other than their password: the first such sign-in lands
 * on their legacy id, by the same three steps as a password move (import-user.ts: placeholder under a reserved
 * address, mapping, real email), so no session can ever see a random id. If the legacy id already lives in
 * SuperTokens by another method, the new one is linked to it when the app's account linking allows, and refused
 * otherwise: never a second user for one legacy id.
 */
export async function bringInLegacyUser(
  rt: LegacyAuthRuntime,
  input: { tenantId: string; legacy: LegacyRecord; login: NewLogin; userContext: UserContext },
): Promise<LoginOutcome> {
  const { tenantId, legacy, login, userContext } = input;
  const legacyEmail = normaliseEmail(legacy.email);
  return rt.lock.run(lockKey(tenantId, legacyEmail), async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await knownToSuperTokens(rt, tenantId, login, userContext)) return { status: "IN_SUPERTOKENS" };
      const existingId = await rt.core.superTokensIdOf(legacy.id, userContext);
      if (existingId !== undefined) return joinExisting(rt, { ...input, superTokensId: existingId });

      const placeholder = await createPlaceholder(rt, tenantId, login, userContext);
      if (placeholder === undefined) return { status: "IN_SUPERTOKENS" };
      let mapped;
      try {
        mapped = await rt.core.createMapping(placeholder, legacy.id, userContext);
      } catch (err) {
        await discard(rt, placeholder, userContext);
        throw err;
      }
      if (mapped.status === "USER_ID_MAPPING_ALREADY_EXISTS_ERROR") {
        authLog("bring in %s: lost the mapping race; discarding our placeholder and re-reading", legacy.id);
        await discard(rt, placeholder, userContext);
        continue;
      }
      if (mapped.status !== "OK") {
        await discard(rt, placeholder, userContext);
        throw new UnavailableError(
          "ERR_MIGRATE_CORE_UNAVAILABLE",
          `legacyAuth: creating the user id mapping failed (${mapped.status})`,
        );
      }
      // The legacy roles, before the email step (so before any session): the first access token carries them, and
      // a move interrupted here is resumed (and granted again) by the next sign-in.
      await rt.grantRoles(tenantId, legacy, userContext);
      if (!(await attachLoginEmail(rt, tenantId, login, legacy.id, userContext))) {
        authLog("bring in %s: %s was taken meanwhile; removing our placeholder", legacy.id, maskEmail(login.email));
        await discard(rt, placeholder, userContext);
        return { status: "IN_SUPERTOKENS" };
      }
      // As the SDK's own sign-up does next: a primary user, or linked by email, as the app's policy says.
      await AccountLinking.createPrimaryUserIdOrLinkAccounts(
        tenantId,
        supertokens.convertToRecipeUserId(legacy.id),
        undefined,
        userContext,
      );
      const user = await rt.core.getUser(legacy.id, userContext);
      if (!user) {
        throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "legacyAuth: the moved user vanished");
      }
      authLog("bring in %s: moved by %s for %s", legacy.id, login.recipeId, maskEmail(login.email));
      await rt.userMigrated(
        {
          userId: legacy.id,
          email: normaliseEmail(login.email),
          tenantId,
          user,
          via: login.recipeId === "thirdparty" ? "thirdParty" : "passwordless",
          hashImported: false,
        },
        { rolesGranted: true },
      );
      return { status: "MOVED", user, recipeUserId: legacy.id, legacyId: legacy.id };
    }
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      "legacyAuth: the user kept changing while being moved; retry",
    );
  });
}

/** The legacy id already lives in SuperTokens: link the new method to it, or refuse. Runs under the lock. */
async function joinExisting(
  rt: LegacyAuthRuntime,
  input: { tenantId: string; legacy: LegacyRecord; login: NewLogin; userContext: UserContext; superTokensId: string },
): Promise<LoginOutcome> {
  const { tenantId, legacy, login, userContext, superTokensId } = input;
  let owner = await rt.core.getUser(legacy.id, userContext);
  const only = owner?.loginMethods.length === 1 ? owner.loginMethods[0] : undefined;
  if (owner && only && isPendingEmail(only.email)) {
    if (only.recipeId === login.recipeId && login.recipeId === "passwordless") {
      // An interrupted magic-link move of this very user (mapped, email not attached): this code finishes it.
      await rt.grantRoles(tenantId, legacy, userContext);
      if (await attachLoginEmail(rt, tenantId, login, legacy.id, userContext)) {
        const user = await rt.core.getUser(legacy.id, userContext);
        if (user) return { status: "MOVED", user, recipeUserId: legacy.id, legacyId: legacy.id };
      }
      return { status: "IN_SUPERTOKENS" };
    }
    if (only.recipeId === "emailpassword") {
      // An interrupted password move: finish it first (its email is the legacy row's), then link or refuse.
      await resumeMove(rt.core, {
        tenantId,
        email: normaliseEmail(legacy.email),
        legacyId: legacy.id,
        superTokensId,
        userContext,
        grantRoles: () => rt.grantRoles(tenantId, legacy, userContext),
      });
      owner = await rt.core.getUser(legacy.id, userContext);
    }
  }
  if (!owner) {
    authLog("bring in %s: mapped, but no user under it; refused", legacy.id);
    return { status: "NOT_ALLOWED", reason: REASONS.unusableLegacyEmail };
  }
  if (!(await accountLinkingAllows(login, owner, tenantId, userContext))) {
    authLog(
      "bring in %s: already in SuperTokens by %s and account linking is off; %s refused (no second user)",
      legacy.id,
      owner.loginMethods.map((lm) => lm.recipeId).join("+"),
      login.recipeId,
    );
    return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(owner)) };
  }
  if (!owner.isPrimaryUser) {
    const primary = await AccountLinking.createPrimaryUser(owner.loginMethods[0].recipeUserId, userContext);
    if (primary.status !== "OK") {
      authLog("bring in %s: could not make it a primary user (%s); refused", legacy.id, primary.status);
      return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(owner)) };
    }
  }
  const placeholder = await createPlaceholder(rt, tenantId, login, userContext);
  if (placeholder === undefined) return { status: "IN_SUPERTOKENS" };
  const linked = await AccountLinking.linkAccounts(
    supertokens.convertToRecipeUserId(placeholder),
    owner.id,
    userContext,
  ).catch(async (err: unknown) => {
    await discard(rt, placeholder, userContext);
    throw err;
  });
  if (linked.status !== "OK") {
    authLog("bring in %s: linking failed (%s); refused", legacy.id, linked.status);
    await discard(rt, placeholder, userContext);
    return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(owner)) };
  }
  if (!(await attachLoginEmail(rt, tenantId, login, placeholder, userContext))) {
    // Linked but its email refused (another primary user holds it): it still has a reserved address; unusable.
    authLog("bring in %s: the linked method's email was refused by the core", legacy.id);
  }
  const user = await rt.core.getUser(owner.id, userContext);
  if (!user) throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "legacyAuth: the linked user vanished");
  authLog("bring in %s: %s linked to the legacy user", legacy.id, login.recipeId);
  return { status: "LINKED", user, recipeUserId: placeholder, legacyId: legacy.id };
}

/**
 * The legacy app had verified this user's email: a password move carries that over (SuperTokens' account linking
 * asks for verified emails before it lets a second login method join).
 */
export async function carryVerifiedEmail(
  rt: LegacyAuthRuntime,
  input: { tenantId: string; legacyId: string; email: string; userContext?: UserContext },
): Promise<void> {
  const row = await rt.legacy.byId(input.legacyId);
  if (!row?.emailVerified || normaliseEmail(row.email) !== normaliseEmail(input.email)) return;
  await rt.core.verifyEmail(input.tenantId, input.legacyId, normaliseEmail(input.email), input.userContext);
  authLog("legacy user %s: the legacy app had verified the email; carried over", input.legacyId);
}

/**
 * A password sign-in SuperTokens refused, by a legacy user who already lives in SuperTokens by another method only
 * (their first sign-in was with a provider or a magic link), with their legacy password. With account linking the
 * password joins them as an email-password login method of the same user (the legacy id); without it the answer
 * says how they sign in now (the signin API's SIGN_IN_NOT_ALLOWED), never a second user. Anything else: undefined,
 * and the wrong-credentials answer stands. Said only to whoever knows the legacy password.
 */
export async function passwordOfMovedUser(
  rt: LegacyAuthRuntime,
  input: { tenantId: string; email: string; password: string; userContext: UserContext },
): Promise<{ status: "LINKED" } | { status: "NOT_ALLOWED"; reason: string } | undefined> {
  const { tenantId, password, userContext } = input;
  const email = normaliseEmail(input.email);
  const found = await rt.legacy.byEmail(email, tenantId);
  if (found.kind !== "one" || found.user.passwordHash === null) return undefined;
  const legacy = found.user;
  if ((await rt.core.superTokensIdOf(legacy.id, userContext)) === undefined) return undefined;
  const owner = await rt.core.getUser(legacy.id, userContext);
  if (!owner || owner.loginMethods.some((lm) => lm.recipeId === "emailpassword")) return undefined;
  if (!owner.loginMethods.some((lm) => lm.hasSameEmailAs(email))) return undefined;
  const verdict = await rt.verify(password, legacy.passwordHash);
  if (verdict.status !== "MATCH") return undefined;
  if (!(await accountLinkingAllows({ recipeId: "emailpassword", email }, owner, tenantId, userContext))) {
    authLog("password of legacy user %s: they sign in by %s now; refused", legacy.id, describeMethods(owner));
    return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(owner)) };
  }
  return rt.lock.run(lockKey(tenantId, email), async () => {
    const again = await rt.core.getUser(legacy.id, userContext);
    if (!again || again.loginMethods.some((lm) => lm.recipeId === "emailpassword")) return { status: "LINKED" };
    if (!again.isPrimaryUser) {
      const primary = await AccountLinking.createPrimaryUser(again.loginMethods[0].recipeUserId, userContext);
      if (primary.status !== "OK")
        return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(again)) };
    }
    const plan = importPlan(legacy.passwordHash!, verdict, rt.config);
    const address = pendingEmail();
    let placeholder: string;
    if (plan.ok && plan.credential.kind === "hash") {
      placeholder = await rt.core.importHash(
        tenantId,
        address,
        plan.credential.passwordHash,
        plan.credential.algorithm,
        userContext,
      );
    } else {
      const created = await rt.rawImplementation().createNewRecipeUser({
        email: address,
        password,
        tenantId,
        userContext: userContext as Parameters<RawCreate>[0]["userContext"],
      });
      if (created.status !== "OK") {
        throw new UnavailableError(
          "ERR_MIGRATE_CORE_UNAVAILABLE",
          `legacyAuth: creating the user failed (${created.status})`,
        );
      }
      placeholder = created.recipeUserId.getAsString();
    }
    const linked = await AccountLinking.linkAccounts(
      supertokens.convertToRecipeUserId(placeholder),
      again.id,
      userContext,
    );
    if (linked.status !== "OK") {
      await discard(rt, placeholder, userContext);
      return { status: "NOT_ALLOWED", reason: REASONS.otherMethod(describeMethods(again)) };
    }
    const status = await rt.core.updateUser(placeholder, { email }, userContext);
    if (status !== "OK") {
      throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `legacyAuth: attaching the email failed (${status})`);
    }
    authLog("password of legacy user %s: linked as a login method of the same user", legacy.id);
    return { status: "LINKED" };
  });
}

type RawCreate = ReturnType<LegacyAuthRuntime["rawImplementation"]>["createNewRecipeUser"];

/**
 * Whether `email` is that of a legacy user who moved by a provider or magic link and still has a legacy password:
 * that password is still theirs to sign in with (passwordOfMovedUser), so an email-password sign-up of the address
 * by anyone else is refused, as for a legacy-only user.
 */
export async function legacyPasswordStillPending(
  rt: LegacyAuthRuntime,
  input: { tenantId: string; email: string; userContext?: UserContext },
): Promise<boolean> {
  const email = normaliseEmail(input.email);
  const found = await rt.legacy.byEmail(email, input.tenantId);
  if (found.kind !== "one" || found.user.passwordHash === null) return false;
  if ((await rt.core.superTokensIdOf(found.user.id, input.userContext)) === undefined) return false;
  const owner = await rt.core.getUser(found.user.id, input.userContext);
  return (
    owner !== undefined &&
    !owner.loginMethods.some((lm) => lm.recipeId === "emailpassword") &&
    owner.loginMethods.some((lm) => lm.hasSameEmailAs(email))
  );
}
