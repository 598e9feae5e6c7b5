import type { IncomingMessage, ServerResponse } from "node:http";
import Session from "supertokens-node/recipe/session";
import type { SessionContainer } from "supertokens-node/recipe/session";
import { errorHandler as superTokensErrorHandler } from "supertokens-node/framework/express";
import { log } from "../debug.js";
import { UnavailableError, isMigrateError } from "../errors.js";
import { withDeadline } from "../deadline.js";
import type { Middleware } from "../middleware-type.js";
import { assertSigningKeysReachable } from "../signing-keys.js";
import { sendUnavailable } from "../unavailable.js";
import { resolveLeaveOptions, type LeaveSuperTokensOptions } from "./options.js";

export type { LeaveSuperTokensOptions } from "./options.js";

/** supertokens-node's Express error handler's arguments: (err, Express Request, Express Response, next). */
type SdkErrorHandlerArgs = Parameters<ReturnType<typeof superTokensErrorHandler>>;

const debug = log.extend("leave");

/** What the core said about a SuperTokens session before anything was created: revoked, nothing to convert. */
const REVOKED = Symbol("revoked");

/** One SuperTokens session's conversion: in flight until `at` is set, then kept for graceMs. */
interface Conversion {
  /** What createSession resolved with (handed to joinSession), or REVOKED. Rejects as the conversion failed. */
  created: Promise<unknown>;
  /** When the new session was saved; undefined while the conversion is in flight. */
  at?: number;
}

/**
 * The way back: middleware for an app leaving SuperTokens. A request with a valid SuperTokens session and no
 * session of the new system gets one for the same user id, created first; only then is the SuperTokens session
 * revoked and its cookies cleared, so a failure at any step leaves the user signed in (T11, T23).
 *
 * One SuperTokens session gives at most one new session (T23): concurrent requests of one session wait for the
 * first one's conversion, and later requests of the page load still carrying the (now revoked) token within
 * graceMs join that session through `joinSession`; none of them creates another. The SDK's anti-CSRF check runs
 * as in Session.getSession by default, so a cross-site request cannot convert a session (T23).
 */
export function leaveSuperTokens(options: LeaveSuperTokensOptions): Middleware {
  const { timeoutMs, retryAfterSeconds: retryAfter, graceMs } = resolveLeaveOptions(options);
  /** handle -> its conversion, in flight or done within graceMs. */
  const conversions = new Map<string, Conversion>();
  const unavailable = (what: string, cause: unknown) =>
    new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core is unavailable (${what})`, {
      cause,
      retryAfter,
    });

  /** Ask the core whether the session is live, then create the new one: the first request of a session only. */
  async function convert(req: unknown, res: unknown, handle: string, userId: string, session: SessionContainer) {
    let info: unknown;
    try {
      info = await withDeadline(Session.getSessionInformation(handle), timeoutMs, "SuperTokens session lookup");
    } catch (err) {
      throw unavailable("session lookup", err);
    }
    if (info === undefined) return REVOKED;
    try {
      return await withDeadline(options.createSession(req, res, userId, session), timeoutMs, "createSession");
    } catch (err) {
      debug("createSession failed; the SuperTokens session stays: %s", (err as Error)?.message);
      throw isMigrateError(err)
        ? err
        : new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", "could not create the new session", {
            cause: err,
            retryAfter,
          });
    }
  }

  /**
   * Revokes in the core (again, on a joining request: harmless) and clears the SuperTokens cookies on this
   * response. False when the core did not answer: the SuperTokens session then ends with its own expiry.
   */
  async function revoke(session: SessionContainer): Promise<boolean> {
    try {
      await withDeadline(session.revokeSession(), timeoutMs, "SuperTokens revoke");
      return true;
    } catch (err) {
      debug("revoking the SuperTokens session failed; it ends with its own expiry: %s", (err as Error)?.message);
      return false;
    }
  }

  return async function leaveSuperTokensMiddleware(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): Promise<void> {
    try {
      if (await options.hasSession(req)) return next();
      let session: SessionContainer | undefined;
      try {
        // The SDK's default anti-CSRF check (unsafe methods): a cross-site request converts nothing.
        session = await Session.getSession(req, res, { sessionRequired: false });
      } catch (err) {
        if (!Session.Error.isErrorFromSuperTokens(err)) throw err;
        const type = (err as { type: string }).type;
        if (type === Session.Error.UNAUTHORISED) return next();
        // The SDK turns a JWKS it could not fetch into TRY_REFRESH_TOKEN: that is an outage, not an expired token.
        if (type === Session.Error.TRY_REFRESH_TOKEN) await assertSigningKeysReachable(req, timeoutMs, unavailable);
        // An expired access token or a failed anti-CSRF check: answer as SuperTokens does, so its frontend
        // refreshes and the next request converts.
        // The SDK's Express handler reads only what node's request and response have.
        return superTokensErrorHandler()(err, req as SdkErrorHandlerArgs[1], res as SdkErrorHandlerArgs[2], next);
      }
      if (!session) return next();
      const handle = session.getHandle();
      const userId = session.getUserId();
      const now = Date.now();
      for (const [h, c] of conversions) if (c.at !== undefined && now - c.at > graceMs) conversions.delete(h);

      const earlier = conversions.get(handle);
      if (earlier) {
        // Another request of this session converted it (or is converting it): never a second new session.
        const created = await earlier.created;
        if (created === REVOKED) return next();
        await revoke(session);
        if (!options.joinSession) {
          debug("SuperTokens session already converted; no joinSession, so this request is not signed in");
          return next();
        }
        try {
          await withDeadline(options.joinSession(req, res, created, userId), timeoutMs, "joinSession");
        } catch (err) {
          throw isMigrateError(err)
            ? err
            : new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", "could not join the new session", {
                cause: err,
                retryAfter,
              });
        }
        debug("joined the new session of an already converted SuperTokens session");
        return next();
      }

      // Registered before any await, so concurrent requests of this session find it.
      const conversion: Conversion = { created: convert(req, res, handle, userId, session) };
      conversions.set(handle, conversion);
      let created: unknown;
      try {
        created = await conversion.created;
      } catch (err) {
        conversions.delete(handle);
        throw err;
      }
      if (created === REVOKED) {
        conversions.delete(handle);
        debug("SuperTokens session was revoked; not converted");
        return next();
      }
      conversion.at = Date.now();
      const revoked = await revoke(session);
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
