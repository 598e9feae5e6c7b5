import { setTimeout as sleep } from "node:timers/promises";
import { MigrateError } from "../errors.js";
import { coreError, type CoreClient } from "./core-http-client.js";
import { importLog } from "./log.js";
import type { Candidate, Outcome } from "./plan.js";

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
}

/** The FAILED queue rows of the users whose legacy ids `ids` holds. */
export async function listFailed(client: CoreClient, ids: { has(id: string): boolean }): Promise<QueueRow[]> {
  const rows: QueueRow[] = [];
  let token: string | undefined;
  do {
    const page = await client.ok<{ users: QueueRow[]; nextPaginationToken?: string }>("GET", "/bulk-import/users", {
      query: { status: "FAILED", limit: "500", paginationToken: token },
    });
    for (const r of page.users) if (r.externalUserId !== undefined && ids.has(r.externalUserId)) rows.push(r);
    token = page.nextPaginationToken;
  } while (token !== undefined);
  return rows;
}

export async function removeRows(client: CoreClient, ids: string[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await client.ok("POST", "/bulk-import/users/remove", { body: { ids: ids.slice(i, i + 500) } });
  }
}

/**
 * Wait until at most `maxPending` users are NEW or PROCESSING. Polls quickly while the queue moves and backs off
 * to 2 s while it does not (a real core processes every few minutes); fails after `stallMs` without progress.
 */
export async function waitForQueue(
  client: CoreClient,
  maxPending: number,
  stallMs: number,
  onPending: (pending: number) => void,
): Promise<void> {
  let last = -1;
  let lastChange = Date.now();
  let delay = 10;
  for (;;) {
    const pending = await pendingCount(client);
    onPending(pending);
    if (pending <= maxPending) return;
    if (pending !== last) {
      last = pending;
      lastChange = Date.now();
      delay = 10;
    } else if (Date.now() - lastChange > stallMs) {
      throw new MigrateError(
        "ERR_MIGRATE_TIMEOUT",
        `import: the core's bulk-import queue made no progress for ${Math.round(stallMs / 1000)} s (${pending} ` +
          `users waiting). ` +
          "Check that its bulk-import job runs (GET /bulk-import/backgroundjob), then run the import again: users " +
          "already imported are skipped.",
        { status: 504 },
      );
    }
    await sleep(delay);
    delay = Math.min(delay * 1.5, 2000);
  }
}

/** BulkImportUser JSON for one email-password user; the legacy id becomes the external user id. */
function bulkUser(c: Candidate): Record<string, unknown> {
  return {
    externalUserId: c.id,
    ...(c.metadata !== undefined ? { userMetadata: c.metadata } : {}),
    loginMethods: [
      {
        recipeId: "emailpassword",
        email: c.email,
        passwordHash: c.passwordHash,
        hashingAlgorithm: c.algorithm,
        isVerified: c.emailVerified,
        ...(c.timeJoined !== undefined ? { timeJoinedInMSSinceEpoch: c.timeJoined } : {}),
      },
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

export interface BulkRun {
  /** Users whose outcome the run settled; the rest of `candidates` were accepted by the queue. */
  rejected: Outcome[];
  /** Accepted users, by legacy id. */
  accepted: Map<string, Candidate>;
}

/**
 * Queue `candidates` in batches (each at most 10,000, the core's limit) and wait until the core processed them,
 * keeping at most one batch waiting so the core is never idle and the queue never floods. A user the core's
 * validation refuses is settled as failed and the rest of its batch is sent again. The bulk API never overwrites:
 * the core fails a user whose email or external id exists (T16).
 */
export async function queueUsers(
  client: CoreClient,
  candidates: readonly Candidate[],
  batchSize: number,
  stallMs: number,
  onSettled: (settled: number, queued: number) => void,
): Promise<BulkRun> {
  const rejected: Outcome[] = [];
  const accepted = new Map<string, Candidate>();
  const report = (pending: number) => onSettled(accepted.size - pending, accepted.size);
  for (let i = 0; i < candidates.length; i += batchSize) {
    let batch = candidates.slice(i, i + batchSize);
    for (let attempt = 0; batch.length > 0; attempt++) {
      const res = await client.call("POST", "/bulk-import/users", {
        body: { users: batch.map(bulkUser) },
        idempotent: false,
      });
      if (res.status === 200) {
        for (const c of batch) accepted.set(c.id, c);
        break;
      }
      const errors = res.status === 400 && attempt === 0 ? indexErrors(res.text) : undefined;
      if (!errors) throw coreError("POST", "/bulk-import/users", res);
      for (const [index, messages] of errors) {
        const c = batch[index];
        rejected.push({ kind: "failed", row: c.row, id: c.id, reason: "core-rejected", detail: messages.join("; ") });
      }
      batch = batch.filter((_, index) => !errors.has(index));
    }
    importLog("queued %d of %d users", accepted.size, candidates.length);
    await waitForQueue(client, batchSize, stallMs, report);
  }
  await waitForQueue(client, 0, stallMs, report);
  return { rejected, accepted };
}
