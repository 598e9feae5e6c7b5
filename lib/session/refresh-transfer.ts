import type { IncomingMessage, ServerResponse } from "node:http";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { wrapRequest, wrapResponse } from "supertokens-node/framework/express";
import { isMigrateError, UnavailableError } from "../errors.js";
import { withDeadline } from "../deadline.js";
import type { OverrideGlobalClaimValidators } from "./options.js";
import { putAccessToken, type TokenTransfer } from "./transfer.js";

/** The refresh token a transfer hands the client: the `sRefreshToken` cookie, or the `st-refresh-token` header. */
function refreshTokenOf(t: TokenTransfer): string | undefined {
  const header = t.headers.find(([name]) => name === "st-refresh-token")?.[1];
  if (header) return header;
  for (const line of t.setCookies) {
    const match = /^sRefreshToken=([^;]*)/.exec(line);
    if (match && match[1]) return decodeURIComponent(match[1]);
  }
  return undefined;
}

/**
 * A transfer whose access token expired before this request could verify it: the migration took longer than
 * the token's validity (a machine too busy to finish creating the session, fetching the signing keys and
 * verifying within it, or a reuse late in the grace window). The client holds nothing else, so answering
 * "try refresh token" to a request that only carried a legacy cookie would sign out every client that is not
 * SuperTokens' own frontend (a page load, a plain fetch). The transfer still holds the session's refresh token:
 * refresh it here, exactly as the client would, and put the refreshed tokens on this response.
 *
 * The refreshed session is served as the refresh endpoint serves it: not verified again through the core,
 * because that verification promotes the new refresh token, and a request still carrying the published
 * transfer (refresh token of the previous generation) would then be taken for token theft and revoke the
 * session. The client promotes it with its next request, as after any refresh. Claims are still checked.
 *
 * A core that does not answer within `timeoutMs` is a 503 (retry), never "no session"; SuperTokens' own errors
 * (the session was revoked meanwhile, token theft, invalid claims) are passed on for the SDK's error handler.
 */
export async function refreshedSession(
  req: IncomingMessage,
  res: ServerResponse,
  t: TokenTransfer,
  options: { timeoutMs: number; retryAfter: number; overrideGlobalClaimValidators?: OverrideGlobalClaimValidators },
): Promise<SessionContainer> {
  const { timeoutMs, retryAfter } = options;
  const refreshToken = refreshTokenOf(t);
  if (refreshToken === undefined) {
    throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "the new session's access token expired before it was verified", {
      retryAfter,
    });
  }
  const deadline = <T>(promise: Promise<T>, what: string) =>
    withDeadline(promise, timeoutMs, what).catch((err: unknown) => {
      if (Session.Error.isErrorFromSuperTokens(err)) throw err;
      const cause = isMigrateError(err) ? "did not answer in time" : "is unavailable";
      throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core ${cause} (${what})`, {
        cause: err,
        retryAfter,
      });
    });
  // The anti-CSRF check protects a refresh the browser sends; this one is ours, with a token we just minted.
  const session = await deadline(Session.refreshSessionWithoutRequestResponse(refreshToken, true), "session refresh");
  const checked = await deadline(
    Session.validateClaimsForSessionHandle(session.getHandle(), options.overrideGlobalClaimValidators),
    "claim validation",
  );
  if (checked.status !== "OK") {
    throw new Session.Error({
      type: Session.Error.UNAUTHORISED,
      message: "session revoked during its migration",
      payload: { clearTokens: true },
    });
  }
  if (checked.invalidClaims.length > 0) {
    throw new Session.Error({
      type: Session.Error.INVALID_CLAIMS,
      message: "invalid claims",
      payload: checked.invalidClaims,
    });
  }
  await session.attachToRequestResponse({ req: wrapRequest(req), res: wrapResponse(res), transferMethod: t.transport });
  // As replayTransfer does: route code that reads the request's token sees the one the client now holds.
  const fresh = session.getAccessToken();
  putAccessToken(req, t.transport, fresh);
  return session;
}
