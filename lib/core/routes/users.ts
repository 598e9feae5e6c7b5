import { ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, field, normaliseEmail, publicTenantOnly, queryBool, queryInt, queryParam } from "../http.js";
import type { AppContext } from "../context.js";
import type { AccountInfoQuery, AuthRecipeId, UserRecord } from "../storage/types.js";
import { matchesAccountInfo } from "../storage/users.js";
import {
  findMapping,
  findUser,
  loginMethodsOf,
  normalisePhoneNumber,
  primaryIdOf,
  userJson,
  usersJson,
} from "../users.js";

/** RECIPE_ID.getEnumFromString (case-insensitive); only emailpassword has users in the dev core. */
const knownRecipeIds = new Set([
  "emailpassword",
  "thirdparty",
  "passwordless",
  "session",
  "emailverification",
  "jwt",
  "usermetadata",
  "userroles",
  "useridmapping",
  "dashboard",
  "totp",
  "multitenancy",
  "accountlinking",
  "mfa",
  "oauth",
  "webauthn",
  "saml",
]);

const authRecipeIds: readonly AuthRecipeId[] = ["emailpassword", "thirdparty", "passwordless"];

/** `includeRecipeIds`: undefined when absent, else the auth recipes it names (other known recipes have no users). */
function includedRecipes(ctx: RouteContext): AuthRecipeId[] | undefined {
  const raw = queryParam(ctx.query, "includeRecipeIds", false);
  if (raw === undefined) return undefined;
  const ids = raw.split(",").map((s) => s.trim());
  for (const id of ids) if (!knownRecipeIds.has(id.toLowerCase())) throw badRequest(`Unknown recipe ID: ${id}`);
  return authRecipeIds.filter((r) => ids.some((id) => id.toLowerCase() === r));
}

/** UserPaginationToken: base64("<supertokensUserId>;<timeJoined>") with Java's strict decoder and Long.parseLong. */
function parsePaginationToken(token: string): { id: string; timeJoined: number } {
  const invalid = () => badRequest("invalid pagination token");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(token) || token.length % 4 === 1) throw invalid();
  const parts = Buffer.from(token, "base64").toString("utf8").split(";");
  // Java's String.split drops trailing empty strings, so "id;" has one part.
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  if (parts.length !== 2 || !/^[+-]?\d{1,19}$/.test(parts[1])) throw invalid();
  return { id: parts[0], timeJoined: Number(parts[1]) };
}

const paginationToken = (u: UserRecord) => Buffer.from(`${u.id};${u.timeJoined}`).toString("base64");

/** Dashboard search tags: `;`-separated, trimmed, lower-cased, empties dropped. */
function searchTags(ctx: RouteContext, name: string): string[] | undefined {
  const raw = queryParam(ctx.query, name, false);
  if (raw === undefined) return undefined;
  const tags = raw
    .split(";")
    .map((t) => t.toLowerCase().trim())
    .filter((t) => t !== "");
  return tags.length ? tags : undefined;
}

/**
 * GeneralQueries.getUsers' search: each recipe's table is searched only for the tags it has columns for, a user
 * matching every tag type given (email `tag%` or `%@tag%`, phone `tag%`, provider `tag%`).
 */
function matchesSearch(u: UserRecord, emails?: string[], phones?: string[], providers?: string[]): boolean {
  if (u.recipeId === "emailpassword" && (phones || providers)) return false;
  if (u.recipeId === "thirdparty" && phones) return false;
  if (u.recipeId === "passwordless" && providers) return false;
  const email = u.email;
  if (emails && (email === undefined || !emails.some((t) => email.startsWith(t) || email.includes("@" + t))))
    return false;
  if (phones && (u.recipeId !== "passwordless" || !phones.some((t) => u.phoneNumber?.startsWith(t)))) return false;
  if (providers && (u.recipeId !== "thirdparty" || !providers.some((t) => u.thirdParty.id.startsWith(t)))) return false;
  return true;
}

async function listUsers(ctx: RouteContext) {
  const recipeIds = includedRecipes(ctx);
  const token = queryParam(ctx.query, "paginationToken", false);
  let limit = queryInt(ctx.query, "limit");
  const order = queryParam(ctx.query, "timeJoinedOrder", false) ?? "ASC";
  if (order !== "ASC" && order !== "DESC") throw badRequest("timeJoinedOrder can be either ASC OR DESC");
  const emails = searchTags(ctx, "email");
  const phones = searchTags(ctx, "phone");
  const providers = searchTags(ctx, "provider");
  const searching = emails !== undefined || phones !== undefined || providers !== undefined;
  if (limit !== undefined) {
    if (limit > 500 && !searching) throw badRequest("max limit allowed is 500");
    if (limit < 1) throw badRequest("limit must a positive integer with min value 1");
  } else limit = 100;
  const from = token === undefined ? undefined : parsePaginationToken(token);
  if (recipeIds?.length === 0) return ok({ users: [] });

  if (searching) {
    // Search results are not paginated; a primary user is found through any of its login methods.
    const heads = new Map<string, UserRecord>();
    const candidates = await ctx.app.storage.listUsers({
      tenantId: ctx.tenantId,
      order,
      limit: 1000,
      emailContains: emails && !phones && !providers ? emails : undefined,
      recipeIds,
    });
    for (const head of candidates) {
      const methods = await loginMethodsOf(ctx.app, head);
      if (methods.some((u) => u.tenantIds.includes(ctx.tenantId) && matchesSearch(u, emails, phones, providers)))
        heads.set(head.id, head);
    }
    return ok({ users: await usersJson(ctx.app, [...heads.values()]) });
  }

  const rows = await ctx.app.storage.listUsers({ tenantId: ctx.tenantId, order, limit: limit + 1, from, recipeIds });
  const page = rows.slice(0, limit);
  const body: Record<string, unknown> = { users: await usersJson(ctx.app, page) };
  if (rows.length > limit) body.nextPaginationToken = paginationToken(rows[limit]);
  return ok(body);
}

async function countUsers(ctx: RouteContext) {
  const recipeIds = includedRecipes(ctx);
  const allTenants = queryBool(ctx.query, "includeAllTenants", false);
  if (allTenants && ctx.tenantId !== "public") throw publicTenantOnly();
  const count =
    recipeIds?.length === 0 ? 0 : await ctx.app.storage.countUsers(allTenants ? undefined : ctx.tenantId, recipeIds);
  return ok({ count });
}

/**
 * AuthRecipe.getUsersByAccountInfo: primary-or-recipe users with a login method in the tenant holding any (union)
 * or, across their login methods, all of the given account infos; oldest first.
 */
async function byAccountInfo(ctx: RouteContext) {
  const rawEmail = queryParam(ctx.query, "email", false);
  const rawPhone = queryParam(ctx.query, "phoneNumber", false);
  const thirdPartyId = queryParam(ctx.query, "thirdPartyId", false);
  const thirdPartyUserId = queryParam(ctx.query, "thirdPartyUserId", false);
  const webauthnCredentialId = queryParam(ctx.query, "webauthnCredentialId", false);
  const union = queryParam(ctx.query, "doUnionOfAccountInfo", true);
  if (union !== "true" && union !== "false")
    throw badRequest("'doUnionOfAccountInfo' should be either 'true' or 'false'");
  if ((thirdPartyId === undefined) !== (thirdPartyUserId === undefined)) {
    throw badRequest("If 'thirdPartyId' is provided, 'thirdPartyUserId' must also be provided, and vice versa");
  }
  const info: AccountInfoQuery = {};
  if (rawEmail !== undefined) info.email = normaliseEmail(rawEmail);
  if (rawPhone !== undefined) info.phoneNumber = normalisePhoneNumber(rawPhone);
  if (thirdPartyId !== undefined) info.thirdParty = { id: thirdPartyId, userId: thirdPartyUserId! };
  // No recipe user holds a passkey here: that criterion matches nobody, so it only matters when all must hold.
  if (webauthnCredentialId !== undefined && union === "false") return ok({ users: [] });
  if (Object.keys(info).length === 0) return ok({ users: [] });
  const found = await ctx.app.storage.findUsersByAccountInfo(info, ctx.tenantId);
  const heads = new Map<string, { user: UserRecord; methods: UserRecord[] }>();
  for (const u of found) {
    const key = primaryIdOf(u);
    if (!heads.has(key)) heads.set(key, { user: u, methods: await loginMethodsOf(ctx.app, u) });
  }
  const users = [...heads.values()]
    .filter(({ methods }) => {
      if (union === "true") return true;
      const has = (part: AccountInfoQuery) => methods.some((m) => matchesAccountInfo(m, part));
      return (
        (info.email === undefined || has({ email: info.email })) &&
        (info.phoneNumber === undefined || has({ phoneNumber: info.phoneNumber })) &&
        (info.thirdParty === undefined || has({ thirdParty: info.thirdParty }))
      );
    })
    .map(({ user, methods }) => ({ user, timeJoined: Math.min(...methods.map((m) => m.timeJoined)) }))
    .sort((a, b) => a.timeJoined - b.timeJoined)
    .map(({ user }) => user);
  return ok({ users: await usersJson(ctx.app, users) });
}

async function getUserById(ctx: RouteContext) {
  const user = await findUser(ctx.app, queryParam(ctx.query, "userId", true));
  return user ? ok({ user: await userJson(ctx.app, user) }) : status("UNKNOWN_USER_ID_ERROR");
}

/** The reset tokens of a user go with it (a foreign key in the core); the storage deletes them all on consume. */
async function deleteResetTokens(app: AppContext, superTokensId: string) {
  const token = (await app.storage.listResetTokens()).find((t) => t.userId === superTokensId);
  if (token) await app.storage.consumeResetToken(token.tokenHash);
}

/**
 * Metadata, roles (in every tenant) and email verification held under `id`, and sessions (live or not) under `id`
 * or `superTokensId` (AuthRecipe.deleteNonAuthRecipeUser).
 */
async function deleteNonAuthData(app: AppContext, id: string, superTokensId: string) {
  await app.storage.deleteMetadata(id);
  await app.storage.roles.deleteUserRoles(id);
  await app.storage.deleteEmailVerificationData(id);
  await app.storage.deleteSessions(await app.storage.findSessionHandles([id, superTokensId], 0));
}

/** One recipe user's auth rows, reset tokens and mapping; its non-auth data too when `withNonAuthData`. */
async function deleteRecipeUser(app: AppContext, superTokensId: string, withNonAuthData: boolean) {
  const mapping = await app.storage.getMapping(superTokensId, "SUPERTOKENS");
  // Non-auth data lives under the external id once mapped; sessions may predate a forced mapping, so both ids.
  if (withNonAuthData) await deleteNonAuthData(app, mapping?.externalUserId ?? superTokensId, superTokensId);
  await deleteResetTokens(app, superTokensId);
  if (withNonAuthData) await app.storage.deleteMapping(superTokensId);
  await app.storage.deleteUser(superTokensId);
}

/**
 * AuthRecipe.deleteUser: always OK, unknown ids included. `removeAllLinkedAccounts` (default true) takes every
 * login method of the primary user; otherwise only the named recipe user goes, and when that is the primary user's
 * own login method while others remain, the primary user (its id, mapping and non-auth data) stays with them.
 */
async function removeUser(ctx: RouteContext) {
  const userId = field(ctx.body, "userId", "string", true);
  const removeAll = field(ctx.body, "removeAllLinkedAccounts", "boolean", false) ?? true;
  const { app } = ctx;
  const mapping = (await app.storage.getUser(userId))
    ? await app.storage.getMapping(userId, "SUPERTOKENS")
    : await findMapping(app, userId, "ANY");
  if (mapping && (await app.storage.getUser(mapping.externalUserId))) {
    // "State A4": the external id is itself another user's id; only the auth rows of `userId` go.
    if (await app.storage.deleteUser(userId)) {
      await deleteResetTokens(app, userId);
      await app.storage.deleteMapping(userId);
    }
    return ok();
  }
  const superTokensId = mapping?.superTokensUserId ?? userId;
  const user = await findUser(app, superTokensId);
  if (!user) return ok();
  const methods = await loginMethodsOf(app, user);
  const primaryId = primaryIdOf(user);
  if (removeAll || methods.length === 1) {
    // The primary user's own id last: the others point at it.
    for (const m of methods) if (m.id !== primaryId) await deleteRecipeUser(app, m.id, true);
    await deleteRecipeUser(app, primaryId, true);
    return ok();
  }
  await deleteRecipeUser(app, user.id, user.id !== primaryId);
  return ok();
}

export const userRoutes: Route[] = [
  { method: "GET", path: "/user/id", scope: "app", handler: getUserById },
  { method: "GET", path: "/users/by-accountinfo", scope: "tenant", handler: byAccountInfo },
  { method: "GET", path: "/users/count", scope: "tenant", handler: countUsers },
  { method: "GET", path: "/users", scope: "tenant", handler: listUsers },
  { method: "POST", path: "/user/remove", scope: "app", handler: removeUser },
];
