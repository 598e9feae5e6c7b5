import { isPendingEmail, PENDING_EMAIL_DOMAIN } from "../pending-email.js";
import { randomUUID } from "node:crypto";
import supertokens, { type User } from "supertokens-node";
import { isMigrateError, UnavailableError } from "../errors.js";
import { sdkQuerier } from "../sdk-internals.js";
import type { ImportAlgorithm } from "../hashes/index.js";
import { authLog } from "./log.js";

/**
 * Every SuperTokens core call legacyAuth makes, in one place. The SDK has no function for
 * `/recipe/user/passwordhash/import`, user metadata without the UserMetadata recipe, or a bare email/password
 * update without its policy and account-linking checks: these go through the SDK's own querier (see
 * sdk-internals.ts), which knows the connection URI, the API key, app path prefixes and the CDI version. Calls run
 * with a fresh user context each: the SDK caches GET answers per user context, and a re-check made after waiting for
 * another request's writes must not be answered from that cache (T16).
 */

import type { UserContext } from "../user-context.js";

export { isPendingEmail, PENDING_EMAIL_DOMAIN };

/** Recorded on the mapping, so an operator can tell users moved by legacyAuth from hand-made mappings. */
export const MAPPING_INFO = "supertokens-migrate:legacyAuth";

export const pendingEmail = (): string => `${randomUUID()}@${PENDING_EMAIL_DOMAIN}`;

/** SuperTokens' own normalisation (core and SDK): trim, then lower case. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** The email of a recipe user's email-password login method. */
export function emailOf(user: User): string | undefined {
  return user.loginMethods.find((lm) => lm.recipeId === "emailpassword")?.email ?? user.emails[0];
}

/** A user context for one core call: the request (for the SDK's origin logic), no cache. */
function context(userContext: UserContext | undefined): UserContext {
  const request = (userContext?._default as { request?: unknown } | undefined)?.request;
  return { _default: request === undefined ? {} : { request } };
}

/**
 * Drop the SDK's per-request cache of core answers. After legacyAuth writes, the rest of the request (the SDK's
 * own sign-in) must see the user it just created, not a cached "no such user".
 */
export function forgetCachedCoreAnswers(userContext: UserContext | undefined): void {
  if (userContext && typeof userContext._default === "object" && userContext._default !== null) {
    userContext._default = { ...(userContext._default as object), coreCallCache: {} };
  }
}

async function call<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isMigrateError(err)) throw err;
    // The cause keeps the SDK's message (path and status) for operators; ours names only the step.
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      `legacyAuth: the SuperTokens core call failed (${what})`,
      { cause: err },
    );
  }
}

/**
 * What the SDK's querier throws when the core cannot be reached (after trying every host; a refused, reset or failed
 * connection) or answers 500/502/503/504. Anything else (a 4xx, a wrong API key, 501 for a feature the core lacks, a
 * bug) is not an outage and keeps its own error.
 */
export function isCoreUnavailableError(err: unknown): boolean {
  const message = (err as { message?: unknown } | null)?.message;
  if (typeof message !== "string") return false;
  return (
    message === "No SuperTokens core available to query" ||
    /^SuperTokens core threw an error for a \w+ request to path: '[^']*' with status code: 50[0234] and message: /.test(
      message,
    )
  );
}

/**
 * Runs one of the SDK's own APIs or functions (which call the core themselves) so that an unreachable core answers
 * 503 with Retry-After like every other outage of legacyAuth, instead of the SDK's plain error (a 500).
 */
export async function coreOrUnavailable<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (isMigrateError(err) || !isCoreUnavailableError(err)) throw err;
    authLog("%s: the SuperTokens core cannot be reached; answering 503", what);
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      `legacyAuth: the SuperTokens core cannot be reached (${what})`,
      { cause: err },
    );
  }
}

export class CoreClient {
  /** The email-password user with this email in this tenant, if any. */
  async emailPasswordUser(tenantId: string, email: string, userContext?: UserContext): Promise<User | undefined> {
    const users = await call("list users by email", () =>
      supertokens.listUsersByAccountInfo(tenantId, { email }, false, context(userContext)),
    );
    return users.find((u) => u.loginMethods.some((lm) => lm.recipeId === "emailpassword" && lm.hasSameEmailAs(email)));
  }

  async getUser(id: string, userContext?: UserContext): Promise<User | undefined> {
    return call("get user", () => supertokens.getUser(id, context(userContext)));
  }

  /** The SuperTokens id a legacy (external) id is mapped to. */
  async superTokensIdOf(externalId: string, userContext?: UserContext): Promise<string | undefined> {
    const res = await call("get mapping", () =>
      supertokens.getUserIdMapping({ userId: externalId, userIdType: "EXTERNAL", userContext: context(userContext) }),
    );
    return res.status === "OK" ? res.superTokensUserId : undefined;
  }

  async hasMapping(superTokensId: string, userContext?: UserContext): Promise<boolean> {
    const res = await call("get mapping", () =>
      supertokens.getUserIdMapping({
        userId: superTokensId,
        userIdType: "SUPERTOKENS",
        userContext: context(userContext),
      }),
    );
    return res.status === "OK";
  }

  async createMapping(superTokensUserId: string, externalUserId: string, userContext?: UserContext) {
    return call("create mapping", () =>
      supertokens.createUserIdMapping({
        superTokensUserId,
        externalUserId,
        externalUserIdInfo: MAPPING_INFO,
        userContext: context(userContext),
      }),
    );
  }

  /**
   * The core's import is an upsert: on an existing email it silently replaces the hash (T16). It is only ever
   * called with a fresh {@link pendingEmail}, so it can only insert.
   */
  async importHash(
    tenantId: string,
    email: string,
    passwordHash: string,
    algorithm: ImportAlgorithm,
    userContext?: UserContext,
  ): Promise<string> {
    type ImportAnswer = { status?: unknown; didUserAlreadyExist?: unknown; user?: { id?: unknown } } | undefined;
    const res = await call("import password hash", () =>
      sdkQuerier("emailpassword").sendPostRequest<ImportAnswer>(
        { path: "/<tenantId>/recipe/user/passwordhash/import", params: { tenantId } },
        { email, passwordHash, hashingAlgorithm: algorithm },
        context(userContext),
      ),
    );
    if (res?.status !== "OK" || res.didUserAlreadyExist !== false || typeof res.user?.id !== "string") {
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `legacyAuth: unexpected answer to the hash import (${String(res?.status)})`,
      );
    }
    return res.user.id;
  }

  /**
   * PUT /recipe/user of an email-password user: no password policy, no account-linking checks (the user is ours and
   * mid-move). The `rid` header says which recipe's update it is: Passwordless answers on the same path.
   */
  async updateUser(
    recipeUserId: string,
    patch: { email?: string; password?: string },
    userContext?: UserContext,
  ): Promise<string> {
    const res = await call("update user", () =>
      sdkQuerier("emailpassword").sendPutRequest<{ status?: unknown } | undefined>(
        "/recipe/user",
        { recipeUserId, ...patch },
        {},
        context(userContext),
      ),
    );
    return String(res?.status);
  }

  /** `force`: the legacy id may hold the app's own metadata or roles; deleting the mapping must not need them gone. */
  async deleteMapping(superTokensId: string, userContext?: UserContext): Promise<void> {
    await call("delete mapping", () =>
      supertokens.deleteUserIdMapping({
        userId: superTokensId,
        userIdType: "SUPERTOKENS",
        force: true,
        userContext: context(userContext),
      }),
    );
  }

  /**
   * Only ever called with a SuperTokens id that has no mapping: deleting a mapped user deletes the data the app keeps
   * under the external id.
   */
  async deleteUser(id: string, userContext?: UserContext): Promise<void> {
    await call("delete user", () => supertokens.deleteUser(id, true, context(userContext)));
  }

  async getMetadata(userId: string, userContext?: UserContext): Promise<Record<string, unknown>> {
    const res = await call("get metadata", () =>
      sdkQuerier().sendGetRequest<{ metadata?: unknown } | undefined>(
        "/recipe/user/metadata",
        { userId },
        context(userContext),
      ),
    );
    return (res?.metadata ?? {}) as Record<string, unknown>;
  }

  async putMetadata(userId: string, metadataUpdate: Record<string, unknown>, userContext?: UserContext): Promise<void> {
    await call("update metadata", () =>
      sdkQuerier().sendPutRequest("/recipe/user/metadata", { userId, metadataUpdate }, {}, context(userContext)),
    );
  }

  async removeMetadata(userId: string, userContext?: UserContext): Promise<void> {
    await call("remove metadata", () =>
      sdkQuerier().sendPostRequest("/recipe/user/metadata/remove", { userId }, context(userContext)),
    );
  }

  /** The user holding this provider identity in this tenant, if any. */
  async thirdPartyUser(
    tenantId: string,
    thirdPartyId: string,
    thirdPartyUserId: string,
    userContext?: UserContext,
  ): Promise<User | undefined> {
    const users = await call("list users by provider identity", () =>
      supertokens.listUsersByAccountInfo(
        tenantId,
        { thirdParty: { id: thirdPartyId, userId: thirdPartyUserId } },
        false,
        context(userContext),
      ),
    );
    return users[0];
  }

  /** The users with a passwordless login method of this email in this tenant. */
  async passwordlessUser(tenantId: string, email: string, userContext?: UserContext): Promise<User | undefined> {
    const users = await call("list users by email", () =>
      supertokens.listUsersByAccountInfo(tenantId, { email }, false, context(userContext)),
    );
    return users.find((u) => u.loginMethods.some((lm) => lm.recipeId === "passwordless" && lm.hasSameEmailAs(email)));
  }

  /**
   * The core's ThirdParty sign-in-up (POST /<tenant>/recipe/signinup): creates the identity's user, or updates its
   * email. Straight to the core, without the SDK's account-linking steps: the user is ours and mid-move.
   */
  async thirdPartySignInUp(
    tenantId: string,
    login: { thirdPartyId: string; thirdPartyUserId: string; email: string; isVerified: boolean },
    userContext?: UserContext,
  ): Promise<{ status: string; createdNewUser?: boolean; recipeUserId?: string }> {
    type Answer = { status?: unknown; createdNewUser?: unknown; recipeUserId?: unknown } | undefined;
    const res = await call("third-party sign-in-up", () =>
      sdkQuerier("thirdparty").sendPostRequest<Answer>(
        { path: "/<tenantId>/recipe/signinup", params: { tenantId } },
        {
          thirdPartyId: login.thirdPartyId,
          thirdPartyUserId: login.thirdPartyUserId,
          email: { id: login.email, isVerified: login.isVerified },
        },
        context(userContext),
      ),
    );
    return {
      status: String(res?.status),
      createdNewUser: typeof res?.createdNewUser === "boolean" ? res.createdNewUser : undefined,
      recipeUserId: typeof res?.recipeUserId === "string" ? res.recipeUserId : undefined,
    };
  }

  /**
   * A passwordless user for `email` (a fresh pending address): a code created and consumed at once, as the core
   * has no other way to make one. The code never leaves this process.
   */
  async createPasswordlessUser(tenantId: string, email: string, userContext?: UserContext): Promise<string> {
    type Code = { status?: unknown; preAuthSessionId?: unknown; linkCode?: unknown } | undefined;
    type Consumed = { status?: unknown; createdNewUser?: unknown; recipeUserId?: unknown } | undefined;
    const querier = () => sdkQuerier("passwordless");
    const code = await call("create passwordless code", () =>
      querier().sendPostRequest<Code>(
        { path: "/<tenantId>/recipe/signinup/code", params: { tenantId } },
        { email },
        context(userContext),
      ),
    );
    if (code?.status !== "OK" || typeof code.preAuthSessionId !== "string" || typeof code.linkCode !== "string") {
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `legacyAuth: unexpected answer to creating a passwordless code (${String(code?.status)})`,
      );
    }
    const consumed = await call("consume passwordless code", () =>
      querier().sendPostRequest<Consumed>(
        { path: "/<tenantId>/recipe/signinup/code/consume", params: { tenantId } },
        { preAuthSessionId: code.preAuthSessionId, linkCode: code.linkCode },
        context(userContext),
      ),
    );
    if (consumed?.status !== "OK" || consumed.createdNewUser !== true || typeof consumed.recipeUserId !== "string") {
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `legacyAuth: unexpected answer to consuming a passwordless code (${String(consumed?.status)})`,
      );
    }
    return consumed.recipeUserId;
  }

  /** PUT /recipe/user for a passwordless user (the `rid` header tells the core which recipe's update it is). */
  async updatePasswordlessUser(recipeUserId: string, email: string, userContext?: UserContext): Promise<string> {
    const res = await call("update passwordless user", () =>
      sdkQuerier("passwordless").sendPutRequest<{ status?: unknown } | undefined>(
        "/recipe/user",
        { recipeUserId, email },
        {},
        context(userContext),
      ),
    );
    return String(res?.status);
  }

  /** Marks `email` verified for the recipe user `userId` (the legacy id once mapped), through the core's token. */
  async verifyEmail(tenantId: string, userId: string, email: string, userContext?: UserContext): Promise<void> {
    const querier = () => sdkQuerier("emailverification");
    const token = await call("create email verification token", () =>
      querier().sendPostRequest<{ status?: unknown; token?: unknown } | undefined>(
        { path: "/<tenantId>/recipe/user/email/verify/token", params: { tenantId } },
        { userId, email },
        context(userContext),
      ),
    );
    // EMAIL_ALREADY_VERIFIED_ERROR: nothing to do.
    if (token?.status !== "OK" || typeof token.token !== "string") return;
    await call("verify email", () =>
      querier().sendPostRequest(
        { path: "/<tenantId>/recipe/user/email/verify", params: { tenantId } },
        { method: "token", token: token.token },
        context(userContext),
      ),
    );
  }

  async countUsers(userContext?: UserContext): Promise<number> {
    return call("count users", () => supertokens.getUserCount(undefined, undefined, context(userContext)));
  }

  /** A page of 500 users of `tenantId` who have a login method of `recipeIds` (default: email-password). */
  async listUsers(
    tenantId: string,
    page: { paginationToken?: string; email?: string; recipeIds?: string[] },
    userContext?: UserContext,
  ) {
    return call("list users", () =>
      supertokens.getUsersOldestFirst({
        tenantId,
        limit: 500,
        paginationToken: page.paginationToken,
        includeRecipeIds: page.recipeIds ?? ["emailpassword"],
        ...(page.email === undefined ? {} : { query: { email: page.email } }),
        userContext: context(userContext),
      }),
    );
  }
}
