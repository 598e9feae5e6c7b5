import supertokens from "supertokens-node";
import type { APIInterface, RecipeInterface } from "supertokens-node/recipe/passwordless";
import type { UserContext } from "../user-context.js";
import { coreOrUnavailable, forgetCachedCoreAnswers, isPendingEmail, normaliseEmail } from "./core-via-sdk.js";
import { emailClaim } from "./email-guard.js";
import type { LegacyRecord } from "./legacy-users.js";
import { authLog, maskEmail } from "./log.js";
import { accountLinkingAllows, bringInLegacyUser, describeMethods, REASONS, type NewLogin } from "./other-logins.js";
import { delegating } from "./overrides.js";
import { assertRecipesGuarded, GUARD_MARKER } from "./recipe-guard.js";
import type { LegacyAuthRuntime } from "./runtime.js";

/**
 * What a magic link or code sent to `email` may lead to:
 * - supertokens: SuperTokens alone decides (a passwordless user has the email, or no legacy user does);
 * - legacy: the code proves the email of this legacy user, whose first passwordless sign-in lands on their id;
 * - refuse: the email is a legacy user's who cannot get this login method (several rows share it, or they already
 *   live in SuperTokens by another method and account linking is off: a second user would fork their id).
 */
type Verdict = { kind: "supertokens" } | { kind: "legacy"; legacy: LegacyRecord } | { kind: "refuse"; reason: string };

async function verdictFor(
  rt: LegacyAuthRuntime,
  tenantId: string,
  rawEmail: string,
  userContext: UserContext,
): Promise<Verdict> {
  const email = normaliseEmail(rawEmail);
  if (isPendingEmail(email)) return { kind: "refuse", reason: REASONS.unusableLegacyEmail };
  if (await rt.core.passwordlessUser(tenantId, email, userContext)) return { kind: "supertokens" };
  const found = await rt.legacy.byEmail(email, tenantId);
  if (found.kind === "none") return { kind: "supertokens" };
  if (found.kind !== "one") {
    authLog("passwordless for %s refused: %s", maskEmail(email), found.reason);
    return { kind: "refuse", reason: REASONS.unusableLegacyEmail };
  }
  const legacy = found.user;
  if ((await rt.core.superTokensIdOf(legacy.id, userContext)) === undefined) return { kind: "legacy", legacy };
  const owner = await rt.core.getUser(legacy.id, userContext);
  if (!owner) return { kind: "refuse", reason: REASONS.unusableLegacyEmail };
  // Mid-move (a placeholder only): bringInLegacyUser finishes that move first.
  if (owner.loginMethods.every((lm) => isPendingEmail(lm.email))) return { kind: "legacy", legacy };
  // The legacy row is stale (the user moved and changed email in SuperTokens): the address is nobody's legacy now.
  if (!owner.loginMethods.some((lm) => lm.hasSameEmailAs(email))) return { kind: "supertokens" };
  const login: NewLogin = { recipeId: "passwordless", email, verified: true };
  if (await accountLinkingAllows(login, owner, tenantId, userContext)) return { kind: "legacy", legacy };
  authLog("passwordless for %s refused: legacy user %s signs in another way", maskEmail(email), legacy.id);
  return { kind: "refuse", reason: REASONS.otherMethod(describeMethods(owner)) };
}

type ConsumeInput = Parameters<RecipeInterface["consumeCode"]>[0];

function checkInput(input: ConsumeInput): Parameters<RecipeInterface["checkCode"]>[0] {
  const { preAuthSessionId, tenantId, userContext } = input;
  return "linkCode" in input
    ? { linkCode: input.linkCode, preAuthSessionId, tenantId, userContext }
    : { userInputCode: input.userInputCode, deviceId: input.deviceId, preAuthSessionId, tenantId, userContext };
}

/** The email a code was sent to (undefined for phone numbers, and for unknown devices). */
async function deviceEmail(
  original: Pick<RecipeInterface, "listCodesByPreAuthSessionId">,
  input: Pick<ConsumeInput, "tenantId" | "preAuthSessionId" | "userContext">,
): Promise<string | undefined> {
  const device = await original.listCodesByPreAuthSessionId({
    tenantId: input.tenantId,
    preAuthSessionId: input.preAuthSessionId,
    userContext: input.userContext,
  });
  return device?.email;
}

/**
 * Passwordless' `override.functions`. A magic link or code proves its email, so a legacy-only user's first
 * passwordless sign-in lands on their legacy id (the code is checked first, then other-logins.ts makes the user).
 * Phone numbers are not in the legacy table and pass untouched. An email change onto a legacy-only user's email
 * answers EMAIL_ALREADY_EXISTS_ERROR, as sign-up does (issue 11).
 */
export function legacyPasswordlessFunctions(rt: LegacyAuthRuntime, original: RecipeInterface): RecipeInterface {
  return {
    ...delegating(original),
    [GUARD_MARKER]: true,

    async consumeCode(input) {
      assertRecipesGuarded();
      if (!rt.covers(input.tenantId)) return original.consumeCode(input);
      const email = await deviceEmail(original, input);
      if (email === undefined) return original.consumeCode(input);
      const verdict = await verdictFor(rt, input.tenantId, email, input.userContext);
      if (verdict.kind === "supertokens") return original.consumeCode(input);
      if (verdict.kind === "refuse") {
        // The API answers SIGN_IN_UP_NOT_ALLOWED with the reason before it gets here; a direct caller restarts.
        return { status: "RESTART_FLOW_ERROR" };
      }
      const checked = await original.checkCode(checkInput(input));
      if (checked.status !== "OK") return checked;
      const outcome = await bringInLegacyUser(rt, {
        tenantId: input.tenantId,
        legacy: verdict.legacy,
        login: { recipeId: "passwordless", email, verified: true },
        userContext: input.userContext,
      });
      forgetCachedCoreAnswers(input.userContext);
      if (outcome.status === "MOVED" || outcome.status === "LINKED") {
        return {
          status: "OK",
          consumedDevice: checked.consumedDevice,
          createdNewRecipeUser: true,
          user: outcome.user,
          recipeUserId: supertokens.convertToRecipeUserId(outcome.recipeUserId),
        };
      }
      if (outcome.status === "IN_SUPERTOKENS") {
        // Another request made this email's passwordless user meanwhile; the checked code proves it is theirs.
        const user = await rt.core.passwordlessUser(input.tenantId, normaliseEmail(email), input.userContext);
        const method = user?.loginMethods.find((lm) => lm.recipeId === "passwordless" && lm.hasSameEmailAs(email));
        if (user && method) {
          return {
            status: "OK",
            consumedDevice: checked.consumedDevice,
            createdNewRecipeUser: false,
            user,
            recipeUserId: method.recipeUserId,
          };
        }
      }
      return { status: "RESTART_FLOW_ERROR" };
    },

    async updateUser(input) {
      assertRecipesGuarded();
      if (typeof input.email !== "string") return original.updateUser(input);
      const recipeUserId = input.recipeUserId.getAsString();
      const user = await rt.core.getUser(recipeUserId, input.userContext);
      const method = user?.loginMethods.find(
        (lm) => lm.recipeId === "passwordless" && lm.recipeUserId.getAsString() === recipeUserId,
      );
      if (!method || (method.email !== undefined && normaliseEmail(method.email) === normaliseEmail(input.email))) {
        return original.updateUser(input);
      }
      const verdict = await emailClaim(rt, {
        email: input.email,
        tenantIds: method.tenantIds,
        userContext: input.userContext,
        via: "passwordless email change",
      });
      return verdict.claimable ? original.updateUser(input) : { status: "EMAIL_ALREADY_EXISTS_ERROR" };
    },
  } as RecipeInterface;
}

/**
 * Passwordless' `override.apis`: a code is not even sent to an email that cannot sign in this way (the reason is
 * the SDK's SIGN_IN_UP_NOT_ALLOWED, shown by its prebuilt UI), and an unreachable core answers 503.
 */
export function legacyPasswordlessApis(rt: LegacyAuthRuntime, original: APIInterface): APIInterface {
  return {
    ...delegating(original),
    createCodePOST:
      original.createCodePOST &&
      ((input) =>
        coreOrUnavailable("passwordless code", async () => {
          assertRecipesGuarded();
          if ("email" in input && rt.covers(input.tenantId)) {
            const verdict = await verdictFor(rt, input.tenantId, input.email, input.userContext);
            if (verdict.kind === "refuse") return { status: "SIGN_IN_UP_NOT_ALLOWED", reason: verdict.reason };
          }
          return original.createCodePOST!(input);
        })),
    consumeCodePOST:
      original.consumeCodePOST &&
      ((input) =>
        coreOrUnavailable("passwordless sign-in", async () => {
          if (rt.covers(input.tenantId)) {
            const email = await deviceEmail(input.options.recipeImplementation, input);
            const verdict = email && (await verdictFor(rt, input.tenantId, email, input.userContext));
            if (verdict && verdict.kind === "refuse") {
              return { status: "SIGN_IN_UP_NOT_ALLOWED", reason: verdict.reason };
            }
          }
          return original.consumeCodePOST!(input);
        })),
    resendCodePOST:
      original.resendCodePOST &&
      ((input) => coreOrUnavailable("passwordless code", () => original.resendCodePOST!(input))),
    emailExistsGET:
      original.emailExistsGET &&
      ((input) => coreOrUnavailable("passwordless email-exists", () => original.emailExistsGET!(input))),
  };
}
