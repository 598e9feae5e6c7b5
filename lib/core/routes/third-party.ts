import { randomUUID } from "node:crypto";
import { log } from "../../debug.js";
import { ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, field, normaliseEmail, publicTenantOnly, queryParam } from "../http.js";
import type { ThirdPartyUserRecord, UserRecord } from "../storage/types.js";
import {
  findUser,
  loginMethodsOf,
  primaryIdOf,
  primaryUserHolding,
  tenantsOf,
  toReportedId,
  userJson,
} from "../users.js";

const debug = log.extend("core");
const rid = "thirdparty";

/** The tenant's third-party recipe user with this identity (unique per tenant). */
async function findThirdPartyUser(
  ctx: RouteContext,
  thirdPartyId: string,
  thirdPartyUserId: string,
): Promise<ThirdPartyUserRecord | undefined> {
  const found = await ctx.app.storage.findUsersByAccountInfo(
    { thirdParty: { id: thirdPartyId, userId: thirdPartyUserId } },
    ctx.tenantId,
  );
  return found.find((u): u is ThirdPartyUserRecord => u.recipeId === "thirdparty");
}

/**
 * ThirdParty.signInUp: create the tenant's user for this provider identity, or sign it in and take the provider's
 * current email. A primary user's email does not change to one another primary user of its tenants holds. With
 * `isVerified`, the (login method, email) pair is marked verified.
 */
async function signInUp(ctx: RouteContext) {
  const thirdPartyId = field(ctx.body, "thirdPartyId", "string", true);
  const thirdPartyUserId = field(ctx.body, "thirdPartyUserId", "string", true);
  const emailObject = field(ctx.body, "email", "object", true);
  const email = normaliseEmail(field(emailObject, "id", "string", true));
  const isVerified = field(emailObject, "isVerified", "boolean", false) ?? false;
  const { storage } = ctx.app;

  let user: ThirdPartyUserRecord | undefined;
  let createdNewUser = false;
  for (let attempt = 0; user === undefined && attempt < 5; attempt++) {
    user = await findThirdPartyUser(ctx, thirdPartyId, thirdPartyUserId);
    if (user) break;
    const fresh: ThirdPartyUserRecord = {
      id: randomUUID(),
      recipeId: "thirdparty",
      email,
      thirdParty: { id: thirdPartyId, userId: thirdPartyUserId },
      timeJoined: Date.now(),
      tenantIds: [ctx.tenantId],
    };
    // A concurrent sign-up of the same identity wins the insert: sign in as that user instead.
    if ((await storage.insertUser(fresh)) === "OK") {
      user = fresh;
      createdNewUser = true;
    }
  }
  if (!user) throw badRequest("third-party user vanished during sign in; retry");

  if (!createdNewUser && user.email !== email) {
    const methods = await loginMethodsOf(ctx.app, user);
    const primaryId = primaryIdOf(user);
    const tenantIds = tenantsOf(methods);
    // Only the email is checked: a login method holding just the new email.
    const emailOnly = { ...user, recipeId: "passwordless" as const, email, phoneNumber: undefined };
    if (user.isLinkedOrPrimary && (await primaryUserHolding(ctx.app, emailOnly, tenantIds, primaryId))) {
      debug("third-party sign-in: email of %s not changed, another primary user holds it", user.id);
      return status("EMAIL_CHANGE_NOT_ALLOWED_ERROR", {
        reason: "Email already associated with another primary user.",
      });
    }
    await storage.updateUser(user.id, { email });
    user.email = email;
  }
  const recipeUserId = await toReportedId(ctx.app, user.id);
  if (isVerified) await storage.setEmailVerified(recipeUserId, email, true);
  return ok({ createdNewUser, user: await userJson(ctx.app, user), recipeUserId });
}

/** ThirdParty's GET /recipe/user (not called by SDK 24): by `userId`, or by `thirdPartyId` and `thirdPartyUserId`. */
async function getUser(ctx: RouteContext) {
  const userId = queryParam(ctx.query, "userId", false);
  const thirdPartyId = queryParam(ctx.query, "thirdPartyId", false);
  const thirdPartyUserId = queryParam(ctx.query, "thirdPartyUserId", false);
  if (userId !== undefined && (thirdPartyId !== undefined || thirdPartyUserId !== undefined))
    throw badRequest("Please provide only one of userId or (thirdPartyId & thirdPartyUserId)");
  if (userId !== undefined) {
    if (ctx.tenantId !== "public") throw publicTenantOnly();
    const user: UserRecord | undefined = await findUser(ctx.app, userId);
    if (user?.recipeId !== "thirdparty") return status("UNKNOWN_USER_ID_ERROR");
    return ok({ user: await userJson(ctx.app, user) });
  }
  if (thirdPartyId === undefined || thirdPartyUserId === undefined)
    throw badRequest("Please provide one of userId or (thirdPartyId & thirdPartyUserId)");
  const user = await findThirdPartyUser(ctx, thirdPartyId, thirdPartyUserId);
  return user ? ok({ user: await userJson(ctx.app, user) }) : status("UNKNOWN_THIRD_PARTY_USER_ERROR");
}

export const thirdPartyRoutes: Route[] = [
  { method: "POST", path: "/recipe/signinup", scope: "tenant", rid, handler: signInUp },
  { method: "GET", path: "/recipe/user", scope: "tenant", rid, handler: getUser },
];
