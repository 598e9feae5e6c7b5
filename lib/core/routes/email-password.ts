import { randomBytes, randomUUID } from "node:crypto";
import { atLeastCdi4, ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, CoreHttpError, field, normaliseEmail, publicTenantOnly, queryParam } from "../http.js";
import { assertImportable, hashForApp, verifyForApp } from "../passwords.js";
import type { UserRecord } from "../storage/types.js";
import { sha256hex } from "../tokens.js";
import { findUser, isFakeEmail, toReportedId, userJson } from "../users.js";

const rid = "emailpassword";

/**
 * EmailPassword.generatePasswordResetToken: 64 random bytes through PBKDF2, hex, then base64 with `=`, `/` and
 * `+` removed. The PBKDF2 step adds nothing to 48 fresh random bytes, so we hex those directly: same alphabet and
 * length (~128 chars).
 */
const resetToken = () => Buffer.from(randomBytes(48).toString("hex")).toString("base64").replace(/[=/+]/g, "");

/** A new email-password user in the request's tenant (sign-up and hash import). */
function newUser(ctx: RouteContext, email: string, passwordHash: string): UserRecord {
  return {
    id: randomUUID(),
    recipeId: "emailpassword",
    email,
    passwordHash,
    timeJoined: Date.now(),
    tenantIds: [ctx.tenantId],
  };
}

async function signUp(ctx: RouteContext) {
  const email = normaliseEmail(field(ctx.body, "email", "string", true));
  const password = field(ctx.body, "password", "string", true);
  if (password === "") throw badRequest("Password cannot be an empty string");
  const user = newUser(ctx, email, await hashForApp(ctx.app.config(), password));
  if ((await ctx.app.storage.insertUser(user)) === "EMAIL_ALREADY_EXISTS") return status("EMAIL_ALREADY_EXISTS_ERROR");
  if (isFakeEmail(email)) await ctx.app.storage.setEmailVerified(user.id, email, true);
  return ok({ user: await userJson(ctx.app, user), recipeUserId: user.id });
}

async function signIn(ctx: RouteContext) {
  const email = normaliseEmail(field(ctx.body, "email", "string", true));
  const password = field(ctx.body, "password", "string", true);
  const [user] = await ctx.app.storage.findUsersByEmail(email, ctx.tenantId);
  if (!user || !(await verifyForApp(ctx.app.config(), password, user.passwordHash)))
    return status("WRONG_CREDENTIALS_ERROR");
  return ok({ user: await userJson(ctx.app, user), recipeUserId: await toReportedId(ctx.app, user.id) });
}

async function createResetToken(ctx: RouteContext) {
  const userId = field(ctx.body, "userId", "string", true);
  // The core checks neither the recipe nor that the email is the user's: the SDK does (§2.4).
  const user = await findUser(ctx.app, userId);
  if (!user) return status("UNKNOWN_USER_ID_ERROR");
  const email = atLeastCdi4(ctx.cdiVersion) ? field(ctx.body, "email", "string", true) : (user.email ?? "");
  const token = resetToken();
  await ctx.app.storage.addResetToken({
    tokenHash: sha256hex(token),
    userId: user.id,
    email,
    tenantId: ctx.tenantId,
    expiry: Date.now() + ctx.app.config().password_reset_token_lifetime,
  });
  return ok({ token });
}

async function consumeResetToken(ctx: RouteContext) {
  const token = field(ctx.body, "token", "string", true);
  // Consuming deletes every token of the user, expired or not, before the expiry check (§7.13).
  const row = await ctx.app.storage.consumeResetToken(sha256hex(token));
  if (!row || row.expiry < Date.now()) return status("RESET_PASSWORD_INVALID_TOKEN_ERROR");
  return ok({ userId: await toReportedId(ctx.app, row.userId), email: row.email });
}

async function updateUser(ctx: RouteContext) {
  const id = field(ctx.body, atLeastCdi4(ctx.cdiVersion) ? "recipeUserId" : "userId", "string", true);
  const rawEmail = field(ctx.body, "email", "string", false);
  const password = field(ctx.body, "password", "string", false);
  if (rawEmail === undefined && password === undefined)
    throw badRequest("You have to provide either email or password.");
  const user = await findUser(ctx.app, id);
  if (!user) return status("UNKNOWN_USER_ID_ERROR");
  const patch: { email?: string; passwordHash?: string } = {};
  if (rawEmail !== undefined) patch.email = normaliseEmail(rawEmail);
  if (password !== undefined) patch.passwordHash = await hashForApp(ctx.app.config(), password);
  // The storage treats "same email as now" as no change, which resetPasswordUsingToken relies on (§7.12).
  const result = await ctx.app.storage.updateUser(user.id, patch);
  if (result === "UNKNOWN_USER") return status("UNKNOWN_USER_ID_ERROR");
  if (result === "EMAIL_ALREADY_EXISTS") return status("EMAIL_ALREADY_EXISTS_ERROR");
  return ok();
}

async function importPasswordHash(ctx: RouteContext) {
  const email = normaliseEmail(field(ctx.body, "email", "string", true));
  const rawHash = field(ctx.body, "passwordHash", "string", true);
  const algorithm = field(ctx.body, "hashingAlgorithm", "string", false);
  const { passwordHash } = assertImportable(ctx.app.config(), rawHash, algorithm);
  const user = newUser(ctx, email, passwordHash);
  if ((await ctx.app.storage.insertUser(user)) === "OK") {
    return ok({ user: await userJson(ctx.app, user), didUserAlreadyExist: false });
  }
  // Only the hash of the existing user in this tenant is replaced.
  const [existing] = await ctx.app.storage.findUsersByEmail(email, ctx.tenantId);
  if (!existing) throw new CoreHttpError(500, "email-password user vanished during import");
  await ctx.app.storage.updateUser(existing.id, { passwordHash });
  return ok({ user: await userJson(ctx.app, existing), didUserAlreadyExist: true });
}

/** Deprecated (not called by SDK 24): by email it is tenant-specific, by id app-specific. */
async function getUser(ctx: RouteContext) {
  const userId = queryParam(ctx.query, "userId", false);
  const email = queryParam(ctx.query, "email", false);
  if (userId !== undefined && email !== undefined) throw badRequest("Please provide only one of userId or email");
  if (userId === undefined && email === undefined) throw badRequest("Please provide one of userId or email");
  if (userId !== undefined) {
    if (ctx.tenantId !== "public") throw publicTenantOnly();
    const user = await findUser(ctx.app, userId);
    return user ? ok({ user: await userJson(ctx.app, user) }) : status("UNKNOWN_USER_ID_ERROR");
  }
  const [user] = await ctx.app.storage.findUsersByEmail(normaliseEmail(email!), ctx.tenantId);
  return user ? ok({ user: await userJson(ctx.app, user) }) : status("UNKNOWN_EMAIL_ERROR");
}

export const emailPasswordRoutes: Route[] = [
  { method: "POST", path: "/recipe/signup", scope: "tenant", rid, handler: signUp },
  { method: "POST", path: "/recipe/signin", scope: "tenant", rid, handler: signIn },
  { method: "POST", path: "/recipe/user/password/reset/token", scope: "tenant", rid, handler: createResetToken },
  {
    method: "POST",
    path: "/recipe/user/password/reset/token/consume",
    scope: "tenant",
    rid,
    handler: consumeResetToken,
  },
  { method: "PUT", path: "/recipe/user", scope: "app", rid, handler: updateUser },
  { method: "GET", path: "/recipe/user", scope: "tenant", rid, handler: getUser },
  { method: "POST", path: "/recipe/user/passwordhash/import", scope: "tenant", rid, handler: importPasswordHash },
];
