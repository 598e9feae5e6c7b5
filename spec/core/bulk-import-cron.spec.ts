/**
 * The dev core's bulk-import queue processed the way a real core's ProcessBulkImportUsers cron does it, with a
 * shortened interval: nothing moves before a tick; a tick runs rounds of bulk_migration_batch_size users with a
 * pause between them until a round finds none; users added after that wait for the next tick. Plus the real
 * core's answers the dev core now reproduces: a 500 for a batch holding a Firebase hash without a signer key, a tick
 * that stops on a queued Firebase hash whose key went away, 200 for an empty `ids` on remove, a login method without
 * a tenant refused.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { firebaseRow } from "../helpers/import-fixtures.js";
import { createCoreApp } from "../helpers/sdk.js";

const intervalMs = 2000;
const pauseMs = 500;
const roundSize = 40;
let core: DevCore;

before(async () => {
  core = await startDevCore({
    config: {
      bcrypt_log_rounds: 4,
      bulk_migration_batch_size: roundSize,
      dev_core_bulk_import_cron_interval_ms: intervalMs,
      dev_core_bulk_import_round_pause_ms: pauseMs,
    },
  });
});
after(() => core.close());

const bcryptHash = `$2b$04$${"a".repeat(53)}`;

async function call(uri: string, method: string, path: string, body?: unknown) {
  const res = await fetch(uri + path, {
    method,
    headers: { "content-type": "application/json", "cdi-version": "5.4" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json: json as Record<string, unknown> };
}

const users = (n: number, prefix: string, hash = bcryptHash, algorithm = "bcrypt") =>
  Array.from({ length: n }, (_, i) => ({
    externalUserId: `${prefix}-${i}`,
    loginMethods: [
      {
        recipeId: "emailpassword",
        email: `${prefix}${i}@example.com`,
        passwordHash: hash,
        hashingAlgorithm: algorithm,
      },
    ],
  }));

const pending = async (uri: string) => {
  const [fresh, processing] = await Promise.all(
    ["NEW", "PROCESSING"].map(async (s) => (await call(uri, "GET", `/bulk-import/users/count?status=${s}`)).json),
  );
  return (fresh.count as number) + (processing.count as number);
};

/** (ms since `t0`, pending) every few ms until the queue is empty: the queue's timeline as a client sees it. */
async function timeline(uri: string, t0: number): Promise<[number, number][]> {
  const points: [number, number][] = [];
  for (;;) {
    const n = await pending(uri);
    points.push([Date.now() - t0, n]);
    if (n === 0) return points;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** How long the queue stayed at exactly `n` users. */
const plateau = (points: [number, number][], n: number) => {
  const at = points.filter(([, p]) => p === n).map(([t]) => t);
  return at.length ? at[at.length - 1] - at[0] : 0;
};

describe("dev core bulk-import cron mode", () => {
  it("waits for the tick, then runs rounds of bulk_migration_batch_size with pauses until one finds none", async () => {
    const uri = await createCoreApp(core.url);
    const t0 = Date.now();
    const res = await call(uri, "POST", "/bulk-import/users", { users: users(100, "cron") });
    assert.equal(res.status, 200);
    assert.equal(await pending(uri), 100, "nothing moves before the tick");
    const points = await timeline(uri, t0);
    const firstMove = points.find(([, p]) => p < 100)![0];
    assert.ok(firstMove >= intervalMs - 100, `the first user moved after ${firstMove} ms, before the tick`);
    // Rounds of 40: the queue rests at 60 and at 20 for a pause each.
    assert.ok(plateau(points, 60) >= pauseMs - 100, `rested ${plateau(points, 60)} ms at 60`);
    assert.ok(plateau(points, 20) >= pauseMs - 100, `rested ${plateau(points, 20)} ms at 20`);
    const done = points[points.length - 1][0];
    assert.ok(done < 2 * intervalMs, `one tick processed the whole queue (done after ${done} ms)`);
    assert.equal((await call(uri, "GET", "/public/users/count")).json.count, 100);

    // The last round emptied the queue; the tick ends only on a round that finds none, after the pause. Users
    // queued during that pause are taken by that round, without waiting for the next tick.
    const t1 = Date.now();
    assert.equal((await call(uri, "POST", "/bulk-import/users", { users: users(5, "late") })).status, 200);
    const late = await timeline(uri, t1);
    const nextTick = intervalMs - ((t1 - t0) % intervalMs);
    assert.ok(
      late[late.length - 1][0] < nextTick,
      `users queued during the closing pause went with its round: ${JSON.stringify([nextTick, late.at(-1)])}`,
    );
  });
});

describe("dev core bulk-import answers as the real core", () => {
  it("a Firebase scrypt hash without firebase_password_hashing_signer_key is a 500 for the whole batch", async () => {
    const uri = await createCoreApp(core.url);
    const fb = firebaseRow("fb-1", "fb@example.com", Buffer.from("signer-key").toString("base64"));
    const batch = [...users(2, "ok"), ...users(1, "fb", fb.hash, "firebase_scrypt")];
    const res = await call(uri, "POST", "/bulk-import/users", { users: batch });
    assert.equal(res.status, 500);
    assert.equal(res.text, "Internal Error\n");
    assert.equal(await pending(uri), 0, "nothing of the batch was queued");

    const keyed = await createCoreApp(core.url, {
      firebase_password_hashing_signer_key: Buffer.from("signer-key").toString("base64"),
    });
    assert.equal((await call(keyed, "POST", "/bulk-import/users", { users: batch })).status, 200);
  });

  it(
    "a Firebase hash whose signer key went away after the POST: the tick stops on it, nobody of its share of the " +
      "round is imported or FAILED, every tick again, until the row is removed",
    async () => {
      const key = Buffer.from("signer-key").toString("base64");
      const uri = await createCoreApp(core.url, { firebase_password_hashing_signer_key: key });
      const fb = firebaseRow("fb-late", "late-fb@example.com", key);
      await call(uri, "POST", "/bulk-import/backgroundjob", { command: "STOP" });
      try {
        const batch = [...users(2, "kept"), ...users(1, "fb-late", fb.hash, "firebase_scrypt")];
        assert.equal((await call(uri, "POST", "/bulk-import/users", { users: batch })).status, 200);
        const appId = /appid-(.+)$/.exec(uri)![1];
        const removed = await call(core.url, "PUT", "/recipe/multitenancy/app/v2", {
          appId,
          coreConfig: { firebase_password_hashing_signer_key: null },
        });
        assert.equal(removed.json.status, "OK");
      } finally {
        await call(uri, "POST", "/bulk-import/backgroundjob", { command: "START" });
      }
      // Nothing to wait for but time: two ticks come and go and leave the queue as it was.
      const until = Date.now() + 2 * intervalMs + pauseMs;
      while (Date.now() < until) {
        assert.equal(await pending(uri), 3);
        assert.equal((await call(uri, "GET", "/bulk-import/users/count?status=FAILED")).json.count, 0);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await call(uri, "GET", "/public/users/count")).json.count, 0);

      const rows = (await call(uri, "GET", "/bulk-import/users")).json.users as {
        id: string;
        externalUserId: string;
      }[];
      const fbRow = rows.find((r) => r.externalUserId === "fb-late-0")!;
      await call(uri, "POST", "/bulk-import/users/remove", { ids: [fbRow.id] });
      await timeline(uri, Date.now());
      assert.equal((await call(uri, "GET", "/public/users/count")).json.count, 2);
      assert.equal((await call(uri, "GET", "/bulk-import/users/count?status=FAILED")).json.count, 0);
    },
  );

  it("a user failing the second validation holds the others of its chunk over to the next tick", async () => {
    const uri = await createCoreApp(core.url);
    await call(uri, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "gone" });
    const [lost, ...kept] = users(3, "held");
    (lost.loginMethods[0] as Record<string, unknown>).tenantIds = ["gone"];
    await call(uri, "POST", "/bulk-import/backgroundjob", { command: "STOP" });
    try {
      assert.equal((await call(uri, "POST", "/bulk-import/users", { users: [lost, ...kept] })).status, 200);
      await call(uri, "POST", "/recipe/multitenancy/tenant/remove", { tenantId: "gone" });
    } finally {
      await call(uri, "POST", "/bulk-import/backgroundjob", { command: "START" });
    }
    const failedCount = async () => (await call(uri, "GET", "/bulk-import/users/count?status=FAILED")).json.count;
    while ((await failedCount()) === 0) await new Promise((r) => setTimeout(r, 10));
    const failedAt = Date.now();
    assert.equal(await pending(uri), 2, "the others were not imported with it");
    const points = await timeline(uri, failedAt);
    const importedAfter = points[points.length - 1][0];
    assert.ok(importedAfter >= intervalMs - 300, `imported ${importedAfter} ms after the failure: the next tick`);
    assert.equal((await call(uri, "GET", "/public/users/count")).json.count, 2);
  });

  it("a core on its in-memory database refuses every bulk-import endpoint before reading the request", async () => {
    const uri = await createCoreApp(core.url, { dev_core_bulk_import_as_in_memory_db: true });
    const refusal = [400, "This API is not supported in the in-memory database.\n"];
    for (const [method, path, body] of [
      ["GET", "/bulk-import/users?limit=0", undefined],
      ["GET", "/bulk-import/users/count?status=NOPE", undefined],
      ["POST", "/bulk-import/users", { users: "not an array" }],
      ["POST", "/bulk-import/users/remove", { ids: null }],
      ["POST", "/bulk-import/import", { loginMethods: [] }],
    ] as const) {
      const res = await call(uri, method, path, body);
      assert.deepEqual([res.status, res.text], refusal, `${method} ${path}`);
    }
  });

  it("remove with ids [] answers 200 with empty lists", async () => {
    const uri = await createCoreApp(core.url);
    const res = await call(uri, "POST", "/bulk-import/users/remove", { ids: [] });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { deletedIds: [], invalidIds: [] });
  });

  it("blank strings are refused as Java's isBlank() sees them; no-break spaces are not blank", async () => {
    const uri = await createCoreApp(core.url);
    const [blank, tabs, nbsp] = users(3, "blank");
    blank.externalUserId = "   ";
    tabs.loginMethods[0].email = "\t\n";
    nbsp.externalUserId = "\u00a0";
    const res = await call(uri, "POST", "/bulk-import/users", { users: [blank, tabs, nbsp] });
    assert.equal(res.status, 400);
    const body = JSON.parse(res.text) as { users: { index: number; errors: string[] }[] };
    assert.deepEqual(
      body.users.map((u) => [u.index, u.errors]),
      [
        [0, ["externalUserId should be of type string."]],
        [1, ["email should be of type string for an emailpassword recipe."]],
      ],
    );
  });

  it("a login method with tenantIds [] or only unknown tenants has no tenant and is refused", async () => {
    const uri = await createCoreApp(core.url);
    const [none, unknown] = users(2, "tenantless");
    (none.loginMethods[0] as Record<string, unknown>).tenantIds = [];
    (unknown.loginMethods[0] as Record<string, unknown>).tenantIds = ["nope"];
    const res = await call(uri, "POST", "/bulk-import/users", { users: [none, unknown] });
    assert.equal(res.status, 400);
    const body = JSON.parse(res.text) as { users: { index: number; errors: string[] }[] };
    assert.match(body.users[0].errors.join("|"), /^LoginMethod '.*' has no tenantId$/);
    assert.deepEqual(body.users[1].errors[0], "Invalid tenantId: nope for emailpassword recipe.");
    assert.match(body.users[1].errors[1], /has no tenantId$/);
  });
});
