import { ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, field, normaliseEmail, publicTenantOnly, queryBool, queryInt, queryParam } from "../http.js";
import type { AppContext } from "../context.js";
import type { UserRecord } from "../storage/types.js";
import { findMapping, findUser, userJson, usersJson } from "../users.js";

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

/** `includeRecipeIds`: undefined when absent, else whether email-password users are included. */
function includesEmailPassword(ctx: RouteContext): boolean {
  const raw = queryParam(ctx.query, "includeRecipeIds", false);
  if (raw === undefined) return true;
  const ids = raw.split(",").map((s) => s.trim());
  for (const id of ids) if (!knownRecipeIds.has(id.toLowerCase())) throw badRequest(`Unknown recipe ID: ${id}`);
  return ids.some((id) => id.toLowerCase() === "emailpassword");
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

async function listUsers(ctx: RouteContext) {
  const includeEp = includesEmailPassword(ctx);
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

  if (searching) {
    // GeneralQueries.getUsers: the email-password table is searched only when email is the sole tag, matching
    // `tag%` or `%@tag%`; search results are not paginated.
    if (!emails || phones || providers) return ok({ users: [] });
    const candidates = await ctx.app.storage.listUsers({
      tenantId: ctx.tenantId,
      order,
      limit: 1000,
      emailContains: emails,
    });
    const hits = candidates.filter((u) => emails.some((t) => u.email.startsWith(t) || u.email.includes("@" + t)));
    return ok({ users: await usersJson(ctx.app, hits) });
  }

  if (!includeEp) return ok({ users: [] });
  const rows = await ctx.app.storage.listUsers({ tenantId: ctx.tenantId, order, limit: limit + 1, from });
  const page = rows.slice(0, limit);
  const body: Record<string, unknown> = { users: await usersJson(ctx.app, page) };
  if (rows.length > limit) body.nextPaginationToken = paginationToken(rows[limit]);
  return ok(body);
}

async function countUsers(ctx: RouteContext) {
  const includeEp = includesEmailPassword(ctx);
  const allTenants = queryBool(ctx.query, "includeAllTenants", false);
  if (allTenants && ctx.tenantId !== "public") throw publicTenantOnly();
  const count = includeEp ? await ctx.app.storage.countUsers(allTenants ? undefined : ctx.tenantId) : 0;
  return ok({ count });
}

async function byAccountInfo(ctx: RouteContext) {
  const rawEmail = queryParam(ctx.query, "email", false);
  const phoneNumber = queryParam(ctx.query, "phoneNumber", false);
  const thirdPartyId = queryParam(ctx.query, "thirdPartyId", false);
  const thirdPartyUserId = queryParam(ctx.query, "thirdPartyUserId", false);
  const webauthnCredentialId = queryParam(ctx.query, "webauthnCredentialId", false);
  const union = queryParam(ctx.query, "doUnionOfAccountInfo", true);
  if (union !== "true" && union !== "false")
    throw badRequest("'doUnionOfAccountInfo' should be either 'true' or 'false'");
  if ((thirdPartyId === undefined) !== (thirdPartyUserId === undefined)) {
    throw badRequest("If 'thirdPartyId' is provided, 'thirdPartyUserId' must also be provided, and vice versa");
  }
  // Email-password users have no phone number, third-party identity or passkey: those criteria match nobody,
  // so they only matter when every criterion must hold.
  const otherCriteria = phoneNumber !== undefined || thirdPartyId !== undefined || webauthnCredentialId !== undefined;
  if (rawEmail === undefined || (union === "false" && otherCriteria)) return ok({ users: [] });
  const users = await ctx.app.storage.findUsersByEmail(normaliseEmail(rawEmail), ctx.tenantId);
  users.sort((a, b) => a.timeJoined - b.timeJoined);
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
 * Metadata and email verification held under `id`, and sessions (live or not) under `id` or `superTokensId`
 * (AuthRecipe.deleteNonAuthRecipeUser).
 */
async function deleteNonAuthData(app: AppContext, id: string, superTokensId: string) {
  await app.storage.deleteMetadata(id);
  await app.storage.deleteEmailVerificationData(id);
  await app.storage.deleteSessions(await app.storage.findSessionHandles([id, superTokensId], 0));
}

/** AuthRecipe.deleteUser without account linking: always OK, unknown ids included. */
async function removeUser(ctx: RouteContext) {
  const userId = field(ctx.body, "userId", "string", true);
  field(ctx.body, "removeAllLinkedAccounts", "boolean", false);
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
  const user = await app.storage.getUser(superTokensId);
  if (!user) return ok();
  // Non-auth data lives under the external id once mapped; sessions may predate a forced mapping, so both ids.
  const nonAuthId = mapping?.externalUserId ?? superTokensId;
  await deleteNonAuthData(app, nonAuthId, superTokensId);
  await deleteResetTokens(app, superTokensId);
  await app.storage.deleteMapping(superTokensId);
  await app.storage.deleteUser(superTokensId);
  return ok();
}

export const userRoutes: Route[] = [
  { method: "GET", path: "/user/id", scope: "app", handler: getUserById },
  { method: "GET", path: "/users/by-accountinfo", scope: "tenant", handler: byAccountInfo },
  { method: "GET", path: "/users/count", scope: "tenant", handler: countUsers },
  { method: "GET", path: "/users", scope: "tenant", handler: listUsers },
  { method: "POST", path: "/user/remove", scope: "app", handler: removeUser },
];
