import { ServerResponse, type IncomingMessage } from "node:http";
import supertokens from "supertokens-node";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { log } from "../debug.js";
import { isMigrateError, UnavailableError, type MigrateError } from "../errors.js";
import { withDeadline } from "../deadline.js";
import type { MigrationMetrics } from "../metrics.js";
import { LegacyRoleGranter, parseRoles, type RoleStats } from "../roles.js";
import { createMisconfigurationMonitor, sayOnce, type LegacyOutcome, type MigrationWarning } from "./alerts.js";
import type { MigrationClaim, WaitOutcome } from "./coordinator.js";
import { readLegacySid } from "./legacy-cookie.js";
import { createLegacyStore, type LegacySessionData, type LegacyStore } from "./legacy-store.js";
import { onRevocation, type RevocationListener } from "./revocation.js";
import { refreshedSession } from "./refresh-transfer.js";
import type { DualSessionConfig, MigrationEvent } from "./options.js";
import { appendSetCookie, captureTransfer, clearedCookie, replayTransfer, type TokenTransfer } from "./transfer.js";

const debug = log.extend("session");

/*
 * The migration engine: moving one legacy credential onto one SuperTokens session. What a request may migrate
 * (which token wins, the CSRF rule) and how failures are answered stay with the callers, dualSession() and
 * migrationEndpoint(), which share these rules by sharing an engine.
 *
 *   migrateLegacySession(sid) ── store read ── gone: reuse a migration still in its grace window, else nothing
 *                                            ├─ anonymous, or mode "logout": no session
 *                                            └─ claimAndCreate(sid), then retire the legacy session
 *   migrateUser(key, userId) ─── claimAndCreate(key)
 *
 *   claimAndCreate: coordinator claim ── DONE / BUSY then DONE: replay the published tokens (reuse), only
 *                                     │   within graceMs and while the core says their session is alive
 *                                     ├─ MIGRATED: never a second session
 *                                     └─ WON: create in the core, publish for graceMs, replay onto this response
 *
 * A migrated legacy session is retired (destroyed in the store) as soon as a request proves the client holds
 * the new tokens (its tokens are then reused for proofGraceMs at most), when the grace window ends, or when its
 * SuperTokens session is found revoked. A legacy cookie beside a valid SuperTokens session is retired whoever it
 * belongs to (issue 11).
 */

export interface MigrationStats {
  migrated: number;
  reused: number;
  retired: number;
  loggedOut: number;
  rejected: Record<string, number>;
  /** What became of migrated users' legacy roles (`getRoles`): granted, created, unknown, invalid. */
  roles: RoleStats;
  /**
   * Misconfiguration detected in the legacy source (a wrong `secret`, `store` or `userId`), each also written
   * once per interval to console.error. Empty when none.
   */
  warnings: MigrationWarning[];
}

export interface MigrationEngine {
  /** Migrate the legacy session `sid`, or reuse its migration; undefined when it gives no session. */
  migrateLegacySession(req: IncomingMessage, res: ServerResponse, sid: string): Promise<SessionContainer | undefined>;
  /**
   * Migrate `userId`, proven by another legacy credential (a bearer token) that `key` names. Undefined when
   * that credential was migrated before and its grace window is over.
   */
  migrateUser(
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
    userId: string,
  ): Promise<SessionContainer | undefined>;
  /**
   * The request carries a valid SuperTokens session next to legacy cookie `sid`: clear the cookie on `res` and
   * retire the legacy session, whoever it belongs to. When it migrated to that session, this is the proof that
   * the client holds the new tokens: they are reused for `proofGraceMs` more at most.
   */
  retireBeside(res: ServerResponse, sid: string): void;
  /** Count the event and pass it to `onMigration`. */
  emit(event: MigrationEvent): void;
  /** Count a legacy cookie's outcome for the misconfiguration signals. */
  observe(outcome: LegacyOutcome): void;
  /** Told of sign-outs and revocations through the SDK (retireLegacySessionsOnRevoke); held here so it lives. */
  readonly onRevoked: RevocationListener;
  /** Counters since start-up, a copy. */
  stats(): MigrationStats;
}

/** One migration to perform: `key` names the legacy credential in the coordinator. */
interface Migration {
  key: string;
  legacy: LegacySessionData;
  userId: string;
  /** The credential came as a cookie, so the new tokens go out as cookies too. */
  viaCookie: boolean;
  /** Runs once the tokens are published, before they are served; `handle` is the new session's. */
  onCreated?: (handle: string) => void;
  /** performance.now() when the request began migrating, for the duration metric. */
  started: number;
}

type RetireReason = "proof" | "grace-expired" | "already-migrated" | "revoked" | "superseded";

/**
 * Why published tokens were not reused: "migrated", the grace window (or the coordinator's result) is over;
 * "revoked", their session was signed out or revoked in the core.
 */
type Refusal = "migrated" | "revoked";

export function createMigrationEngine(cfg: DualSessionConfig): MigrationEngine {
  const store = createLegacyStore(cfg.store, { timeoutMs: cfg.storeTimeoutMs });
  const events = createEvents(cfg.onMigration, cfg.metrics);
  const retirements = createRetirements(store, cfg.graceMs, events.emit);
  const monitor = createMisconfigurationMonitor({ name: cfg.name });
  const roles = new LegacyRoleGranter("dualSession", cfg.createRoles);
  /** Shorten (or with 0 end) the reuse of `key`'s published tokens in every process sharing the coordinator. */
  const endReuse = (key: string, withinMs: number) => {
    cfg.coordinator.endReuse?.(key, Math.ceil(withinMs)).catch((err: MigrateError) => {
      debug("ending the reuse of published tokens failed (%s)", err?.code);
    });
  };
  debug(
    "dualSession created: cookie %s, %d secret(s), mode %s, grace %d ms, tenant %s, metrics %s",
    cfg.name,
    cfg.secrets.length,
    cfg.mode,
    cfg.graceMs,
    cfg.tenantId,
    cfg.metrics.source,
  );

  const clearLegacyCookie = (res: ServerResponse) => appendSetCookie(res, [clearedCookie(cfg.name, cfg.cookie)]);

  async function migrateLegacySession(req: IncomingMessage, res: ServerResponse, sid: string) {
    const started = performance.now();
    const legacy = await store.get(sid);
    if (!legacy) {
      // Retired a moment ago by a request that proved the client holds the new tokens: requests of the same
      // page load still in flight get the same tokens until the proof window ends.
      const seen = await cfg.coordinator.waitForResult(sid, 0);
      if (seen.status === "DONE") {
        const reused = await reuse(req, res, seen.result);
        if (typeof reused !== "string") return reused;
        if (reused === "revoked") endReuse(sid, 0);
        clearLegacyCookie(res);
      } else {
        monitor.record("session-not-found");
      }
      events.emit({ type: "rejected", reason: "unknown-session" });
      debug("legacy cookie names no live session");
      return undefined;
    }
    monitor.record("found");
    const userId = cfg.userId(legacy);
    if (!userId) {
      monitor.record("no-user-id");
      events.emit({ type: "rejected", reason: "anonymous" });
      debug("legacy session is anonymous; left untouched");
      return undefined;
    }
    monitor.record("user-id");
    if (cfg.mode === "logout") {
      await store.destroy(sid);
      clearLegacyCookie(res);
      events.emit({ type: "logged-out", userId });
      debug("mode logout: legacy session cleared");
      return undefined;
    }
    const onCreated = (handle: string) => retirements.schedule(sid, handle);
    const migration = { key: sid, legacy, userId, viaCookie: true, onCreated, started };
    const outcome = await claimAndCreate(req, res, migration);
    if (typeof outcome !== "string") return outcome;
    // The legacy session outlived its migration (its retirement failed, the process that migrated it died, or
    // its SuperTokens session was signed out or revoked): retire it now, and give nothing.
    clearLegacyCookie(res);
    if (outcome === "revoked") endReuse(sid, 0);
    retirements.retire(sid, outcome === "revoked" ? "revoked" : "already-migrated");
    debug("legacy session was already migrated (%s); retired without a session", outcome);
    return undefined;
  }

  /**
   * One creation per key (legacy sid, or a hash of a legacy bearer token): the winner creates and publishes its
   * tokens; everyone else within the grace window receives the same tokens.
   */
  async function claimAndCreate(
    req: IncomingMessage,
    res: ServerResponse,
    m: Migration,
  ): Promise<SessionContainer | Refusal> {
    const retryAfter = cfg.retryAfterSeconds;
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await cfg.coordinator.claim(m.key);
      if (outcome.status === "DONE") return reuse(req, res, outcome.result);
      // Migrated before, grace window over (perhaps by another process, or before a restart): never a second session.
      if (outcome.status === "MIGRATED") return "migrated";
      if (outcome.status === "WON") return createAndPublish(req, res, outcome.claim, m);
      const waited = await cfg.coordinator.waitForResult(m.key);
      if (waited.status === "DONE") return reuse(req, res, waited.result);
      if (waited.status === "TIMEOUT") {
        const message = "another request is still migrating this session";
        throw new UnavailableError("ERR_MIGRATE_TIMEOUT", message, { retryAfter });
      }
      // ABANDONED: the winner failed without a result; claim again.
    }
    throw new UnavailableError("ERR_MIGRATE_TIMEOUT", "could not settle who migrates this session", { retryAfter });
  }

  async function createAndPublish(req: IncomingMessage, res: ServerResponse, claim: MigrationClaim, m: Migration) {
    let transfer: TokenTransfer;
    try {
      transfer = await createSession(req, cfg, m, roles);
    } catch (err) {
      await claim.release().catch(() => false);
      throw err;
    }
    // The instance's window, not the coordinator's default, bounds the reuse (T11): in the stored result, which
    // any process checks, and in the coordinator's TTL.
    transfer.reuseUntil = Date.now() + cfg.graceMs;
    await publish(claim, transfer, cfg.retryAfterSeconds, Math.ceil(cfg.graceMs), () =>
      cfg.coordinator.waitForResult(m.key, 0),
    );
    m.onCreated?.(transfer.sessionHandle);
    events.emit({ type: "migrated", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
    cfg.metrics.migrationDuration((performance.now() - m.started) / 1000);
    debug("legacy session migrated to a SuperTokens session");
    // The same path as every request that reuses this migration: identical headers, and a container bound to
    // the real response, so route code that updates the session writes its tokens where the client gets them.
    return sessionFromTransfer(req, res, transfer, cfg);
  }

  async function reuse(req: IncomingMessage, res: ServerResponse, raw: string): Promise<SessionContainer | Refusal> {
    const transfer = JSON.parse(raw) as TokenTransfer;
    if (transfer.reuseUntil !== undefined && Date.now() > transfer.reuseUntil) {
      debug("the published tokens' grace window is over; not reused");
      return "migrated";
    }
    // Published tokens outlive a sign-out or revocation in the coordinator, and their access token verifies
    // without the core until it expires: hand them out only while the core has their session (issue 11, item 3).
    // One core call per reuse; the migrating request itself and valid sessions never pay it.
    if (!(await sessionAlive(transfer.sessionHandle, cfg))) {
      debug("the migrated session was signed out or revoked; its tokens are not reused");
      return "revoked";
    }
    events.emit({ type: "reused", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
    debug("reusing the tokens of this legacy session's migration");
    return sessionFromTransfer(req, res, transfer, cfg);
  }

  /** Sign-out or revocation through the SDK: end the reuse and retire what the revoked sessions came from. */
  const onRevoked: RevocationListener = ({ handles, req, res }) => {
    const sids = new Set(retirements.migratedTo(handles));
    const cookie = req ? readLegacySid(req.headers.cookie, cfg.name, cfg.secrets) : undefined;
    if (cookie?.status === "OK") {
      // The browser signing out still carries a legacy cookie: it must not sign anyone in again (item 4).
      sids.add(cookie.sid);
      if (res && !res.headersSent) clearLegacyCookie(res);
    }
    for (const sid of sids) {
      endReuse(sid, 0);
      retirements.retire(sid, "revoked");
    }
  };
  onRevocation(onRevoked);

  return {
    migrateLegacySession,
    async migrateUser(req, res, key, userId) {
      const started = performance.now();
      const migration = { key, legacy: { cookie: {} }, userId, viaCookie: false, started };
      const outcome = await claimAndCreate(req, res, migration);
      if (outcome === "revoked") endReuse(key, 0);
      return typeof outcome === "string" ? undefined : outcome;
    },
    retireBeside(res, sid) {
      const proof = retirements.has(sid);
      clearLegacyCookie(res);
      // Requests of the page load still in flight may reuse the tokens a little longer, nobody else (item 5).
      endReuse(sid, cfg.proofGraceMs);
      retirements.retire(sid, proof ? "proof" : "superseded");
    },
    emit: events.emit,
    observe: monitor.record,
    onRevoked,
    stats: () => ({ ...events.stats(), roles: roles.stats(), warnings: monitor.warnings() }),
  };
}

/**
 * The counters behind stats(), the same counts as OpenTelemetry metrics, and the app's `onMigration` hook, which
 * may not break a request.
 */
function createEvents(onMigration: DualSessionConfig["onMigration"], metrics: MigrationMetrics) {
  const stats: Omit<MigrationStats, "warnings" | "roles"> = {
    migrated: 0,
    reused: 0,
    retired: 0,
    loggedOut: 0,
    rejected: {},
  };
  function emit(event: MigrationEvent) {
    if (event.type === "migrated") stats.migrated++;
    else if (event.type === "reused") stats.reused++;
    else if (event.type === "retired") stats.retired++;
    else if (event.type === "logged-out") stats.loggedOut++;
    else if (event.reason) stats.rejected[event.reason] = (stats.rejected[event.reason] ?? 0) + 1;
    metrics.session(event);
    if (!onMigration) return;
    try {
      onMigration(event);
    } catch (err) {
      debug("onMigration hook threw: %s", (err as Error)?.message);
    }
  }
  return { emit, stats: (): Omit<MigrationStats, "warnings" | "roles"> => structuredClone(stats) };
}

/**
 * Destroying migrated legacy sessions. The cookie is cleared by the caller when it has a response.
 *
 * `pending` holds the legacy sessions this process migrated and the store has not yet confirmed destroyed: the
 * grace timer while it runs, then the destroy in flight or its retry. An entry lives until the destroy succeeds,
 * because the coordinator's result expires with the grace window: a replay between that and a slow or failed
 * destroy would otherwise find the session still in the store and mint a second SuperTokens session (I2, T11, M13).
 */
function createRetirements(store: LegacyStore, graceMs: number, emit: (event: MigrationEvent) => void) {
  const pending = new Map<string, { timer?: NodeJS.Timeout; retiring: boolean; attempts: number; handle?: string }>();

  function retire(sid: string, reason: RetireReason, retry = false) {
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

  return {
    has: (sid: string) => pending.has(sid),
    /** The legacy sessions this process migrated to one of `handles`, not yet destroyed. */
    migratedTo(handles: string[]): string[] {
      const wanted = new Set(handles);
      return [...pending].filter(([, e]) => e.handle !== undefined && wanted.has(e.handle)).map(([sid]) => sid);
    },
    retire: (sid: string, reason: RetireReason) => retire(sid, reason),
    /** Retire after the grace window, unless a proof or a replay retires it sooner. */
    schedule(sid: string, handle: string) {
      if (pending.has(sid)) return;
      const timer = setTimeout(() => retire(sid, "grace-expired"), graceMs);
      timer.unref();
      pending.set(sid, { timer, retiring: false, attempts: 0, handle });
    },
  };
}

/**
 * Give the user their legacy roles before the session is created: the UserRoles recipe reads them into the new
 * access token's claims. A role that cannot be given is left out and reported; a failing `getRoles` is an outage of
 * the legacy source and a failing core an outage of the core (503, and the next request migrates again).
 */
async function grantLegacyRoles(cfg: DualSessionConfig, granter: LegacyRoleGranter, m: Migration): Promise<void> {
  const getRoles = cfg.getRoles;
  if (!getRoles) return;
  const retryAfter = cfg.retryAfterSeconds;
  let value: unknown;
  try {
    value = await getRoles(m.legacy, m.userId);
  } catch (err) {
    throw new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", "dualSession: getRoles failed", {
      cause: err,
      retryAfter,
    });
  }
  const { roles, invalid } = parseRoles(value);
  granter.reportInvalid(m.userId, invalid);
  try {
    await withDeadline(granter.grant(cfg.tenantId, m.userId, roles), cfg.coreTimeoutMs, "giving the legacy roles");
  } catch (err) {
    if (isMigrateError(err) && err.status !== 503) {
      sayOnce(`roles:${err.code}`, err.message);
      throw err;
    }
    if (!coreUnreachable(err)) {
      reportConfigurationError(err);
      throw err;
    }
    const what = isMigrateError(err) ? "did not answer in time" : "is unavailable";
    throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core ${what} (legacy roles)`, {
      cause: err,
      retryAfter,
    });
  }
}

/** Create the SuperTokens session, with a deadline; a session the core creates after the deadline is revoked. */
async function createSession(
  req: IncomingMessage,
  cfg: DualSessionConfig,
  m: Migration,
  roles: LegacyRoleGranter,
): Promise<TokenTransfer> {
  await grantLegacyRoles(cfg, roles, m);
  const payload = (await cfg.accessTokenPayload?.(m.legacy, m.userId)) ?? {};
  const data = (await cfg.sessionDataInDatabase?.(m.legacy, m.userId)) ?? {};
  // The SDK writes the tokens onto a detached response; the caller copies them onto the real one. Given the
  // real response, a creation that finishes after our deadline fails on a response already sent (503), so it
  // rejects and the session it created in the core could never be revoked (T10).
  const scratch = new ServerResponse(req);
  const restoreAuthMode = m.viaCookie ? askForCookies(req) : () => undefined;
  const recipeUserId = supertokens.convertToRecipeUserId(m.userId);
  const creation = Session.createNewSession(req, scratch, cfg.tenantId, recipeUserId, payload, data);
  let session: SessionContainer;
  try {
    session = await withDeadline(creation, cfg.coreTimeoutMs, "SuperTokens session creation");
  } catch (err) {
    creation.then(
      (late) => late.revokeSession().catch(() => undefined),
      () => undefined,
    );
    if (superTokensErrorType(err) !== undefined) throw err;
    if (!coreUnreachable(err)) {
      // A supertokens-node configuration error fails every creation the same way: a 503 would have clients
      // retry forever and hide it. Answer 500 and say once, loudly, what to fix (issue 11, item 8).
      reportConfigurationError(err);
      throw err;
    }
    const what = isMigrateError(err) ? "did not answer in time" : "is unavailable";
    const options = { cause: err, retryAfter: cfg.retryAfterSeconds };
    throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `SuperTokens core ${what}`, options);
  } finally {
    restoreAuthMode();
  }
  const created = { handle: session.getHandle(), userId: session.getUserId(), accessToken: session.getAccessToken() };
  return captureTransfer(scratch, [], created);
}

/**
 * The SDK's default transfer method puts new tokens in response headers unless the frontend asks for cookies
 * with `st-auth-mode`; a browser's page navigation carrying a legacy cookie never sends it and would drop header
 * tokens. A credential that came as a cookie is replaced by cookies. An app-defined getTokenTransferMethod still
 * decides, since it sees the same request. Returns the undo.
 */
function askForCookies(req: IncomingMessage): () => void {
  if (req.headers["st-auth-mode"] !== undefined) return () => undefined;
  req.headers["st-auth-mode"] = "cookie";
  return () => {
    delete req.headers["st-auth-mode"];
  };
}

/**
 * Publish the tokens for waiters and later requests. A session that cannot be published reaches no client,
 * so it is revoked rather than left to linger in the core.
 *
 * A publish that failed may still have landed: a store that answers after the coordinator's deadline has done
 * the write all the same. Waiters then hold these tokens, and revoking the session behind them would log the
 * user out: the page's other requests would find a revoked session and retire the legacy one (seen on deploy
 * day with four processes on a loaded machine). So the store is asked once what it holds. Our result: the
 * migration stands, and this request is served. Nothing, or another result: ours reaches nobody, revoke it.
 * No answer: keep it; the result may be readable, and a session nobody holds only lingers until it expires.
 */
async function publish(
  claim: MigrationClaim,
  transfer: TokenTransfer,
  retryAfter: number,
  ttlMs: number,
  lookOnce: () => Promise<WaitOutcome>,
): Promise<void> {
  const revoke = () => Session.revokeSession(transfer.sessionHandle).catch(() => false);
  let published: boolean;
  const result = JSON.stringify(transfer);
  try {
    published = await claim.publish(result, ttlMs);
  } catch (err) {
    const settled = await settlePublish(claim, result, lookOnce);
    if (settled === "published") {
      debug("publishing failed, yet the result landed; the migration stands");
      return;
    }
    if (settled === "lost") await revoke();
    else settleLater(() => settlePublish(claim, result, lookOnce), revoke, ttlMs);
    throw err;
  }
  if (!published) {
    // Our claim expired mid-way and another request may have migrated: keep one session, drop ours.
    await revoke();
    throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", "migration claim was lost; retry", { retryAfter });
  }
}

/**
 * After a publish that failed (the store timed out or went away mid-call): "published" when our result is there,
 * "lost" when it never landed and no longer can, undefined while the store cannot tell. The claim is released
 * first: once it is gone, a publish still queued behind the failure (node-redis resends after a reconnect or a
 * cluster failover) can no longer land. Another request holding the claim (TIMEOUT) also means "lost": a landed
 * publish leaves the migrated marker, which keeps every later claim out.
 */
async function settlePublish(
  claim: MigrationClaim,
  result: string,
  lookOnce: () => Promise<WaitOutcome>,
): Promise<"published" | "lost" | undefined> {
  const released = await claim.release().catch(() => undefined);
  if (released === undefined) return undefined;
  if (released) return "lost";
  const seen = await lookOnce().catch(() => undefined);
  if (seen?.status === "DONE") return seen.result === result ? "published" : "lost";
  if (seen?.status === "TIMEOUT") return "lost";
  // Nothing there: never landed, or landed and already cut short by a proof. Only a later look can tell.
  return undefined;
}

/**
 * Settles an unknown publish once the store answers again, while a landed result would still be readable
 * (`ttlMs`), and revokes the session if its tokens reached nobody: otherwise the retry that migrates after the
 * outage (a Redis failover, a PostgreSQL restart) would leave two sessions for one legacy session. Kept when the
 * store never tells. The timers never keep the process alive.
 */
function settleLater(
  settle: () => Promise<"published" | "lost" | undefined>,
  revoke: () => Promise<unknown>,
  ttlMs: number,
): void {
  const deadline = Date.now() + ttlMs;
  let delay = 100;
  const attempt = async () => {
    const outcome = await settle();
    if (outcome === "lost") {
      debug("a publish that failed never landed; its session is revoked");
      await revoke();
      return;
    }
    if (outcome === "published") return;
    if (Date.now() + delay > deadline) {
      debug("publishing failed and the store cannot say whether the result landed; the session is kept");
      return;
    }
    setTimeout(() => void attempt(), delay).unref();
    delay = Math.min(delay * 2, 2000);
  };
  setTimeout(() => void attempt(), delay).unref();
}

/** Put the transfer's tokens on this request and response, and verify them as the SDK would. */
async function sessionFromTransfer(
  req: IncomingMessage,
  res: ServerResponse,
  t: TokenTransfer,
  cfg: DualSessionConfig,
): Promise<SessionContainer> {
  const undo = replayTransfer(req, res, t);
  try {
    // The CSRF rule already ran for this request, and the tokens are ours: no anti-CSRF header can exist yet.
    const s = await Session.getSession(req, res, { ...cfg.verify, sessionRequired: true, antiCsrfCheck: false });
    return s;
  } catch (err) {
    if (superTokensErrorType(err) !== Session.Error.TRY_REFRESH_TOKEN) throw err;
    // Our own token expired on its way here (a busy machine, a late reuse): never "try refresh" to a client
    // that sent only a legacy cookie. Refresh it here; a core too slow for that answers 503.
    undo();
    debug("the migrated session's access token expired before it was verified; refreshing it");
    return refreshedSession(req, res, t, {
      timeoutMs: cfg.coreTimeoutMs,
      retryAfter: cfg.retryAfterSeconds,
      overrideGlobalClaimValidators: cfg.verify.overrideGlobalClaimValidators,
    });
  }
}

/** Whether the core still has session `handle` (not signed out, revoked or expired); 503 when it cannot say. */
async function sessionAlive(handle: string, cfg: DualSessionConfig): Promise<boolean> {
  try {
    const info = await withDeadline(Session.getSessionInformation(handle), cfg.coreTimeoutMs, "session lookup");
    return info !== undefined;
  } catch (err) {
    if (superTokensErrorType(err) !== undefined) throw err;
    if (!coreUnreachable(err)) {
      reportConfigurationError(err);
      throw err;
    }
    const options = { cause: err, retryAfter: cfg.retryAfterSeconds };
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      "SuperTokens core is unavailable (session lookup)",
      options,
    );
  }
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/**
 * The core could not be reached or failed on its side (our deadline, the SDK's "No SuperTokens core available"
 * after its retries, a network error, a 5xx or 429 answer): a 503 the client may retry. Anything else thrown by
 * the SDK is a configuration or programming error that retrying cannot fix.
 */
function coreUnreachable(err: unknown): boolean {
  if (isMigrateError(err)) return true;
  const e = err as { message?: unknown; code?: unknown; cause?: { code?: unknown } } | undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  if (message === "No SuperTokens core available to query") return true;
  const status = /SuperTokens core threw an error .* with status code: (\d{3})/.exec(message)?.[1];
  if (status !== undefined) return status.startsWith("5") || status === "429";
  if (NETWORK_CODES.has(String(e?.code)) || NETWORK_CODES.has(String(e?.cause?.code))) return true;
  return /fetch failed|socket hang up|ECONNREFUSED|ECONNRESET/.test(message);
}

/** One console line per cause and process: what failed, that it is not an outage, and how to fix it. */
function reportConfigurationError(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  const fix = /API and website domain are different/.test(message)
    ? "serve apiDomain over https (SameSite=None cookies must be Secure), or put apiDomain and websiteDomain on " +
      "the same site, or set Session.init({ cookieSameSite }) to match your deployment"
    : "check supertokens.init()'s appInfo and supertokens settings and Session.init()'s options; the message " +
      "above names the setting";
  // Ids and quoted values vary per user; the cause without them is logged once.
  const cause = message.replace(/'[^']*'|"[^"]*"|[0-9a-f-]{8,}/gi, "…");
  sayOnce(
    `create-session:${cause}`,
    `dualSession could not create SuperTokens sessions because of a supertokens-node configuration error, not a ` +
      `core outage: every migration answers 500 until it is fixed. Cause: ${message} Fix: ${fix}.`,
  );
}

function superTokensErrorType(err: unknown): string | undefined {
  return Session.Error.isErrorFromSuperTokens(err) ? (err as { type: string }).type : undefined;
}
