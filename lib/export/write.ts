import { once } from "node:events";
import type { Writable } from "node:stream";
import type { ExportedKey } from "./keys.js";
import type { ExportedResetToken, ExportedUser } from "./read.js";

/**
 * Version of the export files (NDJSON header and trailer, CSV `export_version` column). Bump on any breaking change.
 * 2: account linking. `userId` and `superTokensUserId` are the primary user's for a linked login, and the new
 * `recipeUserId` (CSV: `recipe_user_id`, the last column) names the login itself.
 */
/**
 * 3: third-party and passwordless logins. A `user` record per login of every recipe, with `recipeId`
 * ("emailpassword", "thirdparty", "passwordless"), `thirdParty` ({ id, userId } or null) and `phoneNumber`;
 * `passwordHash` and `passwordHashFormat` are null for a login without a password, and `email` is null for a
 * passwordless login by phone. CSV: `recipe_id`, `third_party_id`, `third_party_user_id`, `phone_number` after
 * `recipe_user_id`.
 */
export const exportFormatVersion = 3;
export const exportFormatName = "supertokens-migrate-export";

/** Write with backpressure: a slow disk or pipe holds the reader back instead of buffering the whole export. */
export async function writeChunk(out: Writable, chunk: string): Promise<void> {
  if (chunk === "" || out.write(chunk)) return;
  await once(out, "drain");
}

/** RFC 4180: quote a field holding a comma, quote, CR or LF, doubling inner quotes. */
export function csvField(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = "";
  else if (typeof value === "string") s = value;
  else if (typeof value === "object") s = JSON.stringify(value);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- what is left: numbers, bigints and booleans
  else s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvRow = (fields: unknown[]): string => `${fields.map(csvField).join(",")}\r\n`;

export const ndjsonLine = (record: Record<string, unknown>): string => `${JSON.stringify(record)}\n`;

export const userCsvColumns = [
  "export_version",
  "user_id",
  "supertokens_user_id",
  "email",
  "password_hash",
  "password_hash_format",
  "time_joined",
  "email_verified",
  "tenant_ids",
  "metadata",
  "roles",
  "external_user_id_info",
  "recipe_user_id",
  "recipe_id",
  "third_party_id",
  "third_party_user_id",
  "phone_number",
] as const;

export const userCsv = (u: ExportedUser): string =>
  csvRow([
    exportFormatVersion,
    u.userId,
    u.superTokensUserId,
    u.email,
    u.passwordHash,
    u.passwordHashFormat,
    u.timeJoined,
    u.emailVerified,
    u.tenantIds,
    u.metadata,
    u.roles,
    u.externalUserIdInfo,
    u.recipeUserId,
    u.recipeId,
    u.thirdParty?.id,
    u.thirdParty?.userId,
    u.phoneNumber,
  ]);

export const tokenCsvColumns = [
  "export_version",
  "user_id",
  "supertokens_user_id",
  "email",
  "token_hash",
  "token_hash_algorithm",
  "expires_at",
  "recipe_user_id",
] as const;

export const tokenCsv = (t: ExportedResetToken): string =>
  csvRow([
    exportFormatVersion,
    t.userId,
    t.superTokensUserId,
    t.email,
    t.tokenHash,
    t.tokenHashAlgorithm,
    t.expiresAt,
    t.recipeUserId,
  ]);

export const keyCsvColumns = [
  "export_version",
  "kid",
  "kind",
  "algorithm",
  "created_at",
  "public_key_pem",
  "private_key_pem",
  "public_jwk",
] as const;

export const keyCsv = (k: ExportedKey): string =>
  csvRow([exportFormatVersion, k.kid, k.kind, k.algorithm, k.createdAt, k.publicKeyPem, k.privateKeyPem, k.publicJwk]);
