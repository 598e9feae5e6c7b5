import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { ok, status, type AppContext, type Route, type RouteContext } from "../context.js";
import { badRequest, field, queryBool, queryParam, tenantNotFound, type Json } from "../http.js";
import type { SessionRecord } from "../storage/types.js";
import {
  hasProtectedClaim,
  mintAccessToken,
  mintRefreshToken,
  parseJwt,
  readRefreshToken,
  sha256hex,
  stripProtected,
  verifyAccessToken,
} from "../tokens.js";
import { findUser, loginMethodsOf, primaryIdOf, toReportedId, toSuperTokensId } from "../users.js";

const protectedFieldError = () => badRequest("The user payload contains protected field");

function sessionJson(
  s: Pick<SessionRecord, "handle" | "userId" | "recipeUserId" | "userDataInJWT" | "tenantId">,
): Json {
  return {
    handle: s.handle,
    userId: s.userId,
    recipeUserId: s.recipeUserId,
    userDataInJWT: s.userDataInJWT,
    tenantId: s.tenantId,
  };
}

const refreshValidityMs = (app: AppContext) => app.config().refresh_token_validity * 60_000;

/** An access token for a session (creation, refresh, promotion on verify, regenerate, which keeps `expSeconds`). */
async function accessTokenFor(
  app: AppContext,
  s: SessionRecord,
  hashes: { refreshTokenHash1: string; parentRefreshTokenHash1: string | null },
  antiCsrfToken: string | null,
  now: number,
  expSeconds?: number,
) {
  const key = await app.keys.signingKey(s.useStaticKey ? "static" : "dynamic", now);
  return mintAccessToken(
    key,
    {
      sub: s.userId,
      rsub: s.recipeUserId,
      tId: s.tenantId,
      sessionHandle: s.handle,
      ...hashes,
      antiCsrfToken,
      userData: s.userDataInJWT,
    },
    app.config().access_token_validity,
    now,
    expSeconds,
  );
}

/** Handles carry `_<tenant>` for non-public tenants; the core reads the tenant back from it. */
async function tenantOfHandle(ctx: RouteContext, handle: string): Promise<void> {
  const i = handle.lastIndexOf("_");
  if (i < 0) return;
  const tenantId = handle.slice(i + 1);
  if (!(await ctx.core.storage.getTenant(ctx.app.appId, tenantId))) throw tenantNotFound(ctx.app.appId, tenantId);
}

async function liveSession(ctx: RouteContext, handle: string): Promise<SessionRecord | undefined> {
  const s = await ctx.app.storage.getSession(handle);
  return s && s.expiry > ctx.now ? s : undefined;
}

const noSession = () => status("UNAUTHORISED", { message: "Session does not exist." });

/** The live session a request names by handle, after the handle's tenant is checked. */
async function liveSessionOfHandle(ctx: RouteContext, handle: string): Promise<SessionRecord | undefined> {
  await tenantOfHandle(ctx, handle);
  return liveSession(ctx, handle);
}

async function createSession({ app, body, tenantId, now }: RouteContext) {
  const userId = field(body, "userId", "string", true);
  const userDataInJWT = field(body, "userDataInJWT", "object", true);
  const userDataInDatabase = field(body, "userDataInDatabase", "object", true);
  const enableAntiCsrf = field(body, "enableAntiCsrf", "boolean", true);
  const useDynamicSigningKey = field(body, "useDynamicSigningKey", "boolean", false) ?? true;
  if (hasProtectedClaim(userDataInJWT)) throw protectedFieldError();

  // Sessions carry the external id whenever a mapping exists at creation (Session.createNewSession).
  const superTokensId = userId === "" ? "" : await toSuperTokensId(app, userId);
  const reportedId = userId === "" ? "" : await toReportedId(app, superTokensId);
  // A linked login method's session belongs to its primary user (sub), the login method is rsub.
  const owner = superTokensId === "" ? undefined : await app.storage.getUser(superTokensId);
  const primaryReportedId = owner?.isLinkedOrPrimary ? await toReportedId(app, primaryIdOf(owner)) : reportedId;
  const handle = tenantId === "public" ? randomUUID() : `${randomUUID()}_${tenantId}`;
  const antiCsrfToken = enableAntiCsrf ? randomUUID() : null;
  const refreshToken = mintRefreshToken(await app.keys.refreshTokenSecret(), {
    sessionHandle: handle,
    userId: reportedId,
    parentRefreshTokenHash1: null,
    antiCsrfToken,
    tenantId,
  });
  const refreshTokenHash1 = sha256hex(refreshToken);
  const record: SessionRecord = {
    handle,
    userId: primaryReportedId,
    recipeUserId: reportedId,
    tenantId,
    userDataInJWT,
    userDataInDatabase,
    refreshTokenHash2: sha256hex(refreshTokenHash1),
    expiry: now + refreshValidityMs(app),
    createdAt: now,
    useStaticKey: !useDynamicSigningKey,
  };
  const accessToken = await accessTokenFor(
    app,
    record,
    { refreshTokenHash1, parentRefreshTokenHash1: null },
    antiCsrfToken,
    now,
  );
  await app.storage.createSession(record);
  const out: Json = {
    session: sessionJson(record),
    accessToken,
    refreshToken: { token: refreshToken, expiry: record.expiry, createdTime: now },
  };
  if (antiCsrfToken) out.antiCsrfToken = antiCsrfToken;
  return ok(out);
}

/** CDI ≤ 5.4 verify (Session.getSession legacy branch), reference §2.3. */
async function verifySession(ctx: RouteContext) {
  const { app, body, now } = ctx;
  const accessToken = field(body, "accessToken", "string", true);
  const antiCsrfToken = field(body, "antiCsrfToken", "string", false);
  const doAntiCsrfCheck = field(body, "doAntiCsrfCheck", "boolean", true);
  const enableAntiCsrf = field(body, "enableAntiCsrf", "boolean", true);
  const checkDatabase = field(body, "checkDatabase", "boolean", false) ?? false;

  const verified = await verifyAccessToken(accessToken, app.keys, now);
  if (verified.status !== "OK") return status("TRY_REFRESH_TOKEN", { message: verified.message });
  const p = verified.payload;
  if (enableAntiCsrf && doAntiCsrfCheck && (typeof p.antiCsrfToken !== "string" || p.antiCsrfToken !== antiCsrfToken)) {
    return status("TRY_REFRESH_TOKEN", { message: "anti-csrf check failed" });
  }
  const handle = p.sessionHandle as string;
  const userData = stripProtected(p);
  const tokenSession = {
    handle,
    userId: p.sub as string,
    recipeUserId: (p.rsub as string | undefined) ?? (p.sub as string),
    userDataInJWT: userData,
    tenantId: (p.tId as string | undefined) ?? "public",
  };
  let stored: SessionRecord | undefined;
  let stale = false;
  if (checkDatabase) {
    stored = await app.storage.getSession(handle);
    if (!stored) return status("UNAUTHORISED", { message: "Either the session has ended or has been blacklisted" });
    stale = !isDeepStrictEqual(userData, stored.userDataInJWT);
  }
  const parent = typeof p.parentRefreshTokenHash1 === "string" ? p.parentRefreshTokenHash1 : null;
  if (parent === null && !stale) return ok({ session: tokenSession });

  stored ??= await app.storage.getSession(handle);
  if (!stored) return status("UNAUTHORISED", { message: "Session missing in db" });
  const own = sha256hex(p.refreshTokenHash1 as string);
  let promoted = false;
  if (parent !== null && sha256hex(parent) === stored.refreshTokenHash2) {
    // The client used the child refresh token's access token: make the child current (promotion).
    promoted = await app.storage.rotateSession(handle, stored.refreshTokenHash2, {
      refreshTokenHash2: own,
      expiry: now + refreshValidityMs(app),
    });
    if (promoted) stored.refreshTokenHash2 = own;
  }
  if (promoted || own === stored.refreshTokenHash2 || stale) {
    const fresh = await accessTokenFor(
      app,
      stored,
      { refreshTokenHash1: p.refreshTokenHash1 as string, parentRefreshTokenHash1: null },
      typeof p.antiCsrfToken === "string" ? p.antiCsrfToken : null,
      now,
    );
    return ok({ session: sessionJson(stored), accessToken: fresh });
  }
  return ok({ session: tokenSession });
}

/** CDI ≤ 5.4 refresh with rotation and theft detection, reference §3.4. */
async function refreshSession(ctx: RouteContext) {
  const { app, body, now } = ctx;
  const refreshToken = field(body, "refreshToken", "string", true);
  const enableAntiCsrf = field(body, "enableAntiCsrf", "boolean", true);
  const antiCsrfToken = field(body, "antiCsrfToken", "string", false);
  const useDynamicSigningKey = field(body, "useDynamicSigningKey", "boolean", false) ?? true;

  const claims = readRefreshToken(await app.keys.refreshTokenSecret(), refreshToken);
  if (!claims) return status("UNAUTHORISED", { message: "Token is invalid" });
  // The anti-CSRF comparison comes before theft detection, as in the core.
  if (enableAntiCsrf && claims.antiCsrfToken !== null && claims.antiCsrfToken !== antiCsrfToken) {
    return status("UNAUTHORISED", { message: "Anti CSRF token missing, or not matching" });
  }
  const hash1 = sha256hex(refreshToken);
  const hash2 = sha256hex(hash1);
  for (let attempt = 0; attempt < 3; attempt++) {
    const s = await app.storage.getSession(claims.sessionHandle);
    if (!s || s.expiry < now) return status("UNAUTHORISED", { message: "Session missing in db or has expired" });
    if (hash2 === s.refreshTokenHash2) {
      if (s.useStaticKey === useDynamicSigningKey) {
        s.useStaticKey = !useDynamicSigningKey;
        await app.storage.updateSession(s.handle, { useStaticKey: s.useStaticKey });
      }
      if (hasProtectedClaim(s.userDataInJWT))
        return status("UNAUTHORISED", { message: "The user payload contains protected field" });
      const childAntiCsrf = enableAntiCsrf ? randomUUID() : null;
      const child = mintRefreshToken(await app.keys.refreshTokenSecret(), {
        sessionHandle: s.handle,
        userId: claims.userId,
        parentRefreshTokenHash1: hash1,
        antiCsrfToken: childAntiCsrf,
        tenantId: s.tenantId,
      });
      const accessToken = await accessTokenFor(
        app,
        s,
        { refreshTokenHash1: sha256hex(child), parentRefreshTokenHash1: hash1 },
        childAntiCsrf,
        now,
      );
      const out: Json = {
        session: sessionJson(s),
        accessToken,
        refreshToken: { token: child, expiry: now + refreshValidityMs(app), createdTime: now },
      };
      if (childAntiCsrf) out.antiCsrfToken = childAntiCsrf;
      return ok(out);
    }
    if (claims.parentRefreshTokenHash1 !== null && sha256hex(claims.parentRefreshTokenHash1) === s.refreshTokenHash2) {
      // An unused child of the current token: promote it, then answer as for the current token.
      await app.storage.rotateSession(s.handle, s.refreshTokenHash2, {
        refreshTokenHash2: hash2,
        expiry: now + refreshValidityMs(app),
      });
      continue;
    }
    return status("TOKEN_THEFT_DETECTED", {
      session: { handle: s.handle, userId: s.userId, recipeUserId: s.recipeUserId },
    });
  }
  return status("UNAUTHORISED", { message: "Concurrent refresh, try again" });
}

async function removeSessions(ctx: RouteContext) {
  const { app, body, now, tenantId } = ctx;
  const hasHandles = body.sessionHandles !== undefined;
  const hasUser = body.userId !== undefined;
  const flags = body.revokeAcrossAllTenants !== undefined || body.revokeSessionsForLinkedAccounts !== undefined;
  if (hasHandles === hasUser || (hasHandles && flags)) {
    throw badRequest("Invalid JSON input - use one of userId or sessionHandles array");
  }
  if (hasHandles) {
    const handles = field(body, "sessionHandles", "array", true);
    if (handles.some((h) => typeof h !== "string"))
      throw badRequest("Field name 'sessionHandles' is invalid in JSON input");
    return ok({ sessionHandlesRevoked: await app.storage.deleteSessions(handles as string[]) });
  }
  const userId = field(body, "userId", "string", true);
  const acrossTenants = field(body, "revokeAcrossAllTenants", "boolean", false) ?? true;
  const linked = field(body, "revokeSessionsForLinkedAccounts", "boolean", false) ?? true;
  const handles = await sessionHandlesOf(ctx, userId, linked, now, acrossTenants ? undefined : tenantId);
  return ok({ sessionHandlesRevoked: await app.storage.deleteSessions(handles) });
}

/**
 * The live sessions of a user: with `linked`, every session of its primary user (any login method); without, only
 * the sessions of this login method (Session.getAllNonExpiredSessionHandlesForUser).
 */
async function sessionHandlesOf(ctx: RouteContext, userId: string, linked: boolean, now: number, tenantId?: string) {
  const { app } = ctx;
  const user = await findUser(app, userId);
  if (!user?.isLinkedOrPrimary || !linked) return app.storage.findSessionHandles([userId], now, tenantId);
  const ids = [await toReportedId(app, primaryIdOf(user))];
  for (const m of await loginMethodsOf(app, user)) ids.push(await toReportedId(app, m.id));
  return app.storage.findSessionHandles([...new Set(ids)], now, tenantId);
}

async function sessionsOfUser(ctx: RouteContext) {
  const userId = queryParam(ctx.query, "userId", true);
  const acrossTenants = queryBool(ctx.query, "fetchAcrossAllTenants", true);
  const linked = queryBool(ctx.query, "fetchSessionsForAllLinkedAccounts", true);
  const handles = await sessionHandlesOf(ctx, userId, linked, ctx.now, acrossTenants ? undefined : ctx.tenantId);
  return ok({ sessionHandles: handles });
}

export const sessionRoutes: Route[] = [
  { method: "POST", path: "/recipe/session", scope: "tenant", handler: createSession },
  {
    method: "GET",
    path: "/recipe/session",
    scope: "app",
    async handler(ctx) {
      const handle = queryParam(ctx.query, "sessionHandle", true);
      const s = await liveSessionOfHandle(ctx, handle);
      if (!s) return noSession();
      return ok({
        sessionHandle: s.handle,
        userId: s.userId,
        recipeUserId: s.recipeUserId,
        userDataInDatabase: s.userDataInDatabase,
        expiry: s.expiry,
        userDataInJWT: s.userDataInJWT,
        timeCreated: s.createdAt,
        tenantId: s.tenantId,
      });
    },
  },
  { method: "POST", path: "/recipe/session/verify", scope: "app", handler: verifySession },
  { method: "POST", path: "/recipe/session/refresh", scope: "app", handler: refreshSession },
  { method: "POST", path: "/recipe/session/remove", scope: "tenant", handler: removeSessions },
  { method: "GET", path: "/recipe/session/user", scope: "tenant", handler: sessionsOfUser },
  {
    method: "POST",
    path: "/recipe/session/regenerate",
    scope: "app",
    async handler(ctx) {
      const { app, body, now } = ctx;
      const accessToken = field(body, "accessToken", "string", true);
      const update = field(body, "userDataInJWT", "object", false);
      // Regenerate only parses the token; the signature is not checked here (SessionRegenerateAPI).
      const jwt = parseJwt(accessToken);
      const handle = jwt?.payload.sessionHandle;
      if (!jwt || typeof handle !== "string") return noSession();
      const s = await liveSession(ctx, handle);
      if (!s) return noSession();
      if (update) {
        if (hasProtectedClaim(update)) throw protectedFieldError();
        s.userDataInJWT = update;
        await app.storage.updateSession(handle, { userDataInJWT: update });
      }
      const p = jwt.payload;
      if (typeof p.exp !== "number" || p.exp * 1000 < now) return ok({ session: sessionJson(s) });
      const fresh = await accessTokenFor(
        app,
        s,
        {
          refreshTokenHash1: String(p.refreshTokenHash1),
          parentRefreshTokenHash1: typeof p.parentRefreshTokenHash1 === "string" ? p.parentRefreshTokenHash1 : null,
        },
        typeof p.antiCsrfToken === "string" ? p.antiCsrfToken : null,
        now,
        p.exp,
      );
      return ok({ session: sessionJson(s), accessToken: fresh });
    },
  },
  {
    method: "PUT",
    path: "/recipe/session/data",
    scope: "app",
    async handler(ctx) {
      const handle = field(ctx.body, "sessionHandle", "string", true);
      const data = field(ctx.body, "userDataInDatabase", "object", true);
      if (!(await liveSessionOfHandle(ctx, handle))) return noSession();
      await ctx.app.storage.updateSession(handle, { userDataInDatabase: data });
      return ok();
    },
  },
  {
    method: "PUT",
    path: "/recipe/jwt/data",
    scope: "app",
    async handler(ctx) {
      const handle = field(ctx.body, "sessionHandle", "string", true);
      const data = field(ctx.body, "userDataInJWT", "object", true);
      if (hasProtectedClaim(data)) throw protectedFieldError();
      if (!(await liveSessionOfHandle(ctx, handle))) return noSession();
      await ctx.app.storage.updateSession(handle, { userDataInJWT: data });
      return ok();
    },
  },
];
