import { idPattern, ok, reservedTenantIds, status, type Route, type RouteContext } from "../context.js";
import { mergeConfig, normaliseConfigFragment } from "../config.js";
import { badRequest, CoreHttpError, field, tenantNotFound, type Json } from "../http.js";
import type { TenantRecord } from "../storage/types.js";
import { accountInfoOf, matchesAccountInfo } from "../storage/users.js";
import { findUser, loginMethodsOf, primaryIdOf, toSuperTokensId } from "../users.js";

/** App and tenant ids: trimmed, lower-cased, [a-z0-9-]+ (webserver/Utils.normalizeAndValidateAppId). */
function normaliseId(raw: string, what: "appId" | "tenantId"): string {
  const id = raw.trim().toLowerCase();
  if (!idPattern.test(id)) throw badRequest(`Invalid characters in ${what}`);
  if (what === "appId" && id.startsWith("appid-")) throw badRequest("appId must not start with 'appid-'");
  if (what === "tenantId" && reservedTenantIds.has(id)) throw badRequest(`Cannot use '${id}' as a tenantId`);
  return id;
}

/** The body's `appId` or `tenantId`, normalised and validated. */
const idField = (body: Json, what: "appId" | "tenantId"): string =>
  normaliseId(field(body, what, "string", true), what);

/** The body's `coreConfig` fragment, normalised; empty when absent or null. */
const configUpdate = (body: Json): Json =>
  body.coreConfig == null ? {} : normaliseConfigFragment(field(body, "coreConfig", "object", true));

function factors(body: Json, name: string): string[] | null | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string"))
    throw badRequest(`Field name '${name}' is invalid in JSON input`);
  return v as string[];
}

function tenantJson(t: TenantRecord): Json {
  const out: Json = {
    tenantId: t.tenantId,
    thirdParty: { providers: t.thirdPartyProviders ?? [] },
    coreConfig: t.coreConfig,
  };
  if (t.firstFactors != null) out.firstFactors = t.firstFactors;
  if (t.requiredSecondaryFactors != null) out.requiredSecondaryFactors = t.requiredSecondaryFactors;
  return out;
}

async function upsertApp(ctx: RouteContext) {
  const appId = idField(ctx.body, "appId");
  const update = configUpdate(ctx.body);
  const existing = await ctx.core.storage.getApp(appId);
  const next = {
    appId,
    coreConfig: mergeConfig(existing?.coreConfig ?? {}, update),
    createdAt: existing?.createdAt ?? ctx.now,
    firstFactors: factors(ctx.body, "firstFactors") ?? existing?.firstFactors,
    requiredSecondaryFactors: factors(ctx.body, "requiredSecondaryFactors") ?? existing?.requiredSecondaryFactors,
  };
  await ctx.core.storage.putApp(next);
  if (!(await ctx.core.storage.getTenant(appId, "public"))) {
    await ctx.core.storage.putTenant(appId, { tenantId: "public", coreConfig: {} });
  }
  ctx.core.forgetApp(appId);
  return ok({ createdNew: !existing });
}

/** The path's tenant, which the router has already found to exist (a tenant can vanish in between). */
async function pathTenant(ctx: RouteContext): Promise<TenantRecord> {
  const t = await ctx.core.storage.getTenant(ctx.app.appId, ctx.tenantId);
  if (!t) throw tenantNotFound(ctx.app.appId, ctx.tenantId);
  return t;
}

/** A provider config as the core keeps it: top-level nulls dropped, everything else as given. */
function providerConfig(raw: Json): Json {
  const config: Json = {};
  for (const [key, value] of Object.entries(raw)) if (value !== null && value !== undefined) config[key] = value;
  const id = config.thirdPartyId;
  if (typeof id !== "string" || id.trim() === "") throw badRequest("thirdPartyId cannot be null or empty");
  if (config.clients !== undefined && !Array.isArray(config.clients))
    throw badRequest("Field name 'clients' is invalid in JSON input");
  return config;
}

/** PUT /<t>/recipe/multitenancy/config/thirdparty: create or replace one provider of the tenant, by thirdPartyId. */
async function putThirdPartyConfig(ctx: RouteContext) {
  const config = providerConfig(field(ctx.body, "config", "object", true));
  field(ctx.body, "skipValidation", "boolean", false);
  const tenant = await pathTenant(ctx);
  const providers = tenant.thirdPartyProviders ?? [];
  const i = providers.findIndex((p) => p.thirdPartyId === config.thirdPartyId);
  if (i >= 0) providers[i] = config;
  else providers.push(config);
  providers.sort((a, b) => String(a.thirdPartyId).localeCompare(String(b.thirdPartyId)));
  await ctx.core.storage.putTenant(ctx.app.appId, { ...tenant, thirdPartyProviders: providers });
  return ok({ createdNew: i < 0 });
}

async function removeThirdPartyConfig(ctx: RouteContext) {
  const thirdPartyId = field(ctx.body, "thirdPartyId", "string", true);
  const tenant = await pathTenant(ctx);
  const providers = tenant.thirdPartyProviders ?? [];
  const rest = providers.filter((p) => p.thirdPartyId !== thirdPartyId);
  if (rest.length !== providers.length)
    await ctx.core.storage.putTenant(ctx.app.appId, { ...tenant, thirdPartyProviders: rest });
  return ok({ didConfigExist: rest.length !== providers.length });
}

/**
 * Multitenancy.addUserIdToTenant: the recipe's per-tenant uniqueness first, then, for a linked user, no other
 * primary user of the tenant may hold an account info of its primary user.
 */
async function associateUser(ctx: RouteContext) {
  const id = field(ctx.body, "recipeUserId", "string", true);
  const tenantId = (await pathTenant(ctx)).tenantId;
  const { storage } = ctx.app;
  const user = await findUser(ctx.app, id);
  if (!user || (user.id !== id && (await toSuperTokensId(ctx.app, id)) !== user.id))
    return status("UNKNOWN_USER_ID_ERROR");
  if (user.tenantIds.includes(tenantId)) return ok({ wasAlreadyAssociated: true });
  const info = accountInfoOf(user);
  const there = (await storage.findUsersByAccountInfo(info, tenantId)).filter((o) => o.id !== user.id);
  for (const o of there) {
    if (o.recipeId !== user.recipeId) continue;
    if (o.recipeId !== "thirdparty" && user.email !== undefined && o.email === user.email)
      return status("EMAIL_ALREADY_EXISTS_ERROR");
    if (o.recipeId === "passwordless" && user.recipeId === "passwordless" && o.phoneNumber === user.phoneNumber)
      return status("PHONE_NUMBER_ALREADY_EXISTS_ERROR");
    if (o.recipeId === "thirdparty" && matchesAccountInfo(o, { thirdParty: info.thirdParty }))
      return status("THIRD_PARTY_USER_ALREADY_EXISTS_ERROR");
  }
  if (user.isLinkedOrPrimary) {
    const primaryId = primaryIdOf(user);
    for (const m of await loginMethodsOf(ctx.app, user)) {
      const holders = await storage.findUsersByAccountInfo(accountInfoOf(m), tenantId);
      if (holders.some((o) => o.isLinkedOrPrimary && primaryIdOf(o) !== primaryId)) {
        return status("ASSOCIATION_NOT_ALLOWED_ERROR", {
          reason: "This user, or a user linked to it, has account info held by another primary user of this tenant",
        });
      }
    }
  }
  await storage.updateUser(user.id, { tenantIds: [...user.tenantIds, tenantId] });
  return ok({ wasAlreadyAssociated: false });
}

async function disassociateUser(ctx: RouteContext) {
  const id = field(ctx.body, "recipeUserId", "string", true);
  const tenantId = (await pathTenant(ctx)).tenantId;
  const user =
    (await ctx.app.storage.getUser(id)) ?? (await ctx.app.storage.getUser(await toSuperTokensId(ctx.app, id)));
  if (!user?.tenantIds.includes(tenantId)) return ok({ wasAssociated: false });
  await ctx.app.storage.updateUser(user.id, { tenantIds: user.tenantIds.filter((t) => t !== tenantId) });
  return ok({ wasAssociated: true });
}

export const multitenancyRoutes: Route[] = [
  { method: "POST", path: "/recipe/multitenancy/tenant/user", scope: "tenant", handler: associateUser },
  { method: "POST", path: "/recipe/multitenancy/tenant/user/remove", scope: "tenant", handler: disassociateUser },
  { method: "PUT", path: "/recipe/multitenancy/config/thirdparty", scope: "tenant", handler: putThirdPartyConfig },
  {
    method: "POST",
    path: "/recipe/multitenancy/config/thirdparty/remove",
    scope: "tenant",
    handler: removeThirdPartyConfig,
  },
  { method: "PUT", path: "/recipe/multitenancy/app/v2", scope: "base", handler: upsertApp },
  { method: "PUT", path: "/recipe/multitenancy/app", scope: "base", handler: upsertApp },
  {
    method: "POST",
    path: "/recipe/multitenancy/app/remove",
    scope: "base",
    async handler(ctx) {
      const appId = idField(ctx.body, "appId");
      if (appId === "public")
        throw new CoreHttpError(403, "Cannot delete the public app, use remove tenant API instead");
      const didExist = await ctx.core.storage.deleteApp(appId);
      ctx.core.forgetApp(appId);
      return ok({ didExist });
    },
  },
  {
    method: "GET",
    path: "/recipe/multitenancy/app/list/v2",
    scope: "base",
    async handler(ctx) {
      const apps = await ctx.core.storage.listApps();
      const out = [];
      for (const a of apps)
        out.push({ appId: a.appId, tenants: (await ctx.core.storage.listTenants(a.appId)).map(tenantJson) });
      return ok({ apps: out });
    },
  },
  {
    method: "PUT",
    path: "/recipe/multitenancy/tenant/v2",
    scope: "app",
    async handler(ctx) {
      // v2 configures login methods only through firstFactors; the v1 recipe switches are refused, not ignored.
      for (const name of ["emailPasswordEnabled", "thirdPartyEnabled", "passwordlessEnabled"])
        if (name in ctx.body) throw badRequest(`${name} is not allowed in this API version`);
      const tenantId = idField(ctx.body, "tenantId");
      const existing = await ctx.core.storage.getTenant(ctx.app.appId, tenantId);
      const update = configUpdate(ctx.body);
      const first = factors(ctx.body, "firstFactors");
      const next: TenantRecord = {
        tenantId,
        coreConfig: mergeConfig(existing?.coreConfig ?? {}, update),
        // A new non-public tenant starts with no first factors unless given (CreateOrUpdateTenantOrGetTenantV2API).
        firstFactors:
          first !== undefined ? first : existing ? existing.firstFactors : tenantId === "public" ? null : [],
        requiredSecondaryFactors:
          factors(ctx.body, "requiredSecondaryFactors") ?? existing?.requiredSecondaryFactors ?? null,
      };
      if (existing?.thirdPartyProviders) next.thirdPartyProviders = existing.thirdPartyProviders;
      await ctx.core.storage.putTenant(ctx.app.appId, next);
      return ok({ createdNew: !existing });
    },
  },
  {
    method: "GET",
    path: "/recipe/multitenancy/tenant/v2",
    scope: "tenant",
    async handler(ctx) {
      const t = await ctx.core.storage.getTenant(ctx.app.appId, ctx.tenantId);
      if (!t) return status("TENANT_NOT_FOUND_ERROR");
      return ok(tenantJson(t));
    },
  },
  {
    method: "GET",
    path: "/recipe/multitenancy/tenant/list/v2",
    scope: "app",
    async handler(ctx) {
      return ok({ tenants: (await ctx.core.storage.listTenants(ctx.app.appId)).map(tenantJson) });
    },
  },
  {
    method: "POST",
    path: "/recipe/multitenancy/tenant/remove",
    scope: "app",
    async handler(ctx) {
      const tenantId = idField(ctx.body, "tenantId");
      if (tenantId === "public")
        throw new CoreHttpError(403, "Cannot delete public tenant, use remove app API instead");
      return ok({ didExist: await ctx.core.storage.deleteTenant(ctx.app.appId, tenantId) });
    },
  },
];
