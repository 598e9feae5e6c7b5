import { setTimeout as sleep } from "node:timers/promises";
import { MigrateError } from "../errors.js";
import { coreError, type CoreClient } from "./core-http-client.js";
import { importLog } from "./log.js";
import type { Candidate, Outcome } from "./plan.js";
import { ensureRoles } from "./roles.js";

/**
 * How a SuperTokens core processes its bulk-import queue (CORE cronjobs/bulkimport/ProcessBulkImportUsers.java):
 * a cron tick every 300 s, fixed, which does nothing when the queue is empty and otherwise runs rounds of up to
 * `bulk_migration_batch_size` users (default 8000; `bulk_migration_parallelism` threads) with a 1 s pause between
 * them, until a round finds no user. Users queued after that wait for the next tick.
 */
export const CORE_BULK_CRON = Object.freeze({ intervalSeconds: 300, roundSize: 8000, pauseSeconds: 1 });

/**
 * Users kept queued ahead of the core. The cron stops for 300 s as soon as one round finds the queue empty, so the
 * queue must never run dry while the import still has users: this is more than six default rounds, and the import
 * tops it up on every poll (at most a second apart), far sooner than six rounds and their pauses take.
 */
export const QUEUE_DEPTH = 50_000;

/** The longest gap between two looks at the queue while users remain to be queued: well inside a 1 s pause. */
const REFILL_POLL_MS = 200;

/**
 * How long the queue may stand still before the import looks at the users left in it: one whole cron interval and
 * a margin, so a tick has come and gone without taking them.
 */
const STUCK_LOOK_MS = (CORE_BULK_CRON.intervalSeconds + 30) * 1000;

/** The words the import prints when it starts waiting for the core's cron. */
export const cronNotice = (queued: number): string =>
  `${queued} users queued. A SuperTokens core imports them with its bulk-import cron: a tick every ` +
  `${CORE_BULK_CRON.intervalSeconds} s (fixed), then rounds of bulk_migration_batch_size users (its config; default ` +
  `${CORE_BULK_CRON.roundSize}, run by bulk_migration_parallelism threads) ${CORE_BULK_CRON.pauseSeconds} s apart. ` +
  `The first users can wait up to ${CORE_BULK_CRON.intervalSeconds / 60} minutes before the core starts.`;

/** How the target answered GET /bulk-import/users/count. */
export type BulkSupport = { offered: true } | { offered: false; why: string };

/**
 * A core offers bulk import when the count answers 200. 404 (an older core) and 501 (a dev core without it)
 * mean no, and so does the in-memory database's 400.
 */
export async function detectBulk(client: CoreClient): Promise<BulkSupport> {
  const res = await client.call<{ status?: unknown }>("GET", "/bulk-import/users/count");
  if (res.status === 200 && res.json?.status === "OK") return { offered: true };
  if (res.status === 404 || res.status === 501 || (res.status === 400 && /not supported/i.test(res.text))) {
    return { offered: false, why: `GET /bulk-import/users/count answered ${res.status}` };
  }
  throw coreError("GET", "/bulk-import/users/count", res);
}

async function count(client: CoreClient, status: "NEW" | "PROCESSING" | "FAILED"): Promise<number> {
  return (await client.ok<{ count: number }>("GET", "/bulk-import/users/count", { query: { status } })).count;
}

export async function pendingCount(client: CoreClient): Promise<number> {
  const [fresh, processing] = await Promise.all([count(client, "NEW"), count(client, "PROCESSING")]);
  return fresh + processing;
}

export interface QueueRow {
  id: string;
  externalUserId?: string;
  errorMessage?: string;
  loginMethods?: { hashingAlgorithm?: string }[];
}

/** The queue rows with `status` of the users whose legacy ids `ids` holds. */
async function listRows(
  client: CoreClient,
  status: "NEW" | "PROCESSING" | "FAILED",
  ids: { has(id: string): boolean },
): Promise<QueueRow[]> {
  const rows: QueueRow[] = [];
  let token: string | undefined;
  do {
    const page = await client.ok<{ users: QueueRow[]; nextPaginationToken?: string }>("GET", "/bulk-import/users", {
      query: { status, limit: "500", paginationToken: token },
    });
    for (const r of page.users) if (r.externalUserId !== undefined && ids.has(r.externalUserId)) rows.push(r);
    token = page.nextPaginationToken;
  } while (token !== undefined);
  return rows;
}

/** The FAILED queue rows of the users whose legacy ids `ids` holds. */
export const listFailed = (client: CoreClient, ids: { has(id: string): boolean }): Promise<QueueRow[]> =>
  listRows(client, "FAILED", ids);

export async function removeRows(client: CoreClient, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await client.ok("POST", "/bulk-import/users/remove", { body: { ids: ids.slice(i, i + 500) } });
  }
}

/**
 * Wait until at most `maxPending` users are NEW or PROCESSING. Polls every 10 ms at first, backing off to
 * `maxDelayMs`, whether the queue moves or not: a count is no cheap question for a core with a deep queue (the
 * dev core counts its queue entry by entry; polling every 10 ms while it moved cost it about half its CPU time
 * in a 50,000-user import). Once it stood still for a whole cron interval (or `stallMs`, if shorter),
 * `onStuck` may take users out of it (true when it did, which counts as progress); after `stallMs` without
 * progress it fails.
 */
export async function waitForQueue(
  client: CoreClient,
  maxPending: number,
  stallMs: number,
  onPending: (pending: number) => void,
  maxDelayMs = 1000,
  onStuck: () => Promise<boolean> = async () => false,
): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  let looked = false;
  let delay = 10;
  for (;;) {
    const pending = await pendingCount(client);
    onPending(pending);
    if (pending <= maxPending) return;
    const still = Date.now() - lastChange;
    if (pending !== last) {
      last = pending;
      lastChange = Date.now();
      looked = false;
    } else if (!looked && still >= Math.min(stallMs, STUCK_LOOK_MS)) {
      looked = true;
      if (await onStuck()) {
        last = -1;
        continue;
      }
    } else if (still > stallMs) {
      throw new MigrateError(
        "ERR_MIGRATE_TIMEOUT",
        `import: the core's bulk-import queue made no progress for ${Math.round(stallMs / 1000)} s (${pending} ` +
          `users waiting). A SuperTokens core takes its queue every ${CORE_BULK_CRON.intervalSeconds} s ` +
          "(ProcessBulkImportUsers in its logs at DEBUG level), so a queue that stands still longer means the " +
          "cron is not running or fails: look for ProcessBulkImportUsers errors in the core's logs, then run the " +
          "import again: users already imported are skipped. --stall-timeout sets how long to wait.",
        { status: 504 },
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, maxDelayMs);
  }
}

/**
 * BulkImportUser JSON for one user; the legacy id becomes the external user id. Its login methods: email-password
 * when the row has a hash, third party when it has an identity; with both, the email-password one is the primary
 * (the core maps the external id to the primary login, so a password sign-in keeps landing on the legacy id).
 */
function bulkUser(c: Candidate): Record<string, unknown> {
  const joined = c.timeJoined !== undefined ? { timeJoinedInMSSinceEpoch: c.timeJoined } : {};
  const both = c.passwordHash !== undefined && c.thirdParty !== undefined;
  return {
    externalUserId: c.id,
    ...(c.metadata !== undefined ? { userMetadata: c.metadata } : {}),
    ...(c.roles.length > 0 ? { userRoles: c.roles.map((role) => ({ role, tenantIds: ["public"] })) } : {}),
    loginMethods: [
      ...(c.passwordHash !== undefined
        ? [
            {
              recipeId: "emailpassword",
              email: c.email,
              passwordHash: c.passwordHash,
              hashingAlgorithm: c.algorithm,
              isVerified: c.emailVerified,
              ...(both ? { isPrimary: true } : {}),
              ...joined,
            },
          ]
        : []),
      ...(c.thirdParty !== undefined
        ? [
            {
              recipeId: "thirdparty",
              email: c.email,
              thirdPartyId: c.thirdParty.id,
              thirdPartyUserId: c.thirdParty.userId,
              isVerified: c.thirdParty.emailVerified,
              ...joined,
            },
          ]
        : []),
    ],
  };
}

/** The per-index errors of the core's 400 for POST /bulk-import/users, if that is what the body holds. */
function indexErrors(text: string): Map<number, string[]> | undefined {
  try {
    const body = JSON.parse(text) as { users?: { index: number; errors: string[] }[] };
    if (!Array.isArray(body.users)) return undefined;
    return new Map(body.users.map((u) => [u.index, u.errors]));
  } catch {
    return undefined;
  }
}

/** A core without firebase_password_hashing_signer_key answers a Firebase scrypt hash with a 500 for the batch. */
export const firebaseSkipDetail =
  "the core answered 500 to a Firebase scrypt hash: it has no firebase_password_hashing_signer_key. Set it (your " +
  "Firebase project's hash config signer key) in the core's config.yaml or the app's coreConfig and run the import " +
  "again; until then these users can sign in through legacyAuth()";

/**
 * A core that lost firebase_password_hashing_signer_key after it queued Firebase scrypt users: its cron validates
 * each user again, the key's getter throws, and nothing catches it, so those users (and the others of their
 * worker's share of the round) are neither imported nor marked FAILED; they wait in the queue and every tick fails
 * on them again. A core that reports them as FAILED names the key in the message.
 */
export const firebaseKeyDetail =
  "Firebase hashes need firebase_password_hashing_signer_key in the core's config: the core's bulk-import cron " +
  "stops at them without it. Set it (your Firebase project's hash config signer key) in the core's config.yaml " +
  "or the app's coreConfig and run the import again; until then these users can sign in through legacyAuth()";

const usesFirebase = (row: QueueRow) =>
  (row.loginMethods ?? []).some((lm) => lm.hashingAlgorithm?.toUpperCase() === "FIREBASE_SCRYPT");

type Posted = { status: "accepted" } | { status: "rejected"; errors: Map<number, string[]> } | { status: "500" };

/** POST one batch: accepted, refused per user (the core's 400), or the core's 500 (kept for the Firebase probe). */
async function postBatch(client: CoreClient, batch: readonly Candidate[]): Promise<Posted> {
  // The core refuses a user whose role does not exist: create this batch's roles first.
  await ensureRoles(
    client,
    batch.flatMap((c) => c.roles),
  );
  const res = await client.call("POST", "/bulk-import/users", {
    body: { users: batch.map(bulkUser) },
    idempotent: false,
  });
  if (res.status === 200) return { status: "accepted" };
  if (res.status === 500) return { status: "500" };
  const errors = res.status === 400 ? indexErrors(res.text) : undefined;
  if (!errors) throw coreError("POST", "/bulk-import/users", res);
  return { status: "rejected", errors };
}

/**
 * Queues users for the core's bulk import a window at a time, in POSTs of `batchSize` (each at most 10,000, the
 * core's limit), keeping up to `depth` users queued so that the core's cron always finds work; `finish` waits until
 * the core processed them all. Each user is settled as it is sent: accepted (`onAccepted`; whether the core then
 * imports or fails it is known once the queue drained), or refused by the core's validation (`onRejected`, failed;
 * the rest of its batch is sent again). The first Firebase scrypt hash goes alone: a 500 there means the core cannot
 * take them, and every Firebase user is skipped with the reason while the others carry on. A core that loses the
 * key after they were queued stops its cron at them instead: when the queue stood still for a whole tick, the
 * Firebase users still in it are taken out (`withdrawn`) and skipped, and the others go on. The bulk API never
 * overwrites: the core fails a user whose email or external id exists (T16).
 */
export class BulkSender {
  /** Users the queue accepted so far. */
  queued = 0;
  private firebase: "untried" | "taken" | "refused" = "untried";
  private firebaseSkipped = 0;
  /** Firebase users the queue accepted, by legacy id: what a core that lost its signer key leaves stuck. */
  private readonly queuedFirebase = new Map<string, Candidate>();
  private readonly watch: (queued: number, settled: number) => void;

  constructor(
    private readonly client: CoreClient,
    private readonly batchSize: number,
    private readonly stallMs: number,
    private readonly on: {
      accepted: (c: Candidate) => void;
      /**
       * A user `accepted` reported is taken out of the queue again (settled through `rejected` right after): the
       * caller must not count it as imported, as for a FAILED row (Tally.settleAccepted).
       */
      withdrawn: (c: Candidate) => void;
      rejected: (o: Outcome) => void;
      settled: (settled: number, queued: number) => void;
      notify: (message: string) => void;
    },
    /** Users expected in all, for the time-left notice. */
    total: number,
    private readonly depth = QUEUE_DEPTH,
  ) {
    this.watch = waitReporter(total, on.notify);
  }

  private readonly report = (pending: number) => {
    this.on.settled(this.queued - pending, this.queued);
    this.watch(this.queued, this.queued - pending);
  };

  /** Sends `batch` until the core takes what is left of it; false on a 500. */
  private async post(batch: Candidate[]): Promise<boolean> {
    for (let attempt = 0; batch.length > 0; attempt++) {
      const posted = await postBatch(this.client, batch);
      if (posted.status === "500") return false;
      if (posted.status === "accepted") {
        this.queued += batch.length;
        for (const c of batch) {
          if (c.algorithm === "firebase_scrypt") this.queuedFirebase.set(c.id, c);
          this.on.accepted(c);
        }
        return true;
      }
      if (attempt > 0)
        throw new MigrateError(
          "ERR_MIGRATE_IMPORT",
          "import: the core refused users of a batch again after the refused ones were taken out",
          { status: 502 },
        );
      for (const [index, messages] of posted.errors) {
        const c = batch[index];
        this.on.rejected({
          kind: "failed",
          row: c.row,
          id: c.id,
          reason: "core-rejected",
          detail: messages.join("; "),
        });
      }
      batch = batch.filter((_, index) => !posted.errors.has(index));
    }
    return true;
  }

  private skipFirebase(c: Candidate): void {
    this.firebaseSkipped++;
    this.on.rejected({ kind: "skipped", row: c.row, id: c.id, reason: "unsupported-hash", detail: firebaseSkipDetail });
  }

  /** Queues a window of users; when it returns, each of them is accepted, refused or skipped. */
  async send(candidates: readonly Candidate[]): Promise<void> {
    let rest = [...candidates];
    if (this.firebase === "untried") {
      const probe = rest.find((c) => c.algorithm === "firebase_scrypt");
      if (probe !== undefined) {
        rest = rest.filter((c) => c !== probe);
        await waitForQueue(
          this.client,
          Math.max(0, this.depth - 1),
          this.stallMs,
          this.report,
          REFILL_POLL_MS,
          this.onStuck,
        );
        if (await this.post([probe])) this.firebase = "taken";
        else {
          this.firebase = "refused";
          importLog("a Firebase scrypt hash answered 500: skipping every Firebase user");
          this.skipFirebase(probe);
        }
      }
    }
    if (this.firebase === "refused") {
      for (const c of rest) if (c.algorithm === "firebase_scrypt") this.skipFirebase(c);
      rest = rest.filter((c) => c.algorithm !== "firebase_scrypt");
    }
    for (let i = 0; i < rest.length; i += this.batchSize) {
      // Topping up must happen within the core's 1 s pause between rounds, so the poll never backs off past 200 ms.
      await waitForQueue(
        this.client,
        Math.max(0, this.depth - this.batchSize),
        this.stallMs,
        this.report,
        REFILL_POLL_MS,
        this.onStuck,
      );
      if (!(await this.post(rest.slice(i, i + this.batchSize))))
        throw coreError("POST", "/bulk-import/users", { status: 500, text: "Internal Error", json: undefined });
      importLog("queued %d users", this.queued);
    }
  }

  /** Waits until the core processed every queued user. */
  async finish(): Promise<void> {
    if (this.firebaseSkipped > 0)
      this.on.notify(`${this.firebaseSkipped} users with Firebase scrypt hashes are skipped: ${firebaseSkipDetail}.`);
    await waitForQueue(this.client, 0, this.stallMs, this.report, undefined, this.onStuck);
    if (this.queuedFirebase.size > 0) {
      const failed = await listFailed(this.client, this.queuedFirebase);
      await this.withdrawFirebase(
        failed.filter((r) => /firebase_password_hashing_signer_key/.test(r.errorMessage ?? "")),
        "FAILED rows name the signer key",
      );
    }
  }

  /** The queue stood still for a whole tick: Firebase users still in it are what stops the cron. */
  private readonly onStuck = async (): Promise<boolean> => {
    if (this.queuedFirebase.size === 0) return false;
    const waiting = [
      ...(await listRows(this.client, "NEW", this.queuedFirebase)),
      ...(await listRows(this.client, "PROCESSING", this.queuedFirebase)),
    ];
    return this.withdrawFirebase(waiting.filter(usesFirebase), "the queue stood still with Firebase users in it");
  };

  /** Takes these queue rows of Firebase users out and settles them as skipped; true when there were any. */
  private async withdrawFirebase(rows: QueueRow[], why: string): Promise<boolean> {
    const ours = rows.filter((r) => this.queuedFirebase.has(r.externalUserId!));
    if (ours.length === 0) return false;
    await removeRows(
      this.client,
      ours.map((r) => r.id),
    );
    importLog("%s: %d Firebase users taken out of the queue", why, ours.length);
    this.on.notify(`${ours.length} users with Firebase scrypt hashes are skipped: ${firebaseKeyDetail}.`);
    for (const r of ours) {
      const c = this.queuedFirebase.get(r.externalUserId!)!;
      this.queuedFirebase.delete(c.id);
      this.queued--;
      this.on.withdrawn(c);
      this.on.rejected({
        kind: "skipped",
        row: c.row,
        id: c.id,
        reason: "unsupported-hash",
        detail: firebaseKeyDetail,
      });
    }
    return true;
  }
}

export interface BulkRun {
  /** Users whose outcome the run settled; the rest of `candidates` were accepted by the queue. */
  rejected: Outcome[];
  /** Accepted users, by legacy id. */
  accepted: Map<string, Candidate>;
}

/** All of `candidates` through a BulkSender, for callers that hold them all anyway. */
export async function queueUsers(
  client: CoreClient,
  candidates: readonly Candidate[],
  batchSize: number,
  stallMs: number,
  onSettled: (settled: number, queued: number) => void,
  notify: (message: string) => void = () => {},
  depth = QUEUE_DEPTH,
): Promise<BulkRun> {
  const rejected: Outcome[] = [];
  const accepted = new Map<string, Candidate>();
  const sender = new BulkSender(
    client,
    batchSize,
    stallMs,
    {
      accepted: (c) => accepted.set(c.id, c),
      withdrawn: (c) => accepted.delete(c.id),
      rejected: (o) => rejected.push(o),
      settled: onSettled,
      notify,
    },
    candidates.length,
    depth,
  );
  await sender.send(candidates);
  await sender.finish();
  return { rejected, accepted };
}

/**
 * The honest wait, since only the core knows when its cron runs: when users queued for 2 s have not started to
 * move, one line on how a core processes its queue (the first users can wait up to 300 s); once the core has
 * been processing for 5 s, one line with its measured rate and the time left.
 */
function waitReporter(total: number, notify: (message: string) => void): (queued: number, settled: number) => void {
  let firstQueued: number | undefined;
  let idleAnnounced = false;
  let started: { at: number; settled: number } | undefined;
  let rateAnnounced = false;
  return (queued, settled) => {
    const now = Date.now();
    if (queued > 0) firstQueued ??= now;
    if (settled <= 0) {
      if (!idleAnnounced && firstQueued !== undefined && now - firstQueued >= 2000) {
        idleAnnounced = true;
        notify(cronNotice(queued));
      }
      return;
    }
    if (!started) {
      started = { at: now, settled };
      return;
    }
    if (rateAnnounced || now - started.at < 5000) return;
    rateAnnounced = true;
    const rate = (settled - started.settled) / ((now - started.at) / 1000);
    const left = total - settled;
    notify(
      `the core is importing about ${Math.round(rate)} users/s: about ${
        rate > 0 ? Math.ceil(left / rate) : "?"
      } s left for ${left} users.`,
    );
  };
}
