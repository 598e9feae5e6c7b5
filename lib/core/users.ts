import { parsePhoneNumberFromString } from "libphonenumber-js";
import type { AppContext } from "./context.js";
import { badRequest, type CoreHttpError } from "./http.js";
import type { AccountInfoQuery, AppStorage, UserRecord } from "./storage/types.js";
import { accountInfoOf } from "./storage/users.js";

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

/**
 * Find a recipe user by either kind of id. A primary user whose own login method was deleted while others stayed
 * linked keeps its id: that id finds its oldest remaining login method.
 */
export async function findUser(app: AppContext, id: string): Promise<UserRecord | undefined> {
  const user = (await app.storage.getUser(id)) ?? (await app.storage.getUser(await toSuperTokensId(app, id)));
  if (user) return user;
  const [oldest] = await app.storage.getLinkedUsers(await toSuperTokensId(app, id));
  return oldest;
}

/** Utils.normalizeIfPhoneNumber: E.164 when it parses as an international number, else only trimmed. */
export function normalisePhoneNumber(raw: string): string {
  const phone = raw.trim();
  return parsePhoneNumberFromString(phone)?.number ?? phone;
}

/** The login methods of the primary user `user` belongs to (just `user` when it is not linked), oldest first. */
export async function loginMethodsOf(app: AppContext, user: UserRecord): Promise<UserRecord[]> {
  if (!user.isLinkedOrPrimary) return [user];
  const linked = await app.storage.getLinkedUsers(user.primaryOrRecipeUserId ?? user.id);
  return linked.length > 0 ? linked : [user];
}

/** The id of the primary user a recipe user belongs to (its own when not linked). */
export const primaryIdOf = (u: UserRecord): string => u.primaryOrRecipeUserId ?? u.id;

/**
 * The user JSON of CDI 5.3+ (AuthRecipeUserInfo.toJson): the primary user `user` belongs to, with every login
 * method. `verified` is read per login method under its reported id, where email verification lives.
 */
export async function userJson(app: AppContext, user: UserRecord): Promise<Record<string, unknown>> {
  return (await usersJson(app, [user]))[0];
}

function loginMethodJson(u: UserRecord, id: string, verified: boolean): Record<string, unknown> {
  const lm: Record<string, unknown> = {
    tenantIds: u.tenantIds,
    recipeUserId: id,
    verified,
    timeJoined: u.timeJoined,
    recipeId: u.recipeId,
  };
  if (u.email !== undefined) lm.email = u.email;
  if (u.recipeId === "passwordless" && u.phoneNumber !== undefined) lm.phoneNumber = u.phoneNumber;
  if (u.recipeId === "thirdparty") lm.thirdParty = { id: u.thirdParty.id, userId: u.thirdParty.userId };
  return lm;
}

function primaryUserJson(
  primaryId: string,
  methods: UserRecord[],
  ids: Map<string, string>,
  verified: Map<UserRecord, boolean>,
): Record<string, unknown> {
  const tenantIds = new Set<string>();
  const emails = new Set<string>();
  const phoneNumbers = new Set<string>();
  const thirdParty = new Map<string, { id: string; userId: string }>();
  for (const u of methods) {
    for (const t of u.tenantIds) tenantIds.add(t);
    if (u.email !== undefined) emails.add(u.email);
    if (u.recipeId === "passwordless" && u.phoneNumber !== undefined) phoneNumbers.add(u.phoneNumber);
    if (u.recipeId === "thirdparty") thirdParty.set(JSON.stringify(u.thirdParty), { ...u.thirdParty });
  }
  return {
    id: ids.get(primaryId) ?? primaryId,
    isPrimaryUser: methods.some((u) => u.isLinkedOrPrimary),
    tenantIds: [...tenantIds],
    timeJoined: Math.min(...methods.map((u) => u.timeJoined)),
    emails: [...emails],
    phoneNumbers: [...phoneNumbers],
    thirdParty: [...thirdParty.values()],
    webauthn: { credentialIds: [] },
    // A login method without an email (a passwordless phone number) counts as verified, as the core's storage says.
    loginMethods: methods.map((u) =>
      loginMethodJson(u, ids.get(u.id) ?? u.id, verified.get(u) ?? u.email === undefined),
    ),
  };
}

/**
 * userJson for a list: one mapping lookup and one verification lookup for the login methods of all of them, so that
 * a page of 500 unlinked users costs the storage three queries (with the listing), not a thousand.
 */
export async function usersJson(app: AppContext, users: UserRecord[]): Promise<Record<string, unknown>[]> {
  if (users.length === 0) return [];
  const groups: UserRecord[][] = [];
  for (const u of users) groups.push(await loginMethodsOf(app, u));
  const all = groups.flat();
  const primaryIds = users.map(primaryIdOf);
  const mappings = await app.storage.getMappings([...new Set([...all.map((u) => u.id), ...primaryIds])]);
  const ids = new Map([...mappings].map(([st, m]) => [st, m.externalUserId]));
  const withEmail = all.filter((u) => u.email !== undefined);
  const flags = await app.storage.verifiedEmails(
    withEmail.map((u) => ({ userId: ids.get(u.id) ?? u.id, email: u.email! })),
  );
  const verified = new Map(withEmail.map((u, i) => [u, flags[i]]));
  return groups.map((methods, i) => primaryUserJson(primaryIds[i], methods, ids, verified));
}

/** The tenants of a primary user: every tenant of its login methods. */
export const tenantsOf = (methods: UserRecord[]): string[] => [...new Set(methods.flatMap((m) => m.tenantIds))];

/**
 * Another primary user, sharing one of `tenantIds`, that holds the email, phone number or third-party identity
 * of login method `lm` (AuthRecipe's checks before a user becomes primary, is linked, or changes an email): its
 * id and the core's description, or undefined.
 */
export async function primaryUserHolding(
  app: AppContext,
  lm: UserRecord,
  tenantIds: string[],
  exceptPrimaryId: string | undefined,
): Promise<{ primaryUserId: string; description: string } | undefined> {
  const info = accountInfoOf(lm);
  const kinds: [AccountInfoQuery, string][] = [
    [{ email: info.email }, "This user's email is already associated with another user ID"],
    [{ phoneNumber: info.phoneNumber }, "This user's phone number is already associated with another user ID"],
    [{ thirdParty: info.thirdParty }, "This user's third party login is already associated with another user ID"],
  ];
  for (const [query, description] of kinds) {
    if (Object.values(query)[0] === undefined) continue;
    for (const holder of await app.storage.findUsersByAccountInfo(query)) {
      const primaryUserId = primaryIdOf(holder);
      if (!holder.isLinkedOrPrimary || primaryUserId === exceptPrimaryId) continue;
      const tenants = tenantsOf(await loginMethodsOf(app, holder));
      if (tenants.some((t) => tenantIds.includes(t))) return { primaryUserId, description };
    }
  }
  return undefined;
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
  if (await app.storage.roles.hasUserRoles(id)) used.push("UserRoles");
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

/** Utils.isFakeEmail: placeholder emails that third-party and passwordless sign-ups invent are born verified. */
export const isFakeEmail = (email: string): boolean =>
  email.endsWith("@stfakeemail.supertokens.com") || email.endsWith(".fakeemail.com");
