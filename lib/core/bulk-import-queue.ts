import { setImmediate as yieldToEventLoop, setTimeout as sleep } from "node:timers/promises";
import { resolveConfig } from "./config.js";
import { log } from "../debug.js";
import type { AppContext, CoreHandle } from "./context.js";
import { checkImportable, hashForApp } from "./passwords.js";
import type { CoreStorage, ImportUserOutcome, ImportUserRecord, UserRecord } from "./storage/types.js";
import { updateMetadata } from "./users.js";

const debug = log.extend("core").extend("bulk-import");

/** Users handed to the storage's importUsers at once; it writes them in batches where it can. */
const importChunk = 1000;

/** Without a cron, a tick that stopped on an error is tried again after this long (or when users are added). */
const abortRetryMs = 1000;

/**
 * The core's message for a login method left without a tenant prints the Java object (BulkImportUser.LoginMethod
 * has no toString, so Object's class@hash): the hash differs every time.
 */
export const tenantlessMessage = (): string =>
  `LoginMethod 'io.supertokens.pluginInterface.bulkimport.BulkImportUser$LoginMethod@${Math.floor(
    Math.random() * 2 ** 31,
  ).toString(16)}' has no tenantId`;

/** A login method as validated by POST /bulk-import/users (BulkImportUser.LoginMethod). */
export interface BulkLoginMethod {
  recipeId: "emailpassword" | "thirdparty" | "passwordless";
  tenantIds: string[];
  isVerified: boolean;
  isPrimary: boolean;
  timeJoinedInMSSinceEpoch: number;
  /** Generated when the user is queued (IDMode.GENERATE), so the POST can report it. */
  superTokensUserId: string;
  /** Required for email-password and third-party logins; a passwordless one has this or a phone number, or both. */
  email?: string;
  passwordHash?: string;
  hashingAlgorithm?: string;
  plainTextPassword?: string;
  thirdPartyId?: string;
  thirdPartyUserId?: string;
  phoneNumber?: string;
}

/** A user the batched email-password path (AppStorage.importUsers) takes: one email-password login method. */
export const isPlainEmailPassword = (e: BulkEntry): boolean =>
  e.loginMethods.length === 1 && e.loginMethods[0].recipeId === "emailpassword";

/**
 * BulkImportUserUtils.getPrimaryLoginMethod: the one marked isPrimary, else the oldest (the first of equals).
 */
export function primaryLoginMethod(methods: BulkLoginMethod[]): BulkLoginMethod {
  let oldest = methods[0];
  for (const lm of methods) {
    if (lm.isPrimary) return lm;
    if (lm.timeJoinedInMSSinceEpoch < oldest.timeJoinedInMSSinceEpoch) oldest = lm;
  }
  return oldest;
}

export type BulkStatus = "NEW" | "PROCESSING" | "FAILED";

/** One of a bulk user's `userRoles`. */
export interface BulkUserRole {
  role: string;
  tenantIds: string[];
}

export interface BulkEntry {
  /** The primary login method's SuperTokens id, as in the core. */
  id: string;
  status: BulkStatus;
  externalUserId?: string;
  userMetadata?: Record<string, unknown>;
  /** Roles the user holds, per tenant; each role existed when the user was added. */
  userRoles?: BulkUserRole[];
  loginMethods: BulkLoginMethod[];
  primaryUserId?: string;
  errorMessage?: string;
  createdAt: number;
  updatedAt: number;
}

/**
 * How the queue is processed: at once (0, the dev core's default), or by a cron as the real core's
 * ProcessBulkImportUsers does it (CORE cronjobs/bulkimport/ProcessBulkImportUsers.java): a tick every interval, which
 * does nothing on an empty queue and otherwise runs rounds of up to bulk_migration_batch_size users, with a pause
 * between rounds, until a round finds no user. Users added during a tick are taken by its next round; users added
 * after it stopped wait for the next tick.
 */
function cronOf(core: CoreHandle): { intervalMs: number; pauseMs: number } {
  const config = resolveConfig(core.baseConfig);
  return {
    intervalMs: config.dev_core_bulk_import_cron_interval_ms,
    pauseMs: config.dev_core_bulk_import_round_pause_ms,
  };
}

/**
 * One app's queue. The real core keeps it in the `bulk_import_users` table; the dev core keeps it in memory, also
 * over a persistent storage, because the storage contract has no queue: restarting the dev core forgets entries
 * not yet processed (never users already imported). Entries are kept in creation order.
 */
export class BulkQueue {
  readonly entries = new Map<string, BulkEntry>();
  private running = false;
  private lastCreatedAt = 0;
  /** Ticks fall on this origin plus whole intervals (the core's fall on its start plus whole intervals). */
  private readonly cronOrigin = Date.now();
  private tick: NodeJS.Timeout | undefined;
  /** The last tick stopped on an error that is not a user's failure (see drain). */
  private aborted = false;

  constructor(
    private readonly owner: BulkImportJob,
    private readonly core: CoreHandle,
    readonly appId: string,
  ) {}

  /** Strictly increasing creation times keep pagination by (createdAt, id) stable within one millisecond. */
  nextCreatedAt(now: number): number {
    this.lastCreatedAt = Math.max(now, this.lastCreatedAt + 1);
    return this.lastCreatedAt;
  }

  add(entries: BulkEntry[]): void {
    for (const e of entries) this.entries.set(e.id, e);
    if (this.aborted && cronOf(this.core).intervalMs === 0 && this.tick) {
      clearTimeout(this.tick);
      this.tick = undefined;
      this.aborted = false;
    }
    this.schedule();
  }

  /**
   * By default the dev core starts at once, after the response (it serves tests and demos), and yields to the
   * event loop between users so requests keep flowing. In cron mode it waits for the next tick. The tick's timer
   * exists only while users wait, and does not keep the process alive.
   */
  schedule(): void {
    if (this.running || !this.owner.active) return;
    const { intervalMs, pauseMs } = cronOf(this.core);
    if (intervalMs === 0 && this.aborted) {
      // A tick that stopped on an error is not retried in a tight loop: once a second, or when users are added.
      if (this.tick) return;
      this.tick = setTimeout(() => {
        this.tick = undefined;
        this.aborted = false;
        this.run(0);
      }, abortRetryMs).unref();
      return;
    }
    if (intervalMs > 0) {
      if (this.tick) return;
      const wait = intervalMs - ((Date.now() - this.cronOrigin) % intervalMs);
      debug("app %s: next bulk-import tick in %d ms", this.appId, wait);
      this.tick = setTimeout(() => {
        this.tick = undefined;
        this.run(pauseMs);
      }, wait).unref();
      return;
    }
    setImmediate(() => this.run(0));
  }

  private run(pauseMs: number): void {
    if (this.running || !this.owner.active) return;
    this.running = true;
    this.drain(pauseMs)
      .catch((err) => debug("app %s: processing stopped: %O", this.appId, err))
      .finally(() => {
        this.running = false;
        if (this.owner.active && this.hasNew()) this.schedule();
      });
  }

  private hasNew(): boolean {
    for (const e of this.entries.values()) if (e.status === "NEW") return true;
    return false;
  }

  private async drain(pauseMs: number): Promise<void> {
    // One BulkImportUserUtils per tick in the core: its set of external ids spans every round of the tick.
    const seenExternalIds = new Set<string>();
    // Users held over to the next tick: they stay PROCESSING until this one ends.
    const deferred = new Set<BulkEntry>();
    try {
      await this.rounds(pauseMs, seenExternalIds, deferred);
    } finally {
      for (const e of deferred) if (this.entries.get(e.id) === e && e.status === "PROCESSING") e.status = "NEW";
    }
  }

  private async rounds(pauseMs: number, seenExternalIds: Set<string>, deferred: Set<BulkEntry>): Promise<void> {
    for (let round = 0; this.owner.active; round++) {
      if (round > 0 && pauseMs > 0) await sleep(pauseMs, undefined, { ref: false });
      const app = await this.core.appContext(this.appId);
      if (!app) {
        // The app was deleted: its queue goes with it, as the core's rows do (foreign key on the app).
        this.entries.clear();
        return;
      }
      const batch: BulkEntry[] = [];
      const size = this.owner.batchSize ?? app.config().bulk_migration_batch_size;
      for (const e of this.entries.values()) {
        if (e.status !== "NEW") continue;
        batch.push(e);
        if (batch.length >= size) break;
      }
      if (batch.length === 0) return;
      const now = Date.now();
      for (const e of batch) {
        e.status = "PROCESSING";
        e.updatedAt = now;
      }
      debug("app %s: round %d: processing %d users", this.appId, round + 1, batch.length);
      for (let i = 0; i < batch.length; i += importChunk) {
        // A remove call may have deleted some while we were waiting.
        const chunk = batch.slice(i, i + importChunk).filter((e) => this.entries.get(e.id) === e);
        const checked = await this.revalidate(app, chunk, seenExternalIds);
        if (checked === "abort") {
          // What the core's worker does when a check throws instead of reporting (a Firebase hash once the
          // signer key is gone): nobody of the chunk is imported or marked FAILED, the claim is rolled back so
          // they are NEW again, and the tick ends. They are taken again by the next tick, and fail again.
          for (const e of batch.slice(i)) {
            if (this.entries.get(e.id) === e && e.status === "PROCESSING") e.status = "NEW";
          }
          this.aborted = true;
          debug(
            "app %s: the tick stopped: a Firebase scrypt hash without firebase_password_hashing_signer_key",
            this.appId,
          );
          return;
        }
        const valid = chunk.filter((e) => !checked.has(e));
        // The worker imports nobody of a chunk in which a user failed its second validation: it marks that one
        // FAILED and leaves the others claimed, for a later tick.
        if (checked.size > 0) for (const e of valid) deferred.add(e);
        // Users with a third-party or passwordless login, or several logins, go one by one (importBulkUser); plain
        // email-password users keep the storage's batched path.
        const failures = checked.size > 0 ? valid.map(() => undefined) : await importMixed(app, valid);
        const outcome = new Map<BulkEntry, string | undefined>(checked);
        valid.forEach((e, j) => outcome.set(e, failures[j]));
        for (const entry of chunk) {
          if (deferred.has(entry)) continue;
          const failure = outcome.get(entry);
          if (failure === undefined) {
            this.entries.delete(entry.id);
            continue;
          }
          entry.status = "FAILED";
          entry.errorMessage = failure;
          entry.updatedAt = Date.now();
          debug("app %s: user %s failed: %s", this.appId, entry.id, entry.errorMessage);
        }
        await yieldToEventLoop();
      }
    }
  }

  /**
   * The core's worker validates each queued user again before importing it (createBulkImportUserFromJSON on the
   * stored row, ProcessBulkUsersImportWorker). Only what can change since the POST is checked here: its tenants
   * still exist, its external id is the first of this tick, and its Firebase hash still has a signer key. A user
   * that fails gets the core's message, the Java list of its errors ("[…, …]"), with no E0xx code; a missing
   * signer key is no validation error but an exception that stops the whole tick ("abort").
   */
  private async revalidate(
    app: AppContext,
    chunk: BulkEntry[],
    seenExternalIds: Set<string>,
  ): Promise<Map<BulkEntry, string> | "abort"> {
    const failed = new Map<BulkEntry, string>();
    const tenantExists = new Map<string, boolean>();
    for (const entry of chunk) {
      const errors: string[] = [];
      for (const lm of entry.loginMethods) {
        if (lm.passwordHash !== undefined && lm.hashingAlgorithm !== undefined) {
          const hash = checkImportable(app.config(), lm.passwordHash, lm.hashingAlgorithm);
          if (!hash.ok && hash.status === 500) return "abort";
          if (!hash.ok) errors.push(hash.message);
        }
        let kept = 0;
        for (const t of lm.tenantIds) {
          if (t === "public") {
            kept++;
            continue;
          }
          if (!tenantExists.has(t))
            tenantExists.set(t, (await this.core.storage.getTenant(this.appId, t)) !== undefined);
          if (tenantExists.get(t)) kept++;
          else errors.push(`Invalid tenantId: ${t} for ${lm.recipeId} recipe.`);
        }
        if (kept === 0) errors.push(tenantlessMessage());
      }
      const external = entry.externalUserId;
      if (external !== undefined) {
        if (seenExternalIds.has(external)) {
          errors.push(`externalUserId ${external} is not unique. It is already used by another user.`);
        }
        seenExternalIds.add(external);
      }
      if (errors.length > 0) failed.set(entry, `[${errors.join(", ")}]`);
    }
    return failed;
  }
}

/**
 * ProcessBulkImportUsers: one switch per dev core, like the core's single cron job (POST /bulk-import/backgroundjob).
 */
export class BulkImportJob {
  active = true;
  /** Set by START's `batchSize`; otherwise each app's `bulk_migration_batch_size`. */
  batchSize: number | undefined;
  private readonly queues = new Map<string, BulkQueue>();

  queue(core: CoreHandle, appId: string): BulkQueue {
    let q = this.queues.get(appId);
    if (!q) this.queues.set(appId, (q = new BulkQueue(this, core, appId)));
    return q;
  }

  start(batchSize?: number): void {
    this.active = true;
    if (batchSize !== undefined) this.batchSize = batchSize;
    for (const q of this.queues.values()) q.schedule();
  }

  stop(): void {
    this.active = false;
  }
}

const jobs = new WeakMap<CoreStorage, BulkImportJob>();

/**
 * Keyed by the storage, which lives as long as its dev core (route modules are shared by every dev core in a process).
 */
export function bulkImportJob(core: CoreHandle): BulkImportJob {
  let job = jobs.get(core.storage);
  if (!job) jobs.set(core.storage, (job = new BulkImportJob()));
  return job;
}

/** A user that cannot be imported; the message is what the core stores as `errorMessage`. */
export class BulkImportFailure extends Error {}

/*
 * The core's failure messages for an email-password user, with the codes that number every error of its import
 * steps (CORE bulkimport/BulkImport.java). Those the dev core can meet: E003, the email is taken in the login
 * method's first tenant; E014, it is taken in one of its other tenants (associateUserToTenants); E031, the
 * external id is mapped already; E030, the external id is a SuperTokens user id. E030's text is what the core
 * prints: "E030: " and the message of the StorageQueryException that carries the batch's errors, which is the
 * class name and message of the BulkImportBatchInsertException inside (UserIdMapping.createMultipleUserIdMappings),
 * not the refusal itself.
 */
const firstTenantTaken = (email: string) =>
  `E003: A user with email ${email} already exists in emailpassword loginMethod.`;
const otherTenantTaken = (userId: string, tenantId: string, email: string) =>
  `E014: We tried to add the userId ${userId} to the tenantId ${tenantId} but another user with email ${email} ` +
  "already exists.";
const externalIdExists = (id: string | undefined) => `E031: A user with externalId ${id} already exists`;
const externalIdIsUserId =
  "E030: io.supertokens.pluginInterface.bulkimport.exceptions.BulkImportBatchInsertException: useridmapping errors";

/**
 * E003 or E014 for a login method whose email the storage refused: the core creates the user in its first tenant
 * and then adds it to the others, so the first tenant holding the email names the failure. The user id is the
 * SuperTokens one: the mapping is made after the tenants.
 */
async function emailTaken(app: AppContext, lm: BulkLoginMethod): Promise<string> {
  const email = lm.email ?? "";
  const [first, ...others] = lm.tenantIds;
  const holds = async (tenantId: string) =>
    (await app.storage.findUsersByEmail(email, tenantId)).some((u) => u.id !== lm.superTokensUserId);
  if (others.length === 0 || (await holds(first))) return firstTenantTaken(email);
  for (const tenantId of others) {
    if (await holds(tenantId)) return otherTenantTaken(lm.superTokensUserId, tenantId, email);
  }
  return firstTenantTaken(email);
}

/**
 * The core's message for a third-party or passwordless login method whose identity, email or phone number is
 * taken (BulkImport.processThirdPartyLoginMethod, processPasswordlessLoginMethod: E005, E006, E007).
 */
function duplicateMessage(lm: BulkLoginMethod): string {
  if (lm.recipeId === "thirdparty")
    return (
      `E005: A user with thirdPartyId ${lm.thirdPartyId} and thirdPartyUserId ${lm.thirdPartyUserId} already ` +
      "exists in thirdparty loginMethod."
    );
  return lm.email !== undefined
    ? `E006: A user with email ${lm.email} already exists in passwordless loginMethod.`
    : `E007: A user with phoneNumber ${lm.phoneNumber} already exists in passwordless loginMethod.`;
}

/** The stored record of one login method. */
async function recordOf(app: AppContext, lm: BulkLoginMethod): Promise<UserRecord> {
  const base = { id: lm.superTokensUserId, timeJoined: lm.timeJoinedInMSSinceEpoch, tenantIds: lm.tenantIds };
  if (lm.recipeId === "thirdparty")
    return {
      ...base,
      recipeId: "thirdparty",
      email: lm.email!,
      thirdParty: { id: lm.thirdPartyId!, userId: lm.thirdPartyUserId! },
    };
  if (lm.recipeId === "passwordless")
    return {
      ...base,
      recipeId: "passwordless",
      ...(lm.email !== undefined ? { email: lm.email } : {}),
      ...(lm.phoneNumber !== undefined ? { phoneNumber: lm.phoneNumber } : {}),
    };
  const passwordHash = lm.passwordHash ?? (await hashForApp(app.config(), lm.plainTextPassword!));
  return { ...base, recipeId: "emailpassword", email: lm.email!, passwordHash };
}

/**
 * BulkImport.importUser, one user at a time: each login method (user and tenants), then, with several, the primary
 * user and its links, the external id's mapping on the primary login, email verification, metadata and roles; all
 * or nothing (the core runs them in one transaction; the dev core undoes what it wrote on failure). An existing
 * email, provider identity, phone number or external id fails the user; nothing existing is ever changed.
 */
export async function importBulkUser(app: AppContext, entry: BulkEntry): Promise<UserRecord> {
  const { storage } = app;
  const primary = primaryLoginMethod(entry.loginMethods);
  const externalId = entry.externalUserId;
  if (externalId !== undefined) {
    if (await storage.getMapping(externalId, "EXTERNAL")) throw new BulkImportFailure(externalIdExists(externalId));
    if (await storage.getUser(externalId)) throw new BulkImportFailure(externalIdIsUserId);
  }
  const written: UserRecord[] = [];
  try {
    for (const lm of entry.loginMethods) {
      const record = await recordOf(app, lm);
      const inserted = await storage.insertUser(record);
      if (inserted === "EMAIL_ALREADY_EXISTS" && lm.recipeId === "emailpassword")
        throw new BulkImportFailure(await emailTaken(app, lm));
      if (inserted !== "OK") throw new BulkImportFailure(duplicateMessage(lm));
      written.push(record);
    }
    if (entry.loginMethods.length > 1) {
      await storage.setLink(primary.superTokensUserId, primary.superTokensUserId);
      for (const lm of entry.loginMethods)
        if (lm !== primary) await storage.setLink(lm.superTokensUserId, primary.superTokensUserId);
    }
    if (
      externalId !== undefined &&
      (await storage.insertMapping({ superTokensUserId: primary.superTokensUserId, externalUserId: externalId })) ===
        "EXISTS"
    ) {
      throw new BulkImportFailure(externalIdExists(externalId));
    }
    // Non-auth data lives under the external id once mapped (BulkImport.verifyEmailForAllLoginMethods,
    // createUserMetadata use getSuperTokenOrExternalUserId).
    const dataIdOf = (lm: BulkLoginMethod) =>
      lm === primary ? (externalId ?? lm.superTokensUserId) : lm.superTokensUserId;
    for (const lm of entry.loginMethods)
      if (lm.isVerified && lm.email !== undefined) await storage.setEmailVerified(dataIdOf(lm), lm.email, true);
    const dataId = dataIdOf(primary);
    if (entry.userMetadata !== undefined) await updateMetadata(storage, dataId, entry.userMetadata);
    const roleFailure = await grantBulkRoles(app, dataId, entry);
    if (roleFailure !== undefined) throw new BulkImportFailure(roleFailure);
  } catch (err) {
    if (externalId !== undefined) {
      const mapping = await storage.getMapping(primary.superTokensUserId, "SUPERTOKENS");
      if (mapping?.externalUserId === externalId) await storage.deleteMapping(primary.superTokensUserId);
    }
    for (const record of written.reverse()) await storage.deleteUser(record.id);
    throw err;
  }
  // Read back: the links set above are not in the records as written.
  return (await storage.getUser(primary.superTokensUserId)) ?? written[0];
}

/**
 * The users of a chunk, each by the path it needs: plain email-password users batched (importBulkUsers), the
 * others one by one (importBulkUser). Failure messages in the chunk's order.
 */
async function importMixed(app: AppContext, entries: BulkEntry[]): Promise<(string | undefined)[]> {
  const failures: (string | undefined)[] = entries.map(() => undefined);
  const batched = entries.filter(isPlainEmailPassword);
  const batchFailures = batched.length > 0 ? await importBulkUsers(app, batched) : [];
  const byEntry = new Map(batched.map((e, i) => [e, batchFailures[i]]));
  for (const [i, entry] of entries.entries()) {
    if (byEntry.has(entry)) {
      failures[i] = byEntry.get(entry);
      continue;
    }
    try {
      await importBulkUser(app, entry);
    } catch (err) {
      failures[i] = err instanceof BulkImportFailure ? err.message : `Internal error: ${String(err)}`;
    }
  }
  return failures;
}

/**
 * importBulkUser for many users at once, through the storage's importUsers (batched writes on PostgreSQL): each
 * user's failure message as importBulkUser would give it, or undefined when imported.
 */
export async function importBulkUsers(app: AppContext, entries: BulkEntry[]): Promise<(string | undefined)[]> {
  const failures: (string | undefined)[] = entries.map(() => undefined);
  const records: ImportUserRecord[] = [];
  const at: number[] = [];
  for (const [i, entry] of entries.entries()) {
    const lm = entry.loginMethods[0];
    try {
      const passwordHash = lm.passwordHash ?? (await hashForApp(app.config(), lm.plainTextPassword!));
      const user: UserRecord = {
        id: lm.superTokensUserId,
        recipeId: "emailpassword",
        email: lm.email!,
        passwordHash,
        timeJoined: lm.timeJoinedInMSSinceEpoch,
        tenantIds: lm.tenantIds,
      };
      records.push({
        user,
        externalUserId: entry.externalUserId,
        verified: lm.isVerified,
        metadataUpdate: entry.userMetadata,
      });
      at.push(i);
    } catch (err) {
      failures[i] = `Internal error: ${String(err)}`;
    }
  }
  const outcomes = await app.storage.importUsers(records);
  for (const [j, outcome] of outcomes.entries()) {
    const entry = entries[at[j]];
    failures[at[j]] = await failureMessage(app, outcome, entry);
    // The roles were checked when the user was added; one deleted since fails the user as the core's transaction
    // would, though here the user is already written.
    if (outcome === "OK") failures[at[j]] = await grantBulkRoles(app, entry.externalUserId ?? entry.id, entry);
  }
  return failures;
}

/**
 * BulkImport.createUserRoles: each role in each of its tenants, under the external id when there is one. Returns the
 * core's failure message for a role that does not exist, or undefined.
 */
async function grantBulkRoles(app: AppContext, userId: string, entry: BulkEntry): Promise<string | undefined> {
  for (const { role, tenantIds } of entry.userRoles ?? []) {
    for (const tenantId of tenantIds) {
      if ((await app.storage.roles.addUserRole(tenantId, userId, role)) === "UNKNOWN_ROLE") {
        return `E034: Role ${role} does not exist! You need pre-create the role before assigning it to the user.`;
      }
    }
  }
  return undefined;
}

async function failureMessage(
  app: AppContext,
  outcome: ImportUserOutcome,
  entry: BulkEntry,
): Promise<string | undefined> {
  if (outcome === "OK") return undefined;
  if (outcome === "EMAIL_ALREADY_EXISTS") return emailTaken(app, entry.loginMethods[0]);
  if (outcome === "EXTERNAL_ID_EXISTS") return externalIdExists(entry.externalUserId);
  if (outcome === "EXTERNAL_ID_IS_USER_ID") return externalIdIsUserId;
  return `Internal error: ${String(outcome.error)}`;
}
