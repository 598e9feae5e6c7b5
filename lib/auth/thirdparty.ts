import supertokens from "supertokens-node";
import type { APIInterface, RecipeInterface } from "supertokens-node/recipe/thirdparty";
import { coreOrUnavailable, forgetCachedCoreAnswers, isPendingEmail, normaliseEmail } from "./core-via-sdk.js";
import { emailClaim } from "./email-guard.js";
import type { LegacyRecord } from "./legacy-users.js";
import { authLog, maskEmail } from "./log.js";
import { attachLoginEmail, bringInLegacyUser, REASONS, type NewLogin } from "./other-logins.js";
import { delegating } from "./overrides.js";
import { assertRecipesGuarded, GUARD_MARKER } from "./recipe-guard.js";
import type { LegacyAuthRuntime } from "./runtime.js";

type CreateOrUpdateInput = Parameters<RecipeInterface["manuallyCreateOrUpdateUser"]>[0];
type CreateOrUpdateResult = Awaited<ReturnType<RecipeInterface["manuallyCreateOrUpdateUser"]>>;

/**
 * The reason of a refused email change, per request: the SDK's signInUp turns EMAIL_CHANGE_NOT_ALLOWED_ERROR into
 * a fixed text, and ours says what the user can do.
 */
const refusedEmailChange = new WeakMap<object, string>();

/**
 * ThirdParty's `override.functions`. Every provider sign-in (the signinup API, `ThirdParty.signInUp`,
 * `manuallyCreateOrUpdateUser`) ends in manuallyCreateOrUpdateUser, so the decisions are made there:
 *
 * - an identity SuperTokens knows is SuperTokens' own, except that its email may not change to a legacy-only
 *   user's (EMAIL_CHANGE_NOT_ALLOWED_ERROR);
 * - a new identity the legacy table knows (`findUserByThirdParty`), or whose email the provider verified and the
 *   legacy table holds, lands on that legacy user's id (other-logins.ts);
 * - any other new identity may not take a legacy-only user's email (SIGN_IN_UP_NOT_ALLOWED): an unverified
 *   provider email proves nothing, so it neither links to nor takes over a legacy account.
 */
export function legacyThirdPartyFunctions(rt: LegacyAuthRuntime, original: RecipeInterface): RecipeInterface {
  return {
    ...delegating(original),
    [GUARD_MARKER]: true,

    async manuallyCreateOrUpdateUser(input) {
      assertRecipesGuarded();
      if (!rt.covers(input.tenantId)) return original.manuallyCreateOrUpdateUser(input);
      // One decision per provider identity at a time in this process: a second request must not take the first's
      // placeholder (made, not yet mapped) for an abandoned one.
      const identity = `thirdparty\n${input.tenantId}\n${input.thirdPartyId}\n${input.thirdPartyUserId}`;
      const answer = await rt.lock.run(identity, () => decide(rt, input));
      if (answer === "SUPERTOKENS") return original.manuallyCreateOrUpdateUser(input);
      if (answer.status === "EMAIL_CHANGE_NOT_ALLOWED_ERROR" && isObject(input.userContext)) {
        refusedEmailChange.set(input.userContext, answer.reason);
      }
      return answer;
    },

    // The signinup API reads the tenant's providers from the core before anything else: an outage there is a 503.
    getProvider: (input) => coreOrUnavailable("provider lookup", () => original.getProvider(input)),

    async signInUp(input) {
      const answer = await original.signInUp(input);
      const reason = isObject(input.userContext) ? refusedEmailChange.get(input.userContext) : undefined;
      return answer.status === "SIGN_IN_UP_NOT_ALLOWED" && reason !== undefined
        ? { status: "SIGN_IN_UP_NOT_ALLOWED", reason }
        : answer;
    },
  } as RecipeInterface;
}

const isObject = (value: unknown): value is object => typeof value === "object" && value !== null;

async function decide(
  rt: LegacyAuthRuntime,
  input: CreateOrUpdateInput,
): Promise<"SUPERTOKENS" | CreateOrUpdateResult> {
  const { tenantId, thirdPartyId, thirdPartyUserId, userContext } = input;
  const email = normaliseEmail(input.email);
  const login: NewLogin = {
    recipeId: "thirdparty",
    thirdPartyId,
    thirdPartyUserId,
    email: input.email,
    verified: input.isVerified,
  };

  const existing = await rt.core.thirdPartyUser(tenantId, thirdPartyId, thirdPartyUserId, userContext);
  if (existing) {
    const method = existing.loginMethods.find(
      (lm) =>
        lm.recipeId === "thirdparty" && lm.thirdParty?.id === thirdPartyId && lm.thirdParty.userId === thirdPartyUserId,
    );
    if (method && isPendingEmail(method.email)) {
      // An interrupted first sign-in of a legacy user (placeholder made, mapped or linked, email not yet attached):
      // finish it. One that never got its mapping or link is a stranger's for nobody; the steps start again.
      const mapped =
        existing.loginMethods.length > 1 ||
        (await rt.core.superTokensIdOf(method.recipeUserId.getAsString(), userContext)) !== undefined;
      if (mapped) {
        authLog("%s sign-in: finishing an interrupted move of %s", thirdPartyId, existing.id);
        // A mapped placeholder of its own (not one linked to a moved user) is a first sign-in: its roles first.
        const moving = existing.loginMethods.length === 1 ? await rt.legacy.byId(existing.id) : undefined;
        if (moving) await rt.grantRoles(tenantId, moving, userContext);
        await attachLoginEmail(rt, tenantId, login, method.recipeUserId.getAsString(), userContext);
        forgetCachedCoreAnswers(userContext);
      } else {
        authLog(
          "%s sign-in: an unmapped placeholder holds this identity; removing it and starting again",
          thirdPartyId,
        );
        await rt.core.deleteUser(method.recipeUserId.getAsString(), userContext);
        forgetCachedCoreAnswers(userContext);
        return decide(rt, input);
      }
      return "SUPERTOKENS";
    }
    if (method?.email !== undefined && normaliseEmail(method.email) !== email) {
      const verdict = await emailClaim(rt, {
        email,
        tenantIds: method.tenantIds,
        userContext,
        via: "provider email change",
      });
      if (!verdict.claimable) {
        return { status: "EMAIL_CHANGE_NOT_ALLOWED_ERROR", reason: REASONS.unverifiedLegacyEmail };
      }
    }
    return "SUPERTOKENS";
  }

  // A new identity. Whose is it?
  let legacy: LegacyRecord | undefined = await rt.legacy.byThirdParty(thirdPartyId, thirdPartyUserId, tenantId);
  if (legacy) {
    authLog("%s sign-in: the identity is legacy user %s's", thirdPartyId, legacy.id);
  } else if (input.isVerified) {
    const found = await rt.legacy.byEmail(email, tenantId);
    if (found.kind === "one") {
      legacy = found.user;
      authLog("%s sign-in: verified email %s is legacy user %s's", thirdPartyId, maskEmail(email), legacy.id);
    }
  }
  if (legacy) {
    // The identity is the legacy user's, but the provider's email may be someone else's legacy address.
    if (normaliseEmail(legacy.email) !== email) {
      const verdict = await emailClaim(rt, { email, tenantIds: [tenantId], userContext, via: "provider sign-in" });
      if (!verdict.claimable) return { status: "SIGN_IN_UP_NOT_ALLOWED", reason: REASONS.unverifiedLegacyEmail };
    }
    // Carried over: the app had verified this very address.
    const verified = input.isVerified || (legacy.emailVerified && normaliseEmail(legacy.email) === email);
    const outcome = await bringInLegacyUser(rt, {
      tenantId,
      legacy,
      login: { ...login, verified },
      userContext,
    });
    forgetCachedCoreAnswers(userContext);
    switch (outcome.status) {
      case "MOVED":
      case "LINKED":
        return {
          status: "OK",
          createdNewRecipeUser: true,
          user: outcome.user,
          recipeUserId: supertokens.convertToRecipeUserId(outcome.recipeUserId),
        };
      case "IN_SUPERTOKENS":
        return "SUPERTOKENS";
      case "NOT_ALLOWED":
        return { status: "SIGN_IN_UP_NOT_ALLOWED", reason: outcome.reason };
    }
  }

  // Nobody's in the legacy table: a plain sign-up, which may not take a legacy-only user's email.
  const verdict = await emailClaim(rt, { email, tenantIds: [tenantId], userContext, via: "provider sign-up" });
  if (!verdict.claimable) {
    return {
      status: "SIGN_IN_UP_NOT_ALLOWED",
      reason: verdict.why === "legacy user" ? REASONS.unverifiedLegacyEmail : REASONS.unusableLegacyEmail,
    };
  }
  return "SUPERTOKENS";
}

/** ThirdParty's `override.apis`: the SDK's own, with an unreachable core answered as 503 with Retry-After. */
export function legacyThirdPartyApis(original: APIInterface): APIInterface {
  return {
    ...delegating(original),
    signInUpPOST:
      original.signInUpPOST && ((input) => coreOrUnavailable("provider sign-in", () => original.signInUpPOST!(input))),
    authorisationUrlGET:
      original.authorisationUrlGET &&
      ((input) => coreOrUnavailable("provider authorisation URL", () => original.authorisationUrlGET!(input))),
  };
}
