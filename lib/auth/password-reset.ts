import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import supertokens from "supertokens-node";
import EmailVerification from "supertokens-node/recipe/emailverification";
import type { APIInterface, APIOptions } from "supertokens-node/recipe/emailpassword";
import { UnavailableError } from "../errors.js";
import { forgetCachedCoreAnswers, normaliseEmail } from "./core-via-sdk.js";
import { moveUser, resumeMove } from "./import-user.js";
import { lockKey } from "./lock.js";
import { authLog, maskEmail } from "./log.js";
import type { LegacyAuthRuntime } from "./runtime.js";

/**
 * Password reset for users who exist only in the legacy table (T15), the Auth0 way: the reset token is issued
 * against the legacy identity and the SuperTokens user is created only when a valid token comes back with the
 * new password. Until then nothing about the account changes, so the old password keeps working, and a fault
 * at any step leaves either nothing or a move that the next attempt finishes (import-user.ts).
 *
 * The token lives in the core, as SuperTokens' own reset tokens do, but as user metadata under an id of its own
 * (never the legacy id, which may hold the app's metadata): `{ v, legacyId, email, tenantId, expiresAt,
 * secretHash }`. Only a SHA-256 of the secret is stored. One row per token, deleted when used, so each works
 * once. A token stays good if its user moves meanwhile (say, signs in with the old password): like a SuperTokens
 * token it proves the mailbox, and it sets the password of the SuperTokens user that now has that email and id.
 */

import type { UserContext } from "../user-context.js";

/** Version 1 of our token format. SuperTokens' own tokens never contain a dot, so the prefix routes by itself. */
const TOKEN_PREFIX = "stm1.";
const ROW_PREFIX = "supertokens-migrate:reset:";
const METADATA_KEY = "supertokensMigrateLegacyReset";
/** SuperTokens' default `password_reset_token_lifetime` (1 h). */
export const LEGACY_RESET_TOKEN_LIFETIME_MS = 3_600_000;

interface TokenRecord {
  v: 1;
  legacyId: string;
  email: string;
  tenantId: string;
  expiresAt: number;
  secretHash: string;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();
const base64url = (bytes: Buffer) => bytes.toString("base64url");

export const isLegacyResetToken = (token: unknown): token is string =>
  typeof token === "string" && token.startsWith(TOKEN_PREFIX);

function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const parts = token.slice(TOKEN_PREFIX.length).split(".");
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]{22}$/.test(parts[0]) || !/^[A-Za-z0-9_-]{43}$/.test(parts[1]))
    return undefined;
  return { tokenId: parts[0], secret: parts[1] };
}

function readRecord(metadata: Record<string, unknown>): TokenRecord | undefined {
  const r = metadata[METADATA_KEY] as Partial<TokenRecord> | undefined;
  if (
    !r ||
    r.v !== 1 ||
    typeof r.legacyId !== "string" ||
    typeof r.email !== "string" ||
    typeof r.tenantId !== "string"
  )
    return undefined;
  if (typeof r.expiresAt !== "number" || typeof r.secretHash !== "string" || !/^[0-9a-f]{64}$/.test(r.secretHash))
    return undefined;
  return r as TokenRecord;
}

export async function issueLegacyResetToken(
  rt: LegacyAuthRuntime,
  input: { legacyId: string; email: string; tenantId: string; userContext?: UserContext },
): Promise<string> {
  const tokenId = base64url(randomBytes(16));
  const secret = base64url(randomBytes(32));
  const record: TokenRecord = {
    v: 1,
    legacyId: input.legacyId,
    email: input.email,
    tenantId: input.tenantId,
    expiresAt: Date.now() + LEGACY_RESET_TOKEN_LIFETIME_MS,
    secretHash: sha256(secret).toString("hex"),
  };
  await rt.core.putMetadata(ROW_PREFIX + tokenId, { [METADATA_KEY]: record }, input.userContext);
  return `${TOKEN_PREFIX}${tokenId}.${secret}`;
}

/** The record a token names, if the token is genuine, unexpired and for this tenant. Consumes nothing. */
async function checkToken(
  rt: LegacyAuthRuntime,
  token: string,
  tenantId: string,
  userContext?: UserContext,
): Promise<{ record: TokenRecord; rowId: string } | undefined> {
  const parsed = parseToken(token);
  if (!parsed) return undefined;
  const rowId = ROW_PREFIX + parsed.tokenId;
  const record = readRecord(await rt.core.getMetadata(rowId, userContext));
  if (!record) return undefined;
  const genuine = timingSafeEqual(sha256(parsed.secret), Buffer.from(record.secretHash, "hex"));
  if (!genuine || record.tenantId !== tenantId) return undefined;
  if (record.expiresAt < Date.now()) {
    await forget(rt, rowId, userContext);
    return undefined;
  }
  return { record, rowId };
}

async function forget(rt: LegacyAuthRuntime, rowId: string, userContext?: UserContext): Promise<void> {
  try {
    await rt.core.removeMetadata(rowId, userContext);
  } catch {
    // Harmless: the row expires, and a token of a moved user is refused anyway.
    authLog("could not delete a used legacy reset token row; it is refused from now on regardless");
  }
}

function resetLink(options: APIOptions, token: string, tenantId: string, userContext: UserContext): string {
  // Same shape as the SDK's getPasswordResetLink, so the frontend's reset page needs no change.
  const origin = options.appInfo
    .getOrigin({
      request: options.req,
      userContext: userContext as Parameters<APIOptions["appInfo"]["getOrigin"]>[0]["userContext"],
    })
    .getAsStringDangerous();
  const basePath = options.appInfo.websiteBasePath.getAsStringDangerous();
  return `${origin}${basePath}/reset-password?token=${token}&tenantId=${encodeURIComponent(tenantId)}`;
}

const formValue = (formFields: { id: string; value: unknown }[], id: string) =>
  formFields.find((f) => f.id === id)?.value;

type GenerateInput = Parameters<NonNullable<APIInterface["generatePasswordResetTokenPOST"]>>[0];
type GenerateResult = Awaited<ReturnType<NonNullable<APIInterface["generatePasswordResetTokenPOST"]>>>;

/**
 * `generatePasswordResetTokenPOST`. SuperTokens handles every email it knows; for a legacy-only email we send the
 * same email with our token. Unknown, ambiguous and legacy-only emails all answer `{ status: "OK" }`.
 */
export async function generateResetToken(
  rt: LegacyAuthRuntime,
  original: NonNullable<APIInterface["generatePasswordResetTokenPOST"]>,
  input: GenerateInput,
): Promise<GenerateResult> {
  const raw = formValue(input.formFields, "email");
  if (!rt.covers(input.tenantId) || typeof raw !== "string") return original(input);
  const { tenantId, userContext } = input;
  const email = normaliseEmail(raw);
  if (await rt.core.emailPasswordUser(tenantId, email, userContext)) return original(input);
  const found = await rt.legacy.byEmail(email, tenantId);
  if (found.kind === "none") return original(input);
  if (found.kind === "unusable" || found.kind === "invalid") {
    authLog("reset for %s: %s; no email sent", maskEmail(email), found.reason);
    return { status: "OK" };
  }
  const legacy = found.user;
  const superTokensId = await rt.core.superTokensIdOf(legacy.id, userContext);
  if (superTokensId !== undefined) {
    // Moved already: finish an interrupted move if there is one, then it is SuperTokens' reset.
    await rt.lock.run(lockKey(tenantId, email), () =>
      resumeMove(rt.core, {
        tenantId,
        email,
        legacyId: legacy.id,
        superTokensId,
        userContext,
        grantRoles: () => rt.grantRoles(tenantId, legacy, userContext),
      }),
    );
    forgetCachedCoreAnswers(userContext);
    return original(input);
  }
  const token = await issueLegacyResetToken(rt, { legacyId: legacy.id, email, tenantId, userContext });
  authLog(
    "reset for legacy user %s: legacy-identity token issued; the account is unchanged until it is used",
    legacy.id,
  );
  await input.options.emailDelivery.ingredientInterfaceImpl.sendEmail({
    tenantId,
    type: "PASSWORD_RESET",
    user: { id: legacy.id, recipeUserId: undefined, email: raw },
    passwordResetLink: resetLink(input.options, token, tenantId, userContext),
    userContext,
  });
  return { status: "OK" };
}

type ResetInput = Parameters<NonNullable<APIInterface["passwordResetPOST"]>>[0];
type ResetResult = Awaited<ReturnType<NonNullable<APIInterface["passwordResetPOST"]>>>;

/**
 * `passwordResetPOST` for our tokens (others go to SuperTokens). The SDK has already checked the new password
 * against the sign-up password policy. The token row is deleted only after the move, so a fault before that
 * leaves the link usable, and a retry finishes whatever the fault interrupted.
 */
export async function consumeResetToken(rt: LegacyAuthRuntime, input: ResetInput): Promise<ResetResult> {
  const invalid = { status: "RESET_PASSWORD_INVALID_TOKEN_ERROR" } as const;
  const { tenantId, userContext } = input;
  const password = formValue(input.formFields, "password");
  if (!rt.covers(tenantId) || typeof password !== "string") return invalid;
  const checked = await checkToken(rt, input.token, tenantId, userContext);
  if (!checked) {
    authLog("legacy reset token refused: unknown, expired, forged or for another tenant");
    return invalid;
  }
  const { record, rowId } = checked;
  const legacy = await rt.legacy.byId(record.legacyId);
  if (!legacy || normaliseEmail(legacy.email) !== record.email) {
    authLog(
      "legacy reset for %s refused: the legacy row is gone or its email changed since the token was issued",
      record.legacyId,
    );
    await forget(rt, rowId, userContext);
    return invalid;
  }

  const outcome = await rt.lock.run(lockKey(tenantId, record.email), async () => {
    const result = await moveUser(rt.core, rt.rawImplementation(), {
      tenantId,
      email: record.email,
      legacyId: legacy.id,
      credential: { kind: "password", password },
      userContext,
      grantRoles: () => rt.grantRoles(tenantId, legacy, userContext),
    });
    if (result.status === "MOVED") return result;
    // Moved since the token was issued (signed in with the old password, or an interrupted earlier completion was
    // just resumed). The token still proves the mailbox, as a SuperTokens token would after a sign-in, provided
    // the SuperTokens user with this email is this legacy user.
    if (result.status === "ALREADY_MOVED") return result;
    const owner = await rt.core.emailPasswordUser(tenantId, record.email, userContext);
    if (owner?.id !== legacy.id) return { status: "ALREADY_MOVED" as const };
    const updated = await rt.core.updateUser(legacy.id, { password }, userContext);
    if (updated !== "OK")
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `legacyAuth: setting the new password failed (${updated})`,
      );
    return { status: "RESUMED" as const, user: owner };
  });
  forgetCachedCoreAnswers(userContext);
  await forget(rt, rowId, userContext);
  if (outcome.status === "ALREADY_MOVED") {
    authLog("legacy reset for %s refused: another SuperTokens user has this email, or the user changed it", legacy.id);
    return invalid;
  }
  await markEmailVerified(legacy.id, record.email, tenantId, userContext);
  const user = (await rt.core.getUser(legacy.id, userContext)) ?? outcome.user;
  authLog(
    "legacy reset for %s completed: %s, with the new password",
    legacy.id,
    outcome.status === "MOVED" ? "moved to SuperTokens" : "already in SuperTokens",
  );
  if (outcome.status === "MOVED") {
    await rt.userMigrated(
      { userId: legacy.id, email: record.email, tenantId, user, via: "passwordReset", hashImported: false },
      { rolesGranted: true },
    );
  }
  return { status: "OK", email: record.email, user: user };
}

/**
 * As SuperTokens does after a reset: following the link proved the mailbox. Only when the app uses EmailVerification.
 */
async function markEmailVerified(
  userId: string,
  email: string,
  tenantId: string,
  userContext: UserContext,
): Promise<void> {
  if (!supertokens.isRecipeInitialized("emailverification")) return;
  const recipeUserId = supertokens.convertToRecipeUserId(userId);
  const created = await EmailVerification.createEmailVerificationToken(tenantId, recipeUserId, email, userContext);
  if (created.status === "OK")
    await EmailVerification.verifyEmailUsingToken(tenantId, created.token, false, userContext);
}
