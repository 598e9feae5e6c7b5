import type { IncomingMessage, ServerResponse } from "node:http";
import Session from "supertokens-node/recipe/session";
import { errorHandler as superTokensErrorHandler } from "supertokens-node/framework/express";
import { log } from "../debug.js";
import { sdkAppOrigins, sdkInstance } from "../sdk-internals.js";
import { isMigrateError, UnavailableError } from "../errors.js";
import type { Middleware } from "../middleware-type.js";
import { assertSigningKeysReachable } from "../signing-keys.js";
import { sendUnavailable } from "../unavailable.js";
import { createMigrationEngine, type MigrationEngine, type MigrationStats } from "./engine.js";
import { readLegacySid, type LegacyCookieResult } from "./legacy-cookie.js";
import { resolveDualSessionOptions, type DualSessionConfig, type DualSessionOptions } from "./options.js";
import { appendSetCookie, clearedCookie } from "./transfer.js";

const debug = log.extend("session");

type Req = IncomingMessage & { session?: unknown; legacySession?: unknown; method?: string };
type Res = ServerResponse;
type Next = (err?: unknown) => void;
/** supertokens-node's Express error handler's arguments: (err, Express Request, Express Response, next). */
type SdkErrorHandlerArgs = Parameters<ReturnType<typeof superTokensErrorHandler>>;

export interface DualSessionMiddleware extends Middleware {
  /** Counters since start-up, for dashboards. */
  stats(): MigrationStats;
}

/** Any SuperTokens access token on the request: the sAccessToken cookie or a header-mode bearer token. */
function carriesSuperTokensToken(req: Req): boolean {
  const cookie = req.headers.cookie;
  if (typeof cookie === "string" && /(?:^|;\s*)sAccessToken=/.test(cookie)) return true;
  const auth = req.headers.authorization;
  return typeof auth === "string" && /^bearer\s/i.test(auth);
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/** express-session's Session object, as opposed to a SuperTokens container or nothing. */
function isExpressSession(value: unknown): value is { touch(): void; id: string } {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { touch?: unknown }).touch === "function" &&
    typeof (value as { regenerate?: unknown }).regenerate === "function"
  );
}

/** Per SDK instance: a re-initialised SDK (another appInfo) gets its own answer, and none is cached before init. */
const originsBySdk = new WeakMap<object, string[]>();
/** The SDK's websiteDomain and apiDomain: the default trusted origins for the CSRF rule. */
function sdkOrigins(): string[] {
  const instance = sdkInstance();
  if (!instance) return [];
  const cached = originsBySdk.get(instance);
  if (cached) return cached;
  const origins = sdkAppOrigins(instance);
  originsBySdk.set(instance, origins);
  return origins;
}

/**
 * The CSRF rule (docs/operations.md, "CSRF rule"): a legacy cookie is a credential the browser attaches to cross-site
 * requests too, so an unsafe-method request only migrates when it proves it is same-origin: an Origin header
 * naming a trusted origin, or `Sec-Fetch-Site: same-origin` when there is no Origin, or SuperTokens' own
 * custom `rid` header, which a cross-site page cannot send without a CORS preflight.
 */
async function passesCsrfRule(req: Req, cfg: DualSessionConfig): Promise<boolean> {
  if (safeMethods.has((req.method ?? "GET").toUpperCase())) return true;
  const origin = req.headers.origin;
  if (typeof origin === "string" && origin !== "null") {
    const trusted = cfg.trustedOrigins ?? sdkOrigins();
    return trusted.some((t) => t.replace(/\/$/, "") === origin);
  }
  if (req.headers["sec-fetch-site"] !== undefined) return req.headers["sec-fetch-site"] === "same-origin";
  return req.headers.rid !== undefined;
}

/**
 * `dualSession(options)`: serve SuperTokens sessions exactly as `verifySession()` does, and move a request
 * that only carries a logged-in express-session cookie onto a new SuperTokens session for the same user id.
 */
export function dualSession(options?: DualSessionOptions): DualSessionMiddleware {
  const cfg = resolveDualSessionOptions(options);
  return dualSessionAdapter(cfg, createMigrationEngine(cfg));
}

/**
 * The Express side of dualSession(): which credential decides, the CSRF rule, `req.session`, and the answers to
 * failures. Migrating is `engine`'s; migrationEndpoint() mounts an adapter on the engine it also migrates
 * legacy bearer tokens with.
 */
export function dualSessionAdapter(cfg: DualSessionConfig, engine: MigrationEngine): DualSessionMiddleware {
  /** The session a legacy cookie gives, or undefined (rejected, anonymous, unknown, logged out). */
  async function fromLegacyCookie(req: Req, res: Res, legacyCookie: LegacyCookieResult) {
    if (legacyCookie.status === "BAD_SIGNATURE") {
      engine.observe("bad-signature");
      engine.emit({ type: "rejected", reason: "bad-signature" });
      debug("legacy cookie signature does not verify; ignored without a store lookup");
    } else if (legacyCookie.status === "OK" && legacyCookie.duplicate) {
      // Two cookies of one name is cookie tossing (T7): do not pick one.
      engine.emit({ type: "rejected", reason: "bad-signature" });
      debug("legacy cookie appears twice; ignored");
    } else if (legacyCookie.status === "OK") {
      engine.observe("verified");
      if (await passesCsrfRule(req, cfg)) return engine.migrateLegacySession(req, res, legacyCookie.sid);
      engine.emit({ type: "rejected", reason: "csrf" });
      debug("unsafe-method request without same-origin proof; not migrated");
    }
    return undefined;
  }

  async function serve(req: Req, res: Res, next: Next, lent: LentSession): Promise<void> {
    // Any SuperTokens token on the request, valid or not, means the SuperTokens identity decides (T7):
    // try-refresh, unauthorised (which clears a bad token), claims and theft are answered exactly as
    // verifySession answers them, and the legacy cookie is only looked at when no token came at all.
    const session = await Session.getSession(req, res, { ...cfg.verify, sessionRequired: false });

    const legacyCookie = readLegacySid(req.headers.cookie, cfg.name, cfg.secrets);
    if (!session && legacyCookie.status === "OK" && carriesSuperTokensToken(req)) {
      // A token the SDK could not even parse (garbage, tossed from a sibling domain) also wins over the
      // legacy cookie: answer as verifySession does, which clears it, and migrate on a later clean request.
      debug("a SuperTokens token is present but unusable; not migrating");
      // The SDK leaves a token it cannot parse in place; clear it so the user is not stuck behind it.
      appendSetCookie(res, [clearedCookie("sAccessToken", { path: "/", httpOnly: true })]);
      if (cfg.verify.sessionRequired) await Session.getSession(req, res, { ...cfg.verify, sessionRequired: true });
      req.session = undefined;
      return next();
    }
    if (session) {
      req.session = session;
      // This client holds the new tokens: the legacy session has served its purpose.
      // A legacy cookie beside it is retired whoever it belongs to: on a shared computer, another user's stale
      // cookie would otherwise sign them in again once this session signs out (issue 11, item 4).
      if (legacyCookie.status === "OK" && !legacyCookie.duplicate) {
        engine.retireBeside(res, legacyCookie.sid);
        lent.retired = true;
      }
      return next();
    }

    const migrated = await fromLegacyCookie(req, res, legacyCookie);
    if (migrated) {
      req.session = migrated;
      return next();
    }
    if (cfg.verify.sessionRequired) {
      // Let the SDK produce exactly verifySession's "no session" answer.
      await Session.getSession(req, res, { ...cfg.verify, sessionRequired: true });
    }
    req.session = undefined;
    return next();
  }

  async function answerError(err: unknown, req: Req, res: Res, next: Next): Promise<void> {
    if (Session.Error.isErrorFromSuperTokens(err) && err.type === Session.Error.TRY_REFRESH_TOKEN) {
      // The SDK also says "try refresh" when it could not fetch the core's signing keys (a process started during
      // a core outage has none cached); a 401 then signs the user out when the refresh fails too. Answer 503.
      try {
        await assertSigningKeysReachable(req, cfg.coreTimeoutMs, (what, cause) => {
          return new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core is unavailable (${what})`, {
            cause,
          });
        });
      } catch (unavailable) {
        err = unavailable;
      }
    }
    if (isMigrateError(err) && err.status === 503) {
      const reason = err.code === "ERR_MIGRATE_CORE_UNAVAILABLE" ? "core-unavailable" : "store-unavailable";
      engine.emit({ type: "rejected", reason });
      debug("answering 503: %s", err.code);
      // The configured value wins: errors from the store and lock layers carry UnavailableError's default of
      // 1 s, which silently overrode `retryAfterSeconds`.
      return sendUnavailable(res, err, cfg.retryAfterSeconds);
    }
    if (Session.Error.isErrorFromSuperTokens(err)) {
      // Same path as verifySession: the SDK's own error handler answers (401 try refresh, 403 claims, ...).
      // The SDK's Express handler reads only what node's request and response have.
      return superTokensErrorHandler()(err, req as SdkErrorHandlerArgs[1], res as SdkErrorHandlerArgs[2], next);
    }
    return next(err);
  }

  const handler = async function dualSessionMiddleware(req: Req, res: Res, next: Next): Promise<void> {
    const lent = lendExpressSession(req, res);
    try {
      return await serve(req, res, next, lent);
    } catch (err) {
      return answerError(err, req, res, next);
    }
  } as DualSessionMiddleware;
  handler.stats = () => engine.stats();
  return handler;
}

/** express-session's Session object, set aside for the request. `retired`: do not hand it back. */
interface LentSession {
  retired: boolean;
}

/**
 * express-session mounted before us: keep its Session object for its own response hooks (docs/api.md,
 * "req.session: express-session and SuperTokens together"), and give route code the SuperTokens container. The
 * Session goes back on `req.session` when the response is written, unless the legacy session was retired meanwhile.
 */
function lendExpressSession(req: Req, res: Res): LentSession {
  const lent = { retired: false };
  const expressSession = isExpressSession(req.session) ? req.session : undefined;
  if (!expressSession) return lent;
  req.legacySession = expressSession;
  const restore = () => {
    req.session = lent.retired ? undefined : expressSession;
  };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with `this` bound, below
  const writeHead = res.writeHead;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with `this` bound, below
  const end = res.end;
  res.writeHead = function (this: Res, ...args: unknown[]) {
    restore();
    return (writeHead as (...a: unknown[]) => Res).apply(this, args);
  };
  res.end = function (this: Res, ...args: unknown[]) {
    restore();
    return (end as (...a: unknown[]) => Res).apply(this, args);
  } as Res["end"];
  req.session = undefined;
  return lent;
}
