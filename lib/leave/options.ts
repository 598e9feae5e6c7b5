import type { SessionContainer } from "supertokens-node/recipe/session";
import {
  assertFactoryCalled,
  functionOption,
  positiveNumber,
  readOptions,
  requiredFunction,
  type OptionKeys,
} from "../options.js";

export interface LeaveSuperTokensOptions {
  /** Does this request already have a session of the new system? Then SuperTokens is not consulted. Required. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the app's own request type (Express, node:http, ...)
  hasSession: (req: any) => boolean | Promise<boolean>;
  /**
   * Create the new system's session for `userId` on this request and response, e.g. express-session's
   * `req.session.regenerate()` then `req.session.userId = userId` and `save()`. Required. What it resolves with
   * (e.g. `req.sessionID`) is handed to `joinSession` for the page load's other requests.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the app's own request and response types
  createSession: (req: any, res: any, userId: string, session: SessionContainer) => Promise<unknown>;
  /**
   * Put this request in the session `createSession` created for the same SuperTokens session: called for the
   * page load's other requests (concurrent, or within graceMs) that still carry the converted session, instead of
   * creating another. `created` is what createSession resolved with; e.g. express-session's
   * `req.sessionStore.load(created, ...)` then `req.sessionID = created` and `req.session = loaded`. Without it
   * those requests are passed on without a session of the new system.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the app's own request and response types
  joinSession?: (req: any, res: any, created: unknown, userId: string) => Promise<void>;
  /** Deadline for the core and for `createSession`, in ms. Default 5000. */
  timeoutMs?: number;
  /** Seconds for Retry-After on 503. Default 1. */
  retryAfterSeconds?: number;
  /**
   * How long requests of the same page load, still carrying the converted SuperTokens session, join its new
   * session (`joinSession`) without asking the core again (it has been revoked by then). Default 30000 ms.
   */
  graceMs?: number;
  /** Called after each conversion; errors it throws are logged and ignored. */
  onConverted?: (event: { userId: string; sessionHandle: string; revoked: boolean }) => void;
}

/** Every option of leaveSuperTokens: the build fails when LeaveSuperTokensOptions gains one not listed. */
const LEAVE_KEYS = {
  hasSession: true,
  createSession: true,
  joinSession: true,
  timeoutMs: true,
  retryAfterSeconds: true,
  graceMs: true,
  onConverted: true,
} satisfies OptionKeys<LeaveSuperTokensOptions>;

/** Every default of leaveSuperTokens, and nowhere else. */
export const LEAVE_SUPERTOKENS_DEFAULTS = Object.freeze({
  timeoutMs: 5000,
  retryAfterSeconds: 1,
  graceMs: 30_000,
});

const what = "leaveSuperTokens";

/**
 * Validated once, when leaveSuperTokens() is called; nothing is checked at request time. The hooks are called
 * on the options object itself (as methods), so only the numbers are returned.
 */
export function resolveLeaveOptions(input: LeaveSuperTokensOptions): {
  timeoutMs: number;
  retryAfterSeconds: number;
  graceMs: number;
} {
  // Mounted as `app.use(leaveSuperTokens)` instead of `app.use(leaveSuperTokens({ ... }))`: Express passes (req, res,
  // next).
  assertFactoryCalled(what, input, "leaveSuperTokens({ hasSession, createSession })");
  const o = readOptions(what, input, LEAVE_KEYS, "with at least `hasSession` and `createSession`");
  requiredFunction(
    what,
    "hasSession",
    o.hasSession,
    "pass hasSession(req), answering whether the request has a session of the new system.",
  );
  requiredFunction(
    what,
    "createSession",
    o.createSession,
    "pass createSession(req, res, userId), creating the new system's session, e.g. with req.session.regenerate().",
  );
  functionOption(what, "joinSession", o.joinSession);
  functionOption(what, "onConverted", o.onConverted);
  return Object.freeze({
    timeoutMs: positiveNumber(
      what,
      "timeoutMs",
      o.timeoutMs,
      LEAVE_SUPERTOKENS_DEFAULTS.timeoutMs,
      "number of milliseconds",
    ),
    retryAfterSeconds: positiveNumber(
      what,
      "retryAfterSeconds",
      o.retryAfterSeconds,
      LEAVE_SUPERTOKENS_DEFAULTS.retryAfterSeconds,
      "number of seconds",
    ),
    graceMs: positiveNumber(what, "graceMs", o.graceMs, LEAVE_SUPERTOKENS_DEFAULTS.graceMs, "number of milliseconds"),
  });
}
