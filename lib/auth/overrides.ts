import supertokens from "supertokens-node";
import EmailPassword, { type APIInterface, type RecipeInterface } from "supertokens-node/recipe/emailpassword";
import { coreOrUnavailable, forgetCachedCoreAnswers, normaliseEmail } from "./core-via-sdk.js";
import { emailClaim, isLegacyOnly } from "./email-guard.js";
import { lockKey } from "./lock.js";
import { authLog, maskEmail } from "./log.js";
import { consumeResetToken, generateResetToken, isLegacyResetToken } from "./password-reset.js";
import type { LegacyAuthRuntime } from "./runtime.js";
import { carryVerifiedEmail, legacyPasswordStillPending, passwordOfMovedUser } from "./other-logins.js";
import { decideSignIn, type SignInDecision, type SignInInput } from "./sign-in.js";
import type { UserContext } from "../user-context.js";

/**
 * One fallback decision per request and credentials. `signInPOST` and the `verifyCredentials` it reaches through
 * `signIn` share it, so a request never runs the legacy path (and its hash check) twice (issue 5, behaviour 8),
 * and a user moved by `signInPOST` is not checked again by the core in the same request.
 */
class DecisionMemo {
  private readonly byContext = new WeakMap<
    object,
    Array<{ key: string; password: string; decision: Promise<SignInDecision> }>
  >();

  get(
    userContext: UserContext,
    tenantId: string,
    email: string,
    password: string,
    decide: () => Promise<SignInDecision>,
  ): Promise<SignInDecision> {
    if (typeof userContext !== "object" || userContext === null) return decide();
    const hit = this.peek(userContext, tenantId, email, password);
    if (hit) return hit;
    let entries = this.byContext.get(userContext);
    if (!entries) this.byContext.set(userContext, (entries = []));
    const decision = decide();
    entries.push({ key: lockKey(tenantId, normaliseEmail(email)), password, decision });
    return decision;
  }

  peek(
    userContext: UserContext,
    tenantId: string,
    email: string,
    password: string,
  ): Promise<SignInDecision> | undefined {
    if (typeof userContext !== "object" || userContext === null) return undefined;
    const key = lockKey(tenantId, normaliseEmail(email));
    return this.byContext.get(userContext)?.find((e) => e.key === key && e.password === password)?.decision;
  }
}

/** The fallback decision; a move also carries over an email the legacy app had verified. */
async function decide(rt: LegacyAuthRuntime, input: SignInInput): Promise<SignInDecision> {
  const decision = await decideSignIn(rt, input);
  if (decision.kind === "moved") {
    await carryVerifiedEmail(rt, {
      tenantId: input.tenantId,
      legacyId: decision.userId,
      email: input.email,
      userContext: input.userContext,
    });
  }
  return decision;
}

/**
 * The legacy store rejected the email as invalid input (issue 11, item 7): answered as the SDK answers an invalid
 * email, with its own field error (the API sends `{ status: "FIELD_ERROR", formFields }`), never a 503.
 */
function invalidEmail(): never {
  throw new EmailPassword.Error({
    type: "FIELD_ERROR",
    payload: [{ id: "email", error: "Email is invalid" }],
    message: "Error in input formFields",
  });
}

/**
 * The SDK hands each override layer a proxy whose functions only work when called as its methods. The app's
 * override receives our layer as its "original" and spreads it, so every function we pass on must be callable
 * detached: wrap each one in a closure over the proxy (and leave out the proxy's internal `_call`).
 */
function delegating<T extends object>(original: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(original)) {
    if (key === "_call") continue;
    const value = (original as Record<string, unknown>)[key];
    out[key] =
      typeof value === "function"
        ? (...args: unknown[]) => (original as Record<string, (...a: unknown[]) => unknown>)[key](...args)
        : value;
  }
  return out as T;
}

export function legacyFunctions(rt: LegacyAuthRuntime, memo: DecisionMemo, original: RecipeInterface): RecipeInterface {
  rt.setRawImplementation(original);
  return {
    ...delegating(original),

    /**
     * Everything that signs in with a password (the signin API through `signIn`, programmatic `EmailPassword.signIn`
     * and `verifyCredentials`) ends here. SuperTokens answers first; only its "wrong credentials" reaches the
     * legacy table, and then only if SuperTokens has no email-password user with this email (behaviour 1).
     */
    async verifyCredentials(input) {
      if (!rt.covers(input.tenantId)) return original.verifyCredentials(input);
      const earlier = memo.peek(input.userContext, input.tenantId, input.email, input.password);
      const earlierDecision = earlier && (await earlier);
      if (earlierDecision?.kind === "moved") {
        return {
          status: "OK",
          user: earlierDecision.user,
          recipeUserId: supertokens.convertToRecipeUserId(earlierDecision.userId),
        };
      }
      const answer = await original.verifyCredentials(input);
      if (answer.status === "OK") return answer;
      const decision = await memo.get(input.userContext, input.tenantId, input.email, input.password, () =>
        decide(rt, input),
      );
      switch (decision.kind) {
        case "moved":
          return {
            status: "OK",
            user: decision.user,
            recipeUserId: supertokens.convertToRecipeUserId(decision.userId),
          };
        case "supertokens":
          return decision.since === "after" ? original.verifyCredentials(input) : answer;
        case "rejected":
          return answer;
      }
    },

    /**
     * Every email-password account creation passes here (sign-up API, `EmailPassword.signUp`, the SDK's own
     * reset-then-create path): an email that exists only in the legacy table is taken (behaviour 3, T13). The
     * refusal is SuperTokens' own EMAIL_ALREADY_EXISTS_ERROR, which the sign-up API turns into its usual field
     * error, after a throwaway hash so it costs what the core's hashing would have.
     */
    async createNewRecipeUser(input) {
      if (!rt.covers(input.tenantId)) return original.createNewRecipeUser(input);
      const verdict = await emailClaim(rt, {
        email: input.email,
        tenantIds: [input.tenantId],
        userContext: input.userContext,
        via: "sign-up",
      });
      if (!verdict.claimable) {
        if (verdict.why === "invalid input") invalidEmail();
        if (verdict.why === "legacy user") await rt.dummy(verdict.hash);
        return { status: "EMAIL_ALREADY_EXISTS_ERROR" };
      }
      if (await legacyPasswordStillPending(rt, input)) {
        authLog("sign-up for %s refused: a moved legacy user's password still signs in", maskEmail(input.email));
        await rt.dummy();
        return { status: "EMAIL_ALREADY_EXISTS_ERROR" };
      }
      return original.createNewRecipeUser(input);
    },

    /**
     * Every email change of an email-password user passes here: `EmailPassword.updateEmailOrPassword`, an app's
     * change-email API, SuperTokens' documented change-email-with-verification flow (its verifyEmailPOST override
     * calls this), the dashboard. A legacy-only user's email is taken, exactly as for sign-up (issue 11).
     */
    async updateEmailOrPassword(input) {
      if (input.email === undefined) return original.updateEmailOrPassword(input);
      const recipeUserId = input.recipeUserId.getAsString();
      const user = await rt.core.getUser(recipeUserId, input.userContext);
      const method = user?.loginMethods.find(
        (lm) => lm.recipeId === "emailpassword" && lm.recipeUserId.getAsString() === recipeUserId,
      );
      // No such email-password user: SuperTokens answers (UNKNOWN_USER_ID_ERROR). Keeping one's own email claims
      // nothing.
      if (!method || (method.email !== undefined && normaliseEmail(method.email) === normaliseEmail(input.email))) {
        return original.updateEmailOrPassword(input);
      }
      const verdict = await emailClaim(rt, {
        email: input.email,
        tenantIds: method.tenantIds,
        userContext: input.userContext,
        via: "email change",
      });
      if (!verdict.claimable)
        return verdict.why === "invalid input" ? invalidEmail() : { status: "EMAIL_ALREADY_EXISTS_ERROR" };
      authLog("email change of %s: the new email is not a legacy user's; SuperTokens decides", recipeUserId);
      return original.updateEmailOrPassword(input);
    },
  };
}

export function legacyApis(rt: LegacyAuthRuntime, memo: DecisionMemo, original: APIInterface): APIInterface {
  // `original` is the SDK's override proxy: its functions must be called as its methods, never detached.
  // Each API runs under coreOrUnavailable: with the core unreachable, the SDK's own calls answer 503 as ours do
  // (issue 11).
  return {
    ...delegating(original),

    signInPOST:
      original.signInPOST &&
      ((input) =>
        coreOrUnavailable("sign-in", async () => {
          const answer = await original.signInPOST!(input);
          if (answer.status !== "WRONG_CREDENTIALS_ERROR" || !rt.covers(input.tenantId)) return answer;
          const email = input.formFields.find((f) => f.id === "email")?.value;
          const password = input.formFields.find((f) => f.id === "password")?.value;
          if (typeof email !== "string" || typeof password !== "string") return answer;
          // SuperTokens said no. When it had no user at all, its API did not even reach verifyCredentials.
          const decision = await memo.get(input.userContext, input.tenantId, email, password, () =>
            decide(rt, { email, password, tenantId: input.tenantId, userContext: input.userContext }),
          );
          if (decision.kind === "moved" || (decision.kind === "supertokens" && decision.since === "after")) {
            // The SDK's own sign-in now finds the user (and, for a move, takes our answer instead of a second hash).
            return original.signInPOST!(input);
          }
          // A legacy user who moved by a provider or magic link: the password links, or the answer says how to sign in.
          const other =
            decision.kind === "rejected"
              ? await passwordOfMovedUser(rt, {
                  email,
                  password,
                  tenantId: input.tenantId,
                  userContext: input.userContext,
                })
              : undefined;
          if (other?.status === "LINKED") {
            forgetCachedCoreAnswers(input.userContext);
            return original.signInPOST!(input);
          }
          if (other?.status === "NOT_ALLOWED") return { status: "SIGN_IN_NOT_ALLOWED", reason: other.reason };
          return answer;
        })),

    signUpPOST: original.signUpPOST && ((input) => coreOrUnavailable("sign-up", () => original.signUpPOST!(input))),

    emailExistsGET:
      original.emailExistsGET &&
      ((input) =>
        coreOrUnavailable("email-exists", async () => {
          const answer = await original.emailExistsGET!(input);
          if (answer.status !== "OK" || answer.exists || !rt.covers(input.tenantId)) return answer;
          const email = normaliseEmail(input.email);
          const { legacyOnly } = await isLegacyOnly(rt, email, input.tenantId, input.userContext);
          if (legacyOnly) authLog("email-exists for %s: true (legacy user)", maskEmail(email));
          return legacyOnly ? { status: "OK", exists: true } : answer;
        })),

    generatePasswordResetTokenPOST:
      original.generatePasswordResetTokenPOST &&
      ((input) =>
        coreOrUnavailable("password reset request", () =>
          generateResetToken(rt, (i) => original.generatePasswordResetTokenPOST!(i), input),
        )),

    passwordResetPOST:
      original.passwordResetPOST &&
      ((input) =>
        coreOrUnavailable("password reset", () =>
          isLegacyResetToken(input.token) ? consumeResetToken(rt, input) : original.passwordResetPOST!(input),
        )),
  };
}

export { DecisionMemo, delegating };
