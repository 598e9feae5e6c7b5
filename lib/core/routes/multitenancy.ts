import { idPattern, ok, reservedTenantIds, status, type Route, type RouteContext } from "../context.js";
import { mergeConfig, normaliseConfigFragment } from "../config.js";
import { badRequest, CoreHttpError, field, type Json } from "../http.js";
import type { TenantRecord } from "../storage/types.js";

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
  const out: Json = { tenantId: t.tenantId, thirdParty: { providers: [] }, coreConfig: t.coreConfig };
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

export const multitenancyRoutes: Route[] = [
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
