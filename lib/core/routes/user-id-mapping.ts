import { atLeastCdi4, ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, field, queryParam, type Json } from "../http.js";
import { findMapping, inUse, isKnownId, nonAuthUsage, type UserIdType } from "../users.js";

/** Ids are trimmed and must not be empty (UserIdMappingAPI and friends). */
function nonEmpty(name: string, value: string): string {
  const v = value.trim();
  if (v === "") throw badRequest(`Field name '${name}' cannot be an empty String`);
  return v;
}

function userIdType(raw: string | undefined): UserIdType {
  if (raw === undefined) return "ANY";
  const t = raw.trim();
  if (t === "SUPERTOKENS" || t === "EXTERNAL" || t === "ANY") return t;
  throw badRequest("Field name 'userIdType' should be one of 'SUPERTOKENS', 'EXTERNAL' or 'ANY'");
}

/** InputParser.parseStringOrJSONNullOrThrowError: a string, or JSON null meaning "none". */
function infoField(body: Json, required: boolean): string | null | undefined {
  const v = body.externalUserIdInfo;
  if (v === undefined && !required) return undefined;
  if (v === null) return null;
  if (typeof v !== "string") throw badRequest("Field name 'externalUserIdInfo' is invalid in JSON input");
  return nonEmpty("externalUserIdInfo", v);
}

/** UserIdMapping.createUserIdMapping, checks in the core's order (§2.6). */
async function createMapping(ctx: RouteContext) {
  const { storage } = ctx.app;
  const superTokensUserId = nonEmpty("superTokensUserId", field(ctx.body, "superTokensUserId", "string", true));
  const externalUserId = nonEmpty("externalUserId", field(ctx.body, "externalUserId", "string", true));
  const info = infoField(ctx.body, false) ?? undefined;
  const force = field(ctx.body, "force", "boolean", false) ?? false;

  const existing = await storage.getMapping(externalUserId, "EXTERNAL");
  if (existing) {
    return status("USER_ID_MAPPING_ALREADY_EXISTS_ERROR", {
      doesSuperTokensUserIdExist: existing.superTokensUserId === superTokensUserId,
      doesExternalUserIdExist: true,
    });
  }
  if (!(await storage.getUser(superTokensUserId))) return status("UNKNOWN_SUPERTOKENS_USER_ID_ERROR");
  if (!force) {
    if (await storage.getUser(externalUserId)) {
      throw badRequest("Cannot create a userId mapping where the externalId is also a SuperTokens userID");
    }
    const used = await nonAuthUsage(ctx.app, superTokensUserId, ctx.now);
    // CDI >= 4 moves email verification to the external id instead of refusing: sign-ins that verify emails
    // automatically would otherwise block every later mapping.
    if (atLeastCdi4(ctx.cdiVersion) && used.length === 1 && used[0] === "EmailVerification") {
      await storage.renameEmailVerificationUser(superTokensUserId, externalUserId);
    } else if (used.length > 0) throw inUse(used[0]);
  }
  const inserted = await storage.insertMapping({
    superTokensUserId,
    externalUserId,
    ...(info === undefined ? {} : { externalUserIdInfo: info }),
  });
  if (inserted === "EXISTS") {
    return status("USER_ID_MAPPING_ALREADY_EXISTS_ERROR", {
      doesSuperTokensUserIdExist: true,
      doesExternalUserIdExist: false,
    });
  }
  return ok();
}

async function getMapping(ctx: RouteContext) {
  const userId = nonEmpty("userId", queryParam(ctx.query, "userId", true));
  const type = userIdType(queryParam(ctx.query, "userIdType", false));
  const m = await findMapping(ctx.app, userId, type);
  if (!m) return status("UNKNOWN_MAPPING_ERROR");
  const body: Json = { superTokensUserId: m.superTokensUserId, externalUserId: m.externalUserId };
  if (m.externalUserIdInfo !== undefined) body.externalUserIdInfo = m.externalUserIdInfo;
  return ok(body);
}

/**
 * Which mapping row an update or delete addresses (UserIdMapping.deleteUserIdMapping /
 * updateOrDeleteExternalUserIdInfo): by type, and for ANY the SuperTokens side when a user has that id.
 */
async function addressedMapping(ctx: RouteContext, userId: string, type: UserIdType) {
  const { storage } = ctx.app;
  const bySt = type === "SUPERTOKENS" || (type === "ANY" && (await storage.getUser(userId)) !== undefined);
  return storage.getMapping(userId, bySt ? "SUPERTOKENS" : "EXTERNAL");
}

async function removeMapping(ctx: RouteContext) {
  const { storage } = ctx.app;
  const userId = nonEmpty("userId", field(ctx.body, "userId", "string", true));
  const type = userIdType(field(ctx.body, "userIdType", "string", false));
  const force = field(ctx.body, "force", "boolean", false) ?? false;
  const gone = ok({ didMappingExist: false });
  if (!(await isKnownId(ctx.app, userId, type, ctx.now))) return gone;

  const mapping = await findMapping(ctx.app, userId, "ANY");
  if (!mapping) return gone;
  // "State A4": the external id is another user's SuperTokens id; the mapping goes without usage checks.
  if (await storage.getUser(mapping.externalUserId)) {
    return ok({ didMappingExist: await storage.deleteMapping(mapping.superTokensUserId) });
  }
  if (!force) {
    const used = await nonAuthUsage(ctx.app, mapping.externalUserId, ctx.now);
    if (used.length > 0) throw inUse(used[0]);
  }
  const target = await addressedMapping(ctx, userId, type);
  return ok({ didMappingExist: target ? await storage.deleteMapping(target.superTokensUserId) : false });
}

async function updateInfo(ctx: RouteContext) {
  const userId = nonEmpty("userId", field(ctx.body, "userId", "string", true));
  const type = userIdType(field(ctx.body, "userIdType", "string", false));
  const info = infoField(ctx.body, true);
  if (!(await isKnownId(ctx.app, userId, type, ctx.now))) return status("UNKNOWN_MAPPING_ERROR");
  const target = await addressedMapping(ctx, userId, type);
  if (!target || !(await ctx.app.storage.updateMappingInfo(target.superTokensUserId, info ?? undefined))) {
    return status("UNKNOWN_MAPPING_ERROR");
  }
  return ok();
}

export const userIdMappingRoutes: Route[] = [
  { method: "POST", path: "/recipe/userid/map", scope: "app", handler: createMapping },
  { method: "GET", path: "/recipe/userid/map", scope: "app", handler: getMapping },
  { method: "POST", path: "/recipe/userid/map/remove", scope: "app", handler: removeMapping },
  { method: "PUT", path: "/recipe/userid/external-user-id-info", scope: "app", handler: updateInfo },
];
