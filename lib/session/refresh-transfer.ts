import { ServerResponse, type IncomingMessage } from "node:http";
import Session from "supertokens-node/recipe/session";
import { wrapRequest, wrapResponse } from "supertokens-node/framework/express";
import { isMigrateError, UnavailableError } from "../errors.js";
import { withDeadline } from "./deadline.js";
import { captureTransfer, type TokenTransfer } from "./transfer.js";

/** The refresh token a transfer hands the client: the `sRefreshToken` cookie, or the `st-refresh-token` header. */
export function refreshTokenOf(t: TokenTransfer): string | undefined {
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
 * refresh it here, exactly as the client would, and hand the client the refreshed tokens instead.
 *
 * A core that does not answer within `timeoutMs` is a 503 (retry), never "no session"; SuperTokens' own errors
 * (the session was revoked meanwhile, token theft) are passed on for the SDK's error handler to answer.
 */
export async function refreshTransfer(req: IncomingMessage, t: TokenTransfer, timeoutMs: number, retryAfter: number): Promise<TokenTransfer> {
  const refreshToken = refreshTokenOf(t);
  if (refreshToken === undefined) {
    throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "the new session's access token expired before it was verified", { retryAfter });
  }
  // The anti-CSRF check protects a refresh the browser sends; this one is ours, with a token we just minted.
  const refreshing = Session.refreshSessionWithoutRequestResponse(refreshToken, true);
  let session: Awaited<typeof refreshing>;
  try {
    session = await withDeadline(refreshing, timeoutMs, "SuperTokens session refresh");
  } catch (err) {
    if (Session.Error.isErrorFromSuperTokens(err)) throw err;
    const cause = isMigrateError(err) ? "did not answer in time" : "is unavailable";
    throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core ${cause} (session refresh)`, { cause: err, retryAfter });
  }
  const scratch = new ServerResponse(req);
  await session.attachToRequestResponse({ req: wrapRequest(req), res: wrapResponse(scratch), transferMethod: t.transport });
  return captureTransfer(scratch, [], { handle: session.getHandle(), userId: session.getUserId(), accessToken: session.getAccessToken() });
}
