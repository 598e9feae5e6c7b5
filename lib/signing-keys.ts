import { log } from "./debug.js";
import { withDeadline } from "./deadline.js";
import { sdkAccessTokenKeySet, type JwsHeader } from "./sdk-internals.js";

const debug = log.extend("signing-keys");

type RequestHeaders = { headers: Record<string, string | string[] | undefined> };

/**
 * After a TRY_REFRESH_TOKEN: throws the 503 error when the SDK's key set cannot get the keys of the request's access
 * tokens because the core is unreachable (an app restarted during an outage has no JWKS cached). A key the JWKS does
 * not have, or a key found, means the token itself failed (expired, bad signature, anti-CSRF): no throw. The SDK
 * fetches only when it would have (none cached, stale, or an unknown kid outside jose's cooldown).
 */
export async function assertSigningKeysReachable(
  req: RequestHeaders,
  timeoutMs: number,
  unavailable: (what: string, cause: unknown) => Error,
): Promise<void> {
  const headers = accessTokenHeaders(req);
  if (headers.length === 0) return;
  const keys = sdkAccessTokenKeySet();
  for (const header of headers) {
    try {
      await withDeadline(keys(header), timeoutMs, "SuperTokens JWKS");
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      if (code === "ERR_JWKS_NO_MATCHING_KEY" || code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") continue;
      debug("the SuperTokens JWKS could not be fetched: %s", (err as Error)?.message);
      throw unavailable("JWKS", err);
    }
  }
}

/** The protected headers of the JWTs a request carries where the SDK looks for access tokens (unverified). */
function accessTokenHeaders(req: RequestHeaders): JwsHeader[] {
  const tokens: string[] = [];
  const auth = req.headers.authorization;
  if (typeof auth === "string" && /^bearer /i.test(auth)) tokens.push(auth.slice(7).trim());
  const cookie = req.headers.cookie;
  if (typeof cookie === "string") {
    for (const part of cookie.split(";")) {
      const eq = part.indexOf("=");
      if (eq > 0 && part.slice(0, eq).trim() === "sAccessToken") tokens.push(part.slice(eq + 1).trim());
    }
  }
  const found: JwsHeader[] = [];
  for (const token of tokens.slice(0, 3)) {
    try {
      const header = JSON.parse(Buffer.from(token.split(".")[0] ?? "", "base64url").toString("utf8")) as unknown;
      if (typeof header === "object" && header !== null && typeof (header as JwsHeader).kid === "string") {
        found.push(header as JwsHeader);
      }
    } catch {
      // not a JWT: the SDK ignored it too
    }
  }
  return found;
}
