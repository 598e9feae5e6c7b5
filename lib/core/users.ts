import type { AppContext } from "./context.js";
import { badRequest, type CoreHttpError } from "./http.js";
import type { AppStorage, UserRecord } from "./storage/types.js";

/** Map any id (SuperTokens or external) to the SuperTokens id; unknown ids come back unchanged. */
export async function toSuperTokensId(app: AppContext, id: string): Promise<string> {
  const m = await app.storage.getMapping(id, "EXTERNAL");
  return m ? m.superTokensUserId : id;
}

/** The id the core reports for a SuperTokens id: the external one when mapped. */
export async function toReportedId(app: AppContext, superTokensId: string): Promise<string> {
  const m = await app.storage.getMapping(superTokensId, "SUPERTOKENS");
  return m ? m.externalUserId : superTokensId;
}

/** Find a user by either kind of id. */
export async function findUser(app: AppContext, id: string): Promise<UserRecord | undefined> {
  return (await app.storage.getUser(id)) ?? (await app.storage.getUser(await toSuperTokensId(app, id)));
}

/**
 * The user JSON of CDI 5.3+ (AuthRecipeUserInfo.toJson). Without account linking every user is a recipe
 * user with one login method. `verified` is read under the reported id, where email verification lives.
 */
export async function userJson(app: AppContext, user: UserRecord): Promise<Record<string, unknown>> {
  const id = await toReportedId(app, user.id);
  return userJsonOf(user, id, await app.storage.isEmailVerified(id, user.email));
}

function userJsonOf(user: UserRecord, id: string, verified: boolean): Record<string, unknown> {
  return {
    id,
    isPrimaryUser: false,
    tenantIds: user.tenantIds,
    timeJoined: user.timeJoined,
    emails: [user.email],
    phoneNumbers: [],
    thirdParty: [],
    webauthn: { credentialIds: [] },
    loginMethods: [
      {
        tenantIds: user.tenantIds,
        recipeUserId: id,
        verified,
        timeJoined: user.timeJoined,
        recipeId: user.recipeId,
        email: user.email,
      },
    ],
  };
}

export type UserIdType = "SUPERTOKENS" | "EXTERNAL" | "ANY";

/**
 * The mapping an id names (UserIdMapping.getUserIdMapping). ANY prefers the row whose SuperTokens id is the
 * given id, for the rare database where an id is both one user's external id and another's SuperTokens id.
 */
export async function findMapping(app: AppContext, id: string, type: UserIdType) {
  if (type !== "ANY") return app.storage.getMapping(id, type);
  return (await app.storage.getMapping(id, "SUPERTOKENS")) ?? (await app.storage.getMapping(id, "EXTERNAL"));
}

/**
 * Non-auth recipes that hold data under `id`, in the order the core checks them
 * (UserIdMapping.findNonAuthStoragesWhereUserIdIsUsedOrAssertIfUsed). Only a live session counts.
 */
export async function nonAuthUsage(app: AppContext, id: string, now: number): Promise<string[]> {
  const used: string[] = [];
  if ((await app.storage.findSessionHandles([id], now)).length > 0) used.push("Session");
  if ((await app.storage.getMetadata(id)) !== undefined) used.push("UserMetadata");
  if (await app.storage.hasEmailVerificationData(id)) used.push("EmailVerification");
  return used;
}

/**
 * MetadataUtils.shallowMergeMetadataUpdate, stored: top-level keys replace, JSON null removes. The row stays even
 * when it ends up empty, and still counts as "in use" for user id mapping. Returns the stored metadata.
 */
export async function updateMetadata(
  storage: AppStorage,
  userId: string,
  update: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const metadata = (await storage.getMetadata(userId)) ?? {};
  for (const [key, value] of Object.entries(update)) {
    if (value === null) delete metadata[key];
    else metadata[key] = value;
  }
  await storage.setMetadata(userId, metadata);
  return metadata;
}

export const inUse = (recipe: string): CoreHttpError => badRequest(`UserId is already in use in ${recipe} recipe`);

/**
 * Whether the core's id lookup (StorageLayer.findStorageAndUserIdMappingForUser) knows the id at all;
 * APIs answer their "unknown" status when it does not.
 */
export async function isKnownId(app: AppContext, id: string, type: UserIdType, now: number): Promise<boolean> {
  if (type === "SUPERTOKENS") return (await app.storage.getUser(id)) !== undefined;
  if (type === "EXTERNAL") return (await app.storage.getMapping(id, "EXTERNAL")) !== undefined;
  return (
    (await app.storage.getUser(id)) !== undefined ||
    (await findMapping(app, id, "ANY")) !== undefined ||
    (await nonAuthUsage(app, id, now)).length > 0
  );
}

/**
 * userJson for a list: one mapping lookup and one verification lookup for all of them, so that a page of 500 costs
 * the storage three queries (with the listing), not a thousand.
 */
export async function usersJson(app: AppContext, users: UserRecord[]): Promise<Record<string, unknown>[]> {
  if (users.length === 0) return [];
  const mappings = await app.storage.getMappings(users.map((u) => u.id));
  const ids = users.map((u) => mappings.get(u.id)?.externalUserId ?? u.id);
  const verified = await app.storage.verifiedEmails(users.map((u, i) => ({ userId: ids[i], email: u.email })));
  return users.map((u, i) => userJsonOf(u, ids[i], verified[i]));
}

/** Utils.isFakeEmail: placeholder emails that third-party and passwordless sign-ups invent are born verified. */
export const isFakeEmail = (email: string): boolean =>
  email.endsWith("@stfakeemail.supertokens.com") || email.endsWith(".fakeemail.com");
