import type { IncomingMessage, ServerResponse } from "node:http";
import Session from "supertokens-node/recipe/session";
import type { SessionContainer } from "supertokens-node/recipe/session";
import { errorHandler as superTokensErrorHandler } from "supertokens-node/framework/express";
import { log } from "../debug.js";
import { UnavailableError, isMigrateError } from "../errors.js";
import { withDeadline } from "../deadline.js";
import type { Middleware } from "../middleware-type.js";
import { sendUnavailable } from "../unavailable.js";
import { resolveLeaveOptions, type LeaveSuperTokensOptions } from "./options.js";

export type { LeaveSuperTokensOptions } from "./options.js";

/** supertokens-node's Express error handler's arguments: (err, Express Request, Express Response, next). */
type SdkErrorHandlerArgs = Parameters<ReturnType<typeof superTokensErrorHandler>>;

const debug = log.extend("leave");

/**
 * The way back: middleware for an app leaving SuperTokens. A request with a valid SuperTokens session and no
 * session of the new system gets one for the same user id, created first; only then is the SuperTokens session
 * revoked and its cookies cleared, so a failure at any step leaves the user signed in (T11, T23).
 */
export function leaveSuperTokens(options: LeaveSuperTokensOptions): Middleware {
  const { timeoutMs, retryAfterSeconds: retryAfter, graceMs } = resolveLeaveOptions(options);
  /** handle -> time it was converted, for the page load's other requests. */
  const converted = new Map<string, number>();

  return async function leaveSuperTokensMiddleware(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): Promise<void> {
    try {
      if (await options.hasSession(req)) return next();
      let session: SessionContainer | undefined;
      try {
        session = await Session.getSession(req, res, { sessionRequired: false, antiCsrfCheck: false });
      } catch (err) {
        if (Session.Error.isErrorFromSuperTokens(err) && (err as { type: string }).type === Session.Error.UNAUTHORISED)
          return next();
        // An expired access token: answer as SuperTokens does, so its frontend refreshes and the next request converts.
        // The SDK's Express handler reads only what node's request and response have.
        return superTokensErrorHandler()(err, req as SdkErrorHandlerArgs[1], res as SdkErrorHandlerArgs[2], next);
      }
      if (!session) return next();
      const handle = session.getHandle();
      const userId = session.getUserId();
      const now = Date.now();
      for (const [h, at] of converted) if (now - at > graceMs) converted.delete(h);

      if (!converted.has(handle)) {
        // Ask the core before creating anything: a revoked session must not become a new one, and an
        // unreachable core must leave everything as it was (503).
        let info: unknown;
        try {
          info = await withDeadline(Session.getSessionInformation(handle), timeoutMs, "SuperTokens session lookup");
        } catch (err) {
          throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "SuperTokens core is unavailable", {
            cause: err,
            retryAfter,
          });
        }
        if (info === undefined) {
          debug("SuperTokens session was revoked; not converted");
          return next();
        }
      }
      try {
        await withDeadline(options.createSession(req, res, userId, session), timeoutMs, "createSession");
      } catch (err) {
        debug("createSession failed; the SuperTokens session stays: %s", (err as Error)?.message);
        throw isMigrateError(err)
          ? err
          : new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", "could not create the new session", {
              cause: err,
              retryAfter,
            });
      }
      converted.set(handle, now);
      let revoked = false;
      try {
        // Revokes in the core and clears the SuperTokens cookies on this response.
        await withDeadline(session.revokeSession(), timeoutMs, "SuperTokens revoke");
        revoked = true;
      } catch (err) {
        debug("revoking the SuperTokens session failed; it ends with its own expiry: %s", (err as Error)?.message);
      }
      debug("SuperTokens session converted (revoked: %s)", revoked);
      try {
        options.onConverted?.({ userId, sessionHandle: handle, revoked });
      } catch (err) {
        debug("onConverted threw: %s", (err as Error)?.message);
      }
      return next();
    } catch (err) {
      if (isMigrateError(err) && err.status === 503) return sendUnavailable(res, err, retryAfter);
      return next(err);
    }
  };
}
