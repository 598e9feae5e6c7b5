import { ServerResponse, type IncomingMessage } from "node:http";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import type { SessionContainer } from "supertokens-node/recipe/session";
import { errorHandler as superTokensErrorHandler } from "supertokens-node/framework/express";
import { log } from "../debug.js";
import { sdkAppOrigins, sdkInstance } from "../sdk-internals.js";
import { isMigrateError, UnavailableError, type MigrateError } from "../errors.js";
import { sendUnavailable } from "../unavailable.js";
import { withDeadline } from "../deadline.js";
import { readLegacySid } from "./legacy-cookie.js";
import { createLegacyStore, type LegacySessionData } from "./legacy-store.js";
import { refreshedSession } from "./refresh-transfer.js";
import { resolveDualSessionOptions, type DualSessionConfig, type DualSessionOptions, type MigrationEvent } from "./options.js";
import { appendSetCookie, captureTransfer, clearedCookie, replayTransfer, type TokenTransfer } from "./transfer.js";

const debug = log.extend("session");

type Req = IncomingMessage & { session?: unknown; legacySession?: unknown; method?: string };
type Res = ServerResponse;
type Next = (err?: unknown) => void;

export interface MigrationStats {
  migrated: number;
  reused: number;
  retired: number;
  loggedOut: number;
  rejected: Record<string, number>;
}

export interface DualSessionMiddleware {
  (req: any, res: any, next: Next): Promise<void>;
  /** Counters since start-up, for dashboards. */
  stats(): MigrationStats;
}

/** What migrationEndpoint() borrows from a dualSession instance. Not public API. */
export const internals = Symbol("supertokens-migrate.dualSession.internals");
export interface MigrationInternals {
  migrateUser(req: any, res: any, key: string, userId: string): Promise<SessionContainer | undefined>;
  sendUnavailable(res: any, err: MigrateError): void;
  emit(event: MigrationEvent): void;
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
  return typeof value === "object" && value !== null && typeof (value as { touch?: unknown }).touch === "function"
    && typeof (value as { regenerate?: unknown }).regenerate === "function";
}

function superTokensErrorType(err: unknown): string | undefined {
  return Session.Error.isErrorFromSuperTokens(err) ? (err as { type: string }).type : undefined;
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
 * The CSRF rule (README "CSRF rule"): a legacy cookie is a credential the browser attaches to cross-site
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
  const store = createLegacyStore(cfg.store, { timeoutMs: cfg.storeTimeoutMs });
  const stats: MigrationStats = { migrated: 0, reused: 0, retired: 0, loggedOut: 0, rejected: {} };
  /**
   * Legacy sessions this process migrated and the store has not yet confirmed destroyed: the grace timer while
   * it runs, then the destroy in flight or its retry. An entry lives until the destroy succeeds, because the
   * coordinator's result expires with the grace window: a replay between that and a slow or failed destroy
   * would otherwise find the session still in the store and mint a second SuperTokens session (I2, T11, M13).
   */
  const pending = new Map<string, { timer?: NodeJS.Timeout; retiring: boolean; attempts: number }>();
  debug("dualSession created: cookie %s, %d secret(s), mode %s, grace %d ms, tenant %s", cfg.name, cfg.secrets.length, cfg.mode, cfg.graceMs, cfg.tenantId);

  function emit(event: MigrationEvent) {
    if (event.type === "migrated") stats.migrated++;
    else if (event.type === "reused") stats.reused++;
    else if (event.type === "retired") stats.retired++;
    else if (event.type === "logged-out") stats.loggedOut++;
    else if (event.reason) stats.rejected[event.reason] = (stats.rejected[event.reason] ?? 0) + 1;
    if (!cfg.onMigration) return;
    try {
      cfg.onMigration(event);
    } catch (err) {
      debug("onMigration hook threw: %s", (err as Error)?.message);
    }
  }

  /** Destroy a migrated legacy session; the cookie is cleared by the caller when it has a response. */
  function retire(sid: string, reason: "proof" | "grace-expired" | "already-migrated", retry = false) {
    const entry = pending.get(sid) ?? { retiring: false, attempts: 0 };
    pending.set(sid, entry);
    // Once started, only its own retry timer drives a retirement: proofs and replays arriving meanwhile would
    // otherwise stack destroys on a failing store and inflate the backoff.
    if (entry.retiring && !retry) return;
    entry.retiring = true;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    store.destroy(sid).then(
      () => {
        pending.delete(sid);
        debug("legacy session retired (%s)", reason);
        emit({ type: "retired", reason });
      },
      (err: MigrateError) => {
        // The session stays blocked here (see `pending`) and the destroy is retried, with backoff, until the
        // store answers: a destroy that is only logged leaves a live legacy session behind (T9, M13).
        const delay = Math.min(100 * 2 ** entry.attempts++, 30_000);
        debug("retiring legacy session failed (%s); retrying in %d ms", err.code, delay);
        entry.timer = setTimeout(() => retire(sid, reason, true), delay);
        entry.timer.unref();
      },
    );
  }

  function scheduleRetirement(sid: string) {
    if (pending.has(sid)) return;
    const timer = setTimeout(() => retire(sid, "grace-expired"), cfg.graceMs);
    timer.unref();
    pending.set(sid, { timer, retiring: false, attempts: 0 });
  }

  async function sessionFromTransfer(req: Req, res: Res, t: TokenTransfer): Promise<SessionContainer> {
    const undo = replayTransfer(req, res, t);
    try {
      // The CSRF rule already ran for this request, and the tokens are ours: no anti-CSRF header can exist yet.
      const s = await Session.getSession(req, res, { ...cfg.verify, sessionRequired: true, antiCsrfCheck: false });
      return s!;
    } catch (err) {
      if (superTokensErrorType(err) !== Session.Error.TRY_REFRESH_TOKEN) throw err;
      // Our own token expired on its way here (a busy machine, a late reuse): never "try refresh" to a client
      // that sent only a legacy cookie. Refresh it here; a core too slow for that answers 503.
      undo();
      debug("the migrated session's access token expired before it was verified; refreshing it");
      const options = { timeoutMs: cfg.coreTimeoutMs, retryAfter: cfg.retryAfterSeconds, overrideGlobalClaimValidators: cfg.verify.overrideGlobalClaimValidators };
      return refreshedSession(req, res, t, options);
    }
  }

  /** Create the SuperTokens session, with a deadline; a session the core creates after the deadline is revoked. */
  async function create(req: Req, legacy: LegacySessionData, userId: string, viaCookie: boolean): Promise<TokenTransfer> {
    const payload = (await cfg.accessTokenPayload?.(legacy, userId)) ?? {};
    const data = (await cfg.sessionDataInDatabase?.(legacy, userId)) ?? {};
    // The SDK writes the tokens onto a detached response; the caller copies them onto the real one. Given the
    // real response, a creation that finishes after our deadline fails on a response already sent (503), so it
    // rejects and the session it created in the core could never be revoked (T10).
    const scratch = new ServerResponse(req);
    // The SDK's default transfer method puts new tokens in response headers unless the frontend asks for
    // cookies with `st-auth-mode`; a browser's page navigation carrying a legacy cookie never sends it and would
    // drop header tokens. A credential that came as a cookie is replaced by cookies. An app-defined
    // getTokenTransferMethod still decides, since it sees the same request.
    const askedMode = req.headers["st-auth-mode"] !== undefined;
    if (viaCookie && !askedMode) req.headers["st-auth-mode"] = "cookie";
    const creation = Session.createNewSession(req, scratch, cfg.tenantId, supertokens.convertToRecipeUserId(userId), payload, data);
    let session: SessionContainer;
    try {
      session = await withDeadline(creation, cfg.coreTimeoutMs, "SuperTokens session creation");
    } catch (err) {
      creation.then((late) => late.revokeSession().catch(() => undefined), () => undefined);
      if (superTokensErrorType(err) !== undefined) throw err;
      if (isMigrateError(err)) throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "SuperTokens core did not answer in time", { cause: err, retryAfter: cfg.retryAfterSeconds });
      throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "SuperTokens core is unavailable", { cause: err, retryAfter: cfg.retryAfterSeconds });
    }
    finally {
      if (viaCookie && !askedMode) delete req.headers["st-auth-mode"];
    }
    return captureTransfer(scratch, [], { handle: session.getHandle(), userId: session.getUserId(), accessToken: session.getAccessToken() });
  }

  /** Migrate or reuse; undefined when this legacy cookie gives no session. */
  async function fromLegacy(req: Req, res: Res, sid: string): Promise<SessionContainer | undefined> {
    const legacy = await store.get(sid);
    if (!legacy) {
      // Retired a moment ago by a request that proved the client holds the new tokens: requests of the same
      // page load still in flight get the same tokens until the grace window ends.
      const seen = await cfg.coordinator.waitForResult(sid, 0);
      if (seen.status === "DONE") return reuse(req, res, seen.result);
      emit({ type: "rejected", reason: "unknown-session" });
      debug("legacy cookie names no live session");
      return undefined;
    }
    const userId = cfg.userId(legacy);
    if (!userId) {
      emit({ type: "rejected", reason: "anonymous" });
      debug("legacy session is anonymous; left untouched");
      return undefined;
    }
    if (cfg.mode === "logout") {
      await store.destroy(sid);
      appendSetCookie(res, [clearedCookie(cfg.name, cfg.cookie)]);
      emit({ type: "logged-out", userId });
      debug("mode logout: legacy session cleared");
      return undefined;
    }
    const session = await claimAndCreate(req, res, sid, legacy, userId, true, () => scheduleRetirement(sid));
    if (!session) {
      // The legacy session outlived its migration (its retirement failed, or the process that migrated it died):
      // retire it now.
      appendSetCookie(res, [clearedCookie(cfg.name, cfg.cookie)]);
      retire(sid, "already-migrated");
      debug("legacy session was already migrated; retired without a new session");
    }
    return session;
  }

  /**
   * One creation per key (legacy sid, or a hash of a legacy bearer token): the winner creates and publishes its
   * tokens; everyone else within the grace window receives the same tokens.
   */
  async function claimAndCreate(req: Req, res: Res, key: string, legacy: LegacySessionData, userId: string, viaCookie: boolean, onCreated: () => void): Promise<SessionContainer | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await cfg.coordinator.claim(key);
      if (outcome.status === "DONE") return reuse(req, res, outcome.result);
      // Migrated before, grace window over (perhaps by another process, or before a restart): never a second session.
      if (outcome.status === "MIGRATED") return undefined;
      if (outcome.status === "BUSY") {
        const waited = await cfg.coordinator.waitForResult(key);
        if (waited.status === "DONE") return reuse(req, res, waited.result);
        if (waited.status === "TIMEOUT") {
          throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "another request is still migrating this session", { retryAfter: cfg.retryAfterSeconds });
        }
        continue;
      }
      let transfer: TokenTransfer;
      try {
        transfer = await create(req, legacy, userId, viaCookie);
      } catch (err) {
        await outcome.claim.release().catch(() => false);
        throw err;
      }
      let published: boolean;
      try {
        published = await outcome.claim.publish(JSON.stringify(transfer));
      } catch (err) {
        // The lock store failed after the core created the session: it reaches no client, so it must not linger.
        await Session.revokeSession(transfer.sessionHandle).catch(() => false);
        throw err;
      }
      if (!published) {
        // Our claim expired mid-way and another request may have migrated: keep one session, drop ours.
        await Session.revokeSession(transfer.sessionHandle).catch(() => false);
        throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", "migration claim was lost; retry", { retryAfter: cfg.retryAfterSeconds });
      }
      onCreated();
      emit({ type: "migrated", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
      debug("legacy session migrated to a SuperTokens session");
      // The same path as every request that reuses this migration: identical headers, and a container bound to
      // the real response, so route code that updates the session writes its tokens where the client gets them.
      return sessionFromTransfer(req, res, transfer);
    }
    throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "could not settle who migrates this session", { retryAfter: cfg.retryAfterSeconds });
  }

  async function reuse(req: Req, res: Res, raw: string): Promise<SessionContainer> {
    const transfer = JSON.parse(raw) as TokenTransfer;
    emit({ type: "reused", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
    debug("reusing the tokens of this legacy session's migration");
    return sessionFromTransfer(req, res, transfer);
  }

  function unavailable(res: Res, err: MigrateError) {
    // The configured value wins: errors from the store and lock layers carry UnavailableError's default of 1 s,
    // which silently overrode `retryAfterSeconds`.
    sendUnavailable(res, err, cfg.retryAfterSeconds);
  }

  const handler = async function dualSessionMiddleware(req: Req, res: Res, next: Next): Promise<void> {
    // express-session mounted before us: keep its Session object for its own response hooks (README
    // "req.session"), and give route code the SuperTokens container.
    const expressSession = isExpressSession(req.session) ? req.session : undefined;
    let retiredHere = false;
    if (expressSession) {
      req.legacySession = expressSession;
      const restore = () => {
        (req as { session?: unknown }).session = retiredHere ? undefined : expressSession;
      };
      const writeHead = res.writeHead;
      const end = res.end;
      res.writeHead = function (this: Res, ...args: unknown[]) {
        restore();
        return (writeHead as (...a: unknown[]) => Res).apply(this, args);
      } as Res["writeHead"];
      res.end = function (this: Res, ...args: unknown[]) {
        restore();
        return (end as (...a: unknown[]) => Res).apply(this, args);
      } as Res["end"];
      req.session = undefined;
    }

    try {
      // Any SuperTokens token on the request, valid or not, means the SuperTokens identity decides (T7):
      // try-refresh, unauthorised (which clears a bad token), claims and theft are answered exactly as
      // verifySession answers them, and the legacy cookie is only looked at when no token came at all.
      const session: SessionContainer | undefined = await Session.getSession(req, res, { ...cfg.verify, sessionRequired: false });

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
        if (legacyCookie.status === "OK" && pending.has(legacyCookie.sid)) {
          // This client holds the new tokens: the legacy session has served its purpose.
          retiredHere = true;
          appendSetCookie(res, [clearedCookie(cfg.name, cfg.cookie)]);
          retire(legacyCookie.sid, "proof");
        }
        return next();
      }

      if (legacyCookie.status === "BAD_SIGNATURE") {
        emit({ type: "rejected", reason: "bad-signature" });
        debug("legacy cookie signature does not verify; ignored without a store lookup");
      } else if (legacyCookie.status === "OK" && legacyCookie.duplicate) {
        // Two cookies of one name is cookie tossing (T7): do not pick one.
        emit({ type: "rejected", reason: "bad-signature" });
        debug("legacy cookie appears twice; ignored");
      } else if (legacyCookie.status === "OK") {
        if (!(await passesCsrfRule(req, cfg))) {
          emit({ type: "rejected", reason: "csrf" });
          debug("unsafe-method request without same-origin proof; not migrated");
        } else {
          const migrated = await fromLegacy(req, res, legacyCookie.sid);
          if (migrated) {
            req.session = migrated;
            return next();
          }
        }
      }

      if (cfg.verify.sessionRequired) {
        // Let the SDK produce exactly verifySession's "no session" answer.
        await Session.getSession(req, res, { ...cfg.verify, sessionRequired: true });
      }
      req.session = undefined;
      return next();
    } catch (err) {
      if (isMigrateError(err) && err.status === 503) {
        emit({ type: "rejected", reason: err.code === "ERR_MIGRATE_CORE_UNAVAILABLE" ? "core-unavailable" : "store-unavailable" });
        debug("answering 503: %s", err.code);
        return unavailable(res, err);
      }
      if (superTokensErrorType(err) !== undefined) {
        // Same path as verifySession: the SDK's own error handler answers (401 try refresh, 403 claims, ...).
        return superTokensErrorHandler()(err, req as any, res as any, next as any);
      }
      return next(err);
    }
  } as DualSessionMiddleware;
  handler.stats = () => structuredClone(stats);
  (handler as unknown as Record<symbol, MigrationInternals>)[internals] = {
    migrateUser: (req, res, key, userId) => claimAndCreate(req, res, key, { cookie: {} }, userId, false, () => undefined),
    sendUnavailable: unavailable,
    emit,
  };
  return handler;
}
