import { ServerResponse, type IncomingMessage } from "node:http";
import supertokens from "supertokens-node";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { log } from "../debug.js";
import { isMigrateError, UnavailableError, type MigrateError } from "../errors.js";
import { withDeadline } from "../deadline.js";
import type { MigrationClaim } from "./coordinator.js";
import { createLegacyStore, type LegacySessionData, type LegacyStore } from "./legacy-store.js";
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
 *   claimAndCreate: coordinator claim ── DONE / BUSY then DONE: replay the published tokens (reuse)
 *                                     ├─ MIGRATED: never a second session
 *                                     └─ WON: create in the core, publish, replay onto this response
 *
 * A migrated legacy session is retired (destroyed in the store) as soon as a request proves the client holds
 * the new tokens, or when the grace window ends.
 */

export interface MigrationStats {
  migrated: number;
  reused: number;
  retired: number;
  loggedOut: number;
  rejected: Record<string, number>;
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
   * The request carries a SuperTokens session next to legacy cookie `sid`. When this process migrated `sid`,
   * the client now holds the new tokens: clear the cookie on `res`, retire the session and answer true.
   */
  retireByProof(res: ServerResponse, sid: string): boolean;
  /** Count the event and pass it to `onMigration`. */
  emit(event: MigrationEvent): void;
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
  /** Runs once the tokens are published, before they are served. */
  onCreated?: () => void;
}

type RetireReason = "proof" | "grace-expired" | "already-migrated";

export function createMigrationEngine(cfg: DualSessionConfig): MigrationEngine {
  const store = createLegacyStore(cfg.store, { timeoutMs: cfg.storeTimeoutMs });
  const events = createEvents(cfg.onMigration);
  const retirements = createRetirements(store, cfg.graceMs, events.emit);
  debug(
    "dualSession created: cookie %s, %d secret(s), mode %s, grace %d ms, tenant %s",
    cfg.name,
    cfg.secrets.length,
    cfg.mode,
    cfg.graceMs,
    cfg.tenantId,
  );

  const clearLegacyCookie = (res: ServerResponse) => appendSetCookie(res, [clearedCookie(cfg.name, cfg.cookie)]);

  async function migrateLegacySession(req: IncomingMessage, res: ServerResponse, sid: string) {
    const legacy = await store.get(sid);
    if (!legacy) {
      // Retired a moment ago by a request that proved the client holds the new tokens: requests of the same
      // page load still in flight get the same tokens until the grace window ends.
      const seen = await cfg.coordinator.waitForResult(sid, 0);
      if (seen.status === "DONE") return reuse(req, res, seen.result);
      events.emit({ type: "rejected", reason: "unknown-session" });
      debug("legacy cookie names no live session");
      return undefined;
    }
    const userId = cfg.userId(legacy);
    if (!userId) {
      events.emit({ type: "rejected", reason: "anonymous" });
      debug("legacy session is anonymous; left untouched");
      return undefined;
    }
    if (cfg.mode === "logout") {
      await store.destroy(sid);
      clearLegacyCookie(res);
      events.emit({ type: "logged-out", userId });
      debug("mode logout: legacy session cleared");
      return undefined;
    }
    const onCreated = () => retirements.schedule(sid);
    const session = await claimAndCreate(req, res, { key: sid, legacy, userId, viaCookie: true, onCreated });
    if (!session) {
      // The legacy session outlived its migration (its retirement failed, or the process that migrated it died):
      // retire it now.
      clearLegacyCookie(res);
      retirements.retire(sid, "already-migrated");
      debug("legacy session was already migrated; retired without a new session");
    }
    return session;
  }

  /**
   * One creation per key (legacy sid, or a hash of a legacy bearer token): the winner creates and publishes its
   * tokens; everyone else within the grace window receives the same tokens.
   */
  async function claimAndCreate(req: IncomingMessage, res: ServerResponse, m: Migration) {
    const retryAfter = cfg.retryAfterSeconds;
    for (let attempt = 0; attempt < 3; attempt++) {
      const outcome = await cfg.coordinator.claim(m.key);
      if (outcome.status === "DONE") return reuse(req, res, outcome.result);
      // Migrated before, grace window over (perhaps by another process, or before a restart): never a second session.
      if (outcome.status === "MIGRATED") return undefined;
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
      transfer = await createSession(req, cfg, m);
    } catch (err) {
      await claim.release().catch(() => false);
      throw err;
    }
    await publish(claim, transfer, cfg.retryAfterSeconds);
    m.onCreated?.();
    events.emit({ type: "migrated", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
    debug("legacy session migrated to a SuperTokens session");
    // The same path as every request that reuses this migration: identical headers, and a container bound to
    // the real response, so route code that updates the session writes its tokens where the client gets them.
    return sessionFromTransfer(req, res, transfer, cfg);
  }

  async function reuse(req: IncomingMessage, res: ServerResponse, raw: string): Promise<SessionContainer> {
    const transfer = JSON.parse(raw) as TokenTransfer;
    events.emit({ type: "reused", userId: transfer.userId, sessionHandle: transfer.sessionHandle });
    debug("reusing the tokens of this legacy session's migration");
    return sessionFromTransfer(req, res, transfer, cfg);
  }

  return {
    migrateLegacySession,
    migrateUser: (req, res, key, userId) =>
      claimAndCreate(req, res, { key, legacy: { cookie: {} }, userId, viaCookie: false }),
    retireByProof(res, sid) {
      if (!retirements.has(sid)) return false;
      clearLegacyCookie(res);
      retirements.retire(sid, "proof");
      return true;
    },
    emit: events.emit,
    stats: events.stats,
  };
}

/** The counters behind stats(), and the app's `onMigration` hook, which may not break a request. */
function createEvents(onMigration: DualSessionConfig["onMigration"]) {
  const stats: MigrationStats = { migrated: 0, reused: 0, retired: 0, loggedOut: 0, rejected: {} };
  function emit(event: MigrationEvent) {
    if (event.type === "migrated") stats.migrated++;
    else if (event.type === "reused") stats.reused++;
    else if (event.type === "retired") stats.retired++;
    else if (event.type === "logged-out") stats.loggedOut++;
    else if (event.reason) stats.rejected[event.reason] = (stats.rejected[event.reason] ?? 0) + 1;
    if (!onMigration) return;
    try {
      onMigration(event);
    } catch (err) {
      debug("onMigration hook threw: %s", (err as Error)?.message);
    }
  }
  return { emit, stats: () => structuredClone(stats) };
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
  const pending = new Map<string, { timer?: NodeJS.Timeout; retiring: boolean; attempts: number }>();

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
    retire: (sid: string, reason: RetireReason) => retire(sid, reason),
    /** Retire after the grace window, unless a proof or a replay retires it sooner. */
    schedule(sid: string) {
      if (pending.has(sid)) return;
      const timer = setTimeout(() => retire(sid, "grace-expired"), graceMs);
      timer.unref();
      pending.set(sid, { timer, retiring: false, attempts: 0 });
    },
  };
}

/** Create the SuperTokens session, with a deadline; a session the core creates after the deadline is revoked. */
async function createSession(req: IncomingMessage, cfg: DualSessionConfig, m: Migration): Promise<TokenTransfer> {
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
 */
async function publish(claim: MigrationClaim, transfer: TokenTransfer, retryAfter: number): Promise<void> {
  const revoke = () => Session.revokeSession(transfer.sessionHandle).catch(() => false);
  let published: boolean;
  try {
    published = await claim.publish(JSON.stringify(transfer));
  } catch (err) {
    // The lock store failed after the core created the session.
    await revoke();
    throw err;
  }
  if (!published) {
    // Our claim expired mid-way and another request may have migrated: keep one session, drop ours.
    await revoke();
    throw new UnavailableError("ERR_MIGRATE_LOCK_UNAVAILABLE", "migration claim was lost; retry", { retryAfter });
  }
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

function superTokensErrorType(err: unknown): string | undefined {
  return Session.Error.isErrorFromSuperTokens(err) ? (err as { type: string }).type : undefined;
}
