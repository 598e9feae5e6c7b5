import { randomBytes } from "node:crypto";
import { ok, status, type Route } from "../context.js";
import { badRequest, field, normaliseEmail, queryParam, type Json } from "../http.js";
import { sha256hex } from "../tokens.js";

const rid = "emailverification";

/** The body's `userId` and normalised `email`. */
const userAndEmail = (body: Json) => ({
  userId: field(body, "userId", "string", true),
  email: normaliseEmail(field(body, "email", "string", true)),
});

/**
 * Email verification is keyed by the id as given, which is the external id once a mapping exists (the SDK
 * sends recipe user ids, and user id mapping moves these rows on creation).
 */
export const emailVerificationRoutes: Route[] = [
  {
    method: "POST",
    path: "/recipe/user/email/verify/token",
    scope: "tenant",
    rid,
    async handler({ app, body, tenantId }) {
      const { userId, email } = userAndEmail(body);
      if (await app.storage.isEmailVerified(userId, email)) return status("EMAIL_ALREADY_VERIFIED_ERROR");
      // EmailVerification.generateEmailVerificationToken: 48 random bytes, base64url.
      const token = randomBytes(48).toString("base64url");
      await app.storage.addEmailVerificationToken({
        tokenHash: sha256hex(token),
        userId,
        email,
        tenantId,
        expiry: Date.now() + app.config().email_verification_token_lifetime,
      });
      return ok({ token });
    },
  },
  {
    method: "POST",
    path: "/recipe/user/email/verify",
    scope: "tenant",
    rid,
    async handler({ app, body }) {
      const method = field(body, "method", "string", true);
      const token = field(body, "token", "string", true);
      if (method !== "token") throw badRequest("Unsupported method for email verification");
      // Consuming deletes every token of that (user, email), expired or not, before the expiry check.
      const row = await app.storage.consumeEmailVerificationToken(sha256hex(token));
      if (!row || row.expiry < Date.now()) return status("EMAIL_VERIFICATION_INVALID_TOKEN_ERROR");
      await app.storage.setEmailVerified(row.userId, row.email, true);
      return ok({ userId: row.userId, email: row.email });
    },
  },
  {
    method: "GET",
    path: "/recipe/user/email/verify",
    scope: "app",
    rid,
    async handler({ app, query }) {
      const userId = queryParam(query, "userId", true);
      // The core does not normalise the email here (VerifyEmailAPI.doGet); the SDK sends the stored one.
      const email = queryParam(query, "email", true);
      return ok({ isVerified: await app.storage.isEmailVerified(userId, email) });
    },
  },
  {
    method: "POST",
    path: "/recipe/user/email/verify/remove",
    scope: "app",
    rid,
    async handler({ app, body }) {
      const { userId, email } = userAndEmail(body);
      await app.storage.setEmailVerified(userId, email, false);
      return ok();
    },
  },
  {
    method: "POST",
    path: "/recipe/user/email/verify/token/remove",
    scope: "tenant",
    rid,
    async handler({ app, body }) {
      const { userId, email } = userAndEmail(body);
      await app.storage.deleteEmailVerificationTokens(userId, email);
      return ok();
    },
  },
];
