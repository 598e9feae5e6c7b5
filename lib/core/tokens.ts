import { createHash, createHmac, randomUUID, sign, timingSafeEqual, verify } from "node:crypto";
import type { KeyRing, LoadedKey } from "./keys.js";

export const sha256hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** Claims the core owns; a user payload that sets one is refused (reference §3.2). */
export const protectedClaims = [
  "sub",
  "exp",
  "iat",
  "sessionHandle",
  "refreshTokenHash1",
  "parentRefreshTokenHash1",
  "antiCsrfToken",
  "tId",
  "rsub",
] as const;

export function hasProtectedClaim(payload: Record<string, unknown>): boolean {
  return protectedClaims.some((k) => k in payload);
}

export function stripProtected(payload: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(payload)) if (!(protectedClaims as readonly string[]).includes(k)) out[k] = v;
  return out;
}

export interface AccessTokenClaims {
  sub: string;
  rsub: string;
  tId: string;
  sessionHandle: string;
  refreshTokenHash1: string;
  parentRefreshTokenHash1: string | null;
  antiCsrfToken: string | null;
  userData: Record<string, unknown>;
}

export interface TokenInfo {
  token: string;
  /** ms, whole seconds: always exp × 1000 */
  expiry: number;
  createdTime: number;
}

/** Mint a v5 access token. `expSeconds` keeps an existing expiry (regenerate keeps `exp`). */
export function mintAccessToken(
  key: LoadedKey,
  claims: AccessTokenClaims,
  validitySeconds: number,
  now: number,
  expSeconds?: number,
): TokenInfo {
  const iat = Math.floor(now / 1000);
  const exp = expSeconds ?? iat + validitySeconds;
  const payload = {
    ...claims.userData,
    sub: claims.sub,
    exp,
    iat,
    tId: claims.tId,
    rsub: claims.rsub,
    sessionHandle: claims.sessionHandle,
    refreshTokenHash1: claims.refreshTokenHash1,
    parentRefreshTokenHash1: claims.parentRefreshTokenHash1,
    antiCsrfToken: claims.antiCsrfToken,
  };
  const input = `${key.accessTokenHeader}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  const signature = sign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
  return { token: `${input}.${signature}`, expiry: exp * 1000, createdTime: iat * 1000 };
}

export interface ParsedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Parse without checking the signature; undefined for anything that is not a JWS with JSON parts. */
export function parseJwt(token: string): ParsedJwt | undefined {
  if (typeof token !== "string" || token.length > 16_384) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    const payload: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null)
      return undefined;
    return {
      header: header as Record<string, unknown>,
      payload: payload as Record<string, unknown>,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2], "base64url"),
    };
  } catch {
    return undefined;
  }
}

export type VerifiedAccessToken =
  { status: "OK"; payload: Record<string, unknown> } | { status: "TRY_REFRESH_TOKEN"; message: string };

/**
 * The core's verify step 1 (reference §2.3): signature by kid, structure, expiry. A header without `version`
 * is read as v5, as the core does (tokens from POST /recipe/jwt have none).
 */
export async function verifyAccessToken(token: string, keys: KeyRing, now: number): Promise<VerifiedAccessToken> {
  const jwt = parseJwt(token);
  if (!jwt) return { status: "TRY_REFRESH_TOKEN", message: "Invalid JWT" };
  const { header, payload } = jwt;
  if (header.alg !== "RS256" || typeof header.kid !== "string")
    return { status: "TRY_REFRESH_TOKEN", message: "Invalid JWT header" };
  if (header.version !== undefined && (typeof header.version !== "string" || Number(header.version) < 3)) {
    return { status: "TRY_REFRESH_TOKEN", message: "Invalid access token version" };
  }
  const key = await keys.byKid(header.kid, now);
  if (!key || !verify("sha256", Buffer.from(jwt.signingInput), key.publicKey, jwt.signature)) {
    return { status: "TRY_REFRESH_TOKEN", message: "Invalid JWT signature" };
  }
  for (const k of ["sub", "sessionHandle", "refreshTokenHash1"]) {
    if (typeof payload[k] !== "string")
      return {
        status: "TRY_REFRESH_TOKEN",
        message: `Access token does not contain all the necessary information: ${k}`,
      };
  }
  if (typeof payload.exp !== "number" || typeof payload.iat !== "number") {
    return { status: "TRY_REFRESH_TOKEN", message: "Access token does not contain all the necessary information: exp" };
  }
  if (payload.exp * 1000 < now) return { status: "TRY_REFRESH_TOKEN", message: "Access token expired" };
  return { status: "OK", payload };
}

export interface RefreshTokenClaims {
  sessionHandle: string;
  userId: string;
  parentRefreshTokenHash1: string | null;
  antiCsrfToken: string | null;
  tenantId: string;
  nonce: string;
}

/**
 * Refresh tokens are opaque to the SDK. The real core encrypts them (AES-GCM); the dev core signs them instead
 * (HMAC-SHA256 over the JSON claims): integrity is what rotation and theft detection need. A deliberate
 * difference, listed in docs/dev-core.md ("Deliberate differences from the real core").
 */
export function mintRefreshToken(secret: Buffer, claims: Omit<RefreshTokenClaims, "nonce">): string {
  const body = Buffer.from(JSON.stringify({ ...claims, nonce: randomUUID() })).toString("base64url");
  const mac = createHmac("sha256", secret).update(body).digest("base64url");
  return `${body}.${mac}.V2`;
}

export function readRefreshToken(secret: Buffer, token: string): RefreshTokenClaims | undefined {
  if (typeof token !== "string" || token.length > 8192) return undefined;
  const parts = token.split(".");
  if (parts.length !== 3 || parts[2] !== "V2") return undefined;
  const expected = createHmac("sha256", secret).update(parts[0]).digest();
  const given = Buffer.from(parts[1], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as RefreshTokenClaims;
    return typeof claims.sessionHandle === "string" ? claims : undefined;
  } catch {
    return undefined;
  }
}
