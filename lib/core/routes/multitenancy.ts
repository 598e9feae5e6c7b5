import { ok, status, type Route, type RouteContext } from "../context.js";
import { mergeConfig, normaliseConfigFragment } from "../config.js";
import { badRequest, CoreHttpError, field, type Json } from "../http.js";
import type { TenantRecord } from "../storage/types.js";

/** App and tenant ids: trimmed, lower-cased, [a-z0-9-]+ (webserver/Utils.normalizeAndValidateAppId). */
function normaliseId(raw: string, what: "appId" | "tenantId"): string {
  const id = raw.trim().toLowerCase();
  if (!/^[a-z0-9-]+$/.test(id)) throw badRequest(`Invalid characters in ${what}`);
  if (what === "appId" && id.startsWith("appid-")) throw badRequest("appId must not start with 'appid-'");
  if (what === "tenantId" && ["recipe", "config", "users", "hello"].includes(id)) throw badRequest(`Cannot use '${id}' as a tenantId`);
  return id;
}

function factors(body: Json, name: string): string[] | null | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw badRequest(`Field name '${name}' is invalid in JSON input`);
  return v as string[];
}

function tenantJson(t: TenantRecord): Json {
  const out: Json = { tenantId: t.tenantId, thirdParty: { providers: [] }, coreConfig: t.coreConfig };
  if (t.firstFactors != null) out.firstFactors = t.firstFactors;
  if (t.requiredSecondaryFactors != null) out.requiredSecondaryFactors = t.requiredSecondaryFactors;
  return out;
}

async function upsertApp(ctx: RouteContext) {
  const appId = normaliseId(field(ctx.body, "appId", "string", true), "appId");
  const update = ctx.body.coreConfig === undefined || ctx.body.coreConfig === null ? {} : field(ctx.body, "coreConfig", "object", true);
  const normalised = normaliseConfigFragment(update);
  const existing = await ctx.core.storage.getApp(appId);
  const next = {
    appId,
    coreConfig: mergeConfig(existing?.coreConfig ?? {}, normalised),
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

export const multitenancyRoutes: Route[] = [
  { method: "PUT", path: "/recipe/multitenancy/app/v2", scope: "base", handler: upsertApp },
  { method: "PUT", path: "/recipe/multitenancy/app", scope: "base", handler: upsertApp },
  {
    method: "POST",
    path: "/recipe/multitenancy/app/remove",
    scope: "base",
    async handler(ctx) {
      const appId = normaliseId(field(ctx.body, "appId", "string", true), "appId");
      if (appId === "public") throw new CoreHttpError(403, "Cannot delete the public app, use remove tenant API instead");
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
      for (const a of apps) out.push({ appId: a.appId, tenants: (await ctx.core.storage.listTenants(a.appId)).map(tenantJson) });
      return ok({ apps: out });
    },
  },
  {
    method: "PUT",
    path: "/recipe/multitenancy/tenant/v2",
    scope: "app",
    async handler(ctx) {
      const tenantId = normaliseId(field(ctx.body, "tenantId", "string", true), "tenantId");
      const existing = await ctx.core.storage.getTenant(ctx.app.appId, tenantId);
      const update = ctx.body.coreConfig == null ? {} : normaliseConfigFragment(field(ctx.body, "coreConfig", "object", true));
      const first = factors(ctx.body, "firstFactors");
      const next: TenantRecord = {
        tenantId,
        coreConfig: mergeConfig(existing?.coreConfig ?? {}, update),
        // A new non-public tenant starts with no first factors unless given (CreateOrUpdateTenantOrGetTenantV2API).
        firstFactors: first !== undefined ? first : existing ? existing.firstFactors : tenantId === "public" ? null : [],
        requiredSecondaryFactors: factors(ctx.body, "requiredSecondaryFactors") ?? existing?.requiredSecondaryFactors ?? null,
      };
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
      const tenantId = normaliseId(field(ctx.body, "tenantId", "string", true), "tenantId");
      if (tenantId === "public") throw new CoreHttpError(403, "Cannot delete public tenant, use remove app API instead");
      return ok({ didExist: await ctx.core.storage.deleteTenant(ctx.app.appId, tenantId) });
    },
  },
];
