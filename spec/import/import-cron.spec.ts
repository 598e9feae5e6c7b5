/**
 * The import against a dev core that processes its bulk-import queue as a real core's cron does (shortened
 * interval): everything is imported in one tick's rounds because the queue never runs dry, the wait is explained
 * on stderr, Firebase scrypt hashes on a core without a signer key are skipped with the reason while the others
 * are imported (also when the key goes away after they were queued), and a queue that never moves fails with the
 * cron's interval and where to look.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { queueUsers } from "../../lib/import/bulk.js";
import { CoreClient } from "../../lib/import/core-http-client.js";
import type { Candidate } from "../../lib/import/plan.js";
import { runImport } from "../../lib/import/run.js";
import { bcryptRows, coreUsers, firebaseRow, toNdjson } from "../helpers/import-fixtures.js";
import { createCoreApp } from "../helpers/sdk.js";

const intervalMs = 5000;
const pauseMs = 300;
const roundSize = 30;
let core: DevCore;
let dir: string;

before(async () => {
  core = await startDevCore({
    config: {
      bcrypt_log_rounds: 4,
      bulk_migration_batch_size: roundSize,
      dev_core_bulk_import_cron_interval_ms: intervalMs,
      dev_core_bulk_import_round_pause_ms: pauseMs,
    },
  });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import-cron-"));
});
after(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

describe("import against the real core's bulk-import cron", () => {
  it("imports every user, skips Firebase hashes the core cannot take with the reason, explains the wait", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(90, "cron");
    const firebase = [1, 2].map((i) =>
      firebaseRow(`fb-${i}`, `fb${i}@example.com`, Buffer.from("not-configured").toString("base64")),
    );
    const file = path.join(dir, "users.ndjson");
    await writeFile(file, toNdjson([firebase[0], ...rows.slice(0, 45), firebase[1], ...rows.slice(45)]));
    let stderr = "";
    const report = await runImport(
      { file, core: uri, mode: "bulk", batchSize: 20 },
      {
        stdout: { write: () => true },
        stderr: { write: (c: string) => ((stderr += c), true) },
        progress: "none",
      },
    );
    assert.deepEqual(report.imported.map((u) => u.id).sort(), rows.map((r) => r.id).sort());
    assert.deepEqual(
      report.skipped.map((s) => [s.id, s.reason]),
      [
        ["fb-1", "unsupported-hash"],
        ["fb-2", "unsupported-hash"],
      ],
    );
    assert.match(
      report.skipped[0].detail!,
      /answered 500 to a Firebase scrypt hash: it has no firebase_password_hashing_signer_key/,
    );
    assert.deepEqual(report.failed, []);
    assert.equal((await coreUsers(uri)).length, 90);
    assert.match(stderr, /import: 2 users with Firebase scrypt hashes are skipped: /);
    // The queue did not move for 2 s (the tick is up to 5 s away): the import says why and how long it can take.
    assert.match(
      stderr,
      /import: 90 users queued\. A SuperTokens core imports them with its bulk-import cron: a tick every 300 s/,
    );
    assert.match(stderr, /bulk_migration_batch_size users \(its config; default 8000/);
    assert.doesNotMatch(stderr, /backgroundjob/);
  });

  it(
    "a core that lost its Firebase signer key after queueing: the stuck Firebase users are taken out and " +
      "skipped with the reason, the others imported, the run goes on",
    async () => {
      const key = Buffer.from("signer-key").toString("base64");
      const uri = await createCoreApp(core.url, { firebase_password_hashing_signer_key: key });
      const rows = await bcryptRows(30, "lost");
      const firebase = [1, 2].map((i) => firebaseRow(`lost-fb-${i}`, `lost-fb${i}@example.com`, key));
      const file = path.join(dir, "lost-key.ndjson");
      await writeFile(file, toNdjson([firebase[0], ...rows.slice(0, 15), firebase[1], ...rows.slice(15)]));
      const client = new CoreClient(uri, undefined);
      // The key goes away once every user is queued and before a tick looks at them.
      await client.ok("POST", "/bulk-import/backgroundjob", { body: { command: "STOP" } });
      let stderr = "";
      const running = runImport(
        { file, core: uri, mode: "bulk", batchSize: 10, stallTimeout: 3 },
        {
          stdout: { write: () => true },
          stderr: { write: (c: string) => ((stderr += c), true) },
          progress: "none",
        },
      );
      try {
        for (;;) {
          const { count } = await client.ok<{ count: number }>("GET", "/bulk-import/users/count");
          if (count === 32) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const appId = /appid-(.+)$/.exec(uri)![1];
        await fetch(`${core.url}/recipe/multitenancy/app/v2`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ appId, coreConfig: { firebase_password_hashing_signer_key: null } }),
        });
      } finally {
        await client.ok("POST", "/bulk-import/backgroundjob", { body: { command: "START" } });
      }
      const report = await running;
      assert.deepEqual(report.imported.map((u) => u.id).sort(), rows.map((r) => r.id).sort());
      assert.deepEqual(report.skipped.map((s) => [s.id, s.reason]).sort(), [
        ["lost-fb-1", "unsupported-hash"],
        ["lost-fb-2", "unsupported-hash"],
      ]);
      assert.match(
        report.skipped[0].detail!,
        /^Firebase hashes need firebase_password_hashing_signer_key in the core's config/,
      );
      assert.deepEqual(report.failed, []);
      assert.equal((await coreUsers(uri)).length, 30);
      assert.match(stderr, /import: 2 users with Firebase scrypt hashes are skipped: Firebase hashes need/);
      assert.equal((await client.ok<{ count: number }>("GET", "/bulk-import/users/count")).count, 0);
    },
  );

  it("a queue that never moves fails after --stall-timeout with the cron's interval and where to look", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(3, "stall");
    const file = path.join(dir, "stall.ndjson");
    await writeFile(file, toNdjson(rows));
    const client = new CoreClient(uri, undefined);
    await client.ok("POST", "/bulk-import/backgroundjob", { body: { command: "STOP" } });
    try {
      const io = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };
      await assert.rejects(runImport({ file, core: uri, mode: "bulk", stallTimeout: 2 }, io), {
        code: "ERR_MIGRATE_TIMEOUT",
        message: new RegExp(
          String.raw`made no progress for 2 s \(3 users waiting\)\. A SuperTokens core takes its queue every 300 s ` +
            ".*look for ProcessBulkImportUsers errors in the core's logs",
        ),
      });
    } finally {
      await client.ok("POST", "/bulk-import/backgroundjob", { body: { command: "START" } });
    }
  });

  it("once the cron has been importing for 5 s, says its rate and the time left, from what it measured", async () => {
    const uri = await createCoreApp(core.url);
    // Rounds of 30 users 300 ms apart: 900 users take 30 rounds, about 9 s, at most 100 users/s. The import polls
    // the queue about once a second, so it can see the first users settle up to a second late.
    const rows = await bcryptRows(900, "rate");
    const file = path.join(dir, "rate.ndjson");
    await writeFile(file, toNdjson(rows));
    let stderr = "";
    const report = await runImport(
      { file, core: uri, mode: "bulk" },
      { stdout: { write: () => true }, stderr: { write: (c: string) => ((stderr += c), true) }, progress: "none" },
    );
    assert.equal(report.imported.length, 900);
    const said = /import: the core is importing about (\d+) users\/s: about (\d+) s left for (\d+) users\./.exec(
      stderr,
    );
    assert.ok(said, stderr);
    const [rate, secondsLeft, usersLeft] = said.slice(1).map(Number);
    assert.ok(rate > 10 && rate <= 110, `rate ${rate}`);
    assert.ok(usersLeft > 0 && usersLeft < 900, `left ${usersLeft}`);
    // The rate is printed rounded; the time left comes from the unrounded one.
    assert.ok(Math.abs(secondsLeft - usersLeft / rate) <= 1.5, `${secondsLeft} s for ${usersLeft} at ${rate}/s`);
  });

  it("keeps the queue deep enough that the cron never runs dry: one tick's rounds take every user", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(150, "deep");
    const candidates: Candidate[] = rows.map((r, i) => ({
      row: i + 1,
      id: r.id,
      email: r.email,
      passwordHash: r.hash,
      algorithm: "bcrypt",
      emailVerified: false,
      timeJoined: r.timeJoined,
      metadata: undefined,
      roles: [],
      resume: false,
    }));
    const started = Date.now();
    // A queue of at most 60 users, rounds of 30 with 300 ms pauses: the import must top it up within each pause.
    const run = await queueUsers(
      new CoreClient(uri, undefined),
      candidates,
      20,
      60_000,
      () => {},
      () => {},
      60,
    );
    const took = Date.now() - started;
    assert.equal(run.accepted.size, 150);
    assert.equal((await coreUsers(uri)).length, 150);
    // The queue (and the tick grid) starts with the import's first call. Running dry once would leave the rest for
    // the second tick, at 2 × the interval.
    assert.ok(took < 2 * intervalMs, `all users imported by the first tick's rounds (${took} ms)`);
  });

  it("a core on an in-memory database refuses the bulk API: auto falls back to per-user, bulk says why", async () => {
    const uri = await createCoreApp(core.url, { dev_core_bulk_import_as_in_memory_db: true });
    const refused = await fetch(`${uri}/bulk-import/users/count`, { headers: { "cdi-version": "5.4" } });
    assert.deepEqual(
      [refused.status, await refused.text()],
      [400, "This API is not supported in the in-memory database.\n"],
    );
    const rows = await bcryptRows(3, "inmem");
    const file = path.join(dir, "inmem.ndjson");
    await writeFile(file, toNdjson(rows));
    const io = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };
    const report = await runImport({ file, core: uri }, io);
    assert.equal(report.mode, "per-user");
    assert.deepEqual(report.imported.map((u) => u.id).sort(), rows.map((r) => r.id).sort());
    await assert.rejects(runImport({ file, core: uri, mode: "bulk" }, io), {
      code: "ERR_MIGRATE_UNSUPPORTED_CORE",
      message: /does not offer the bulk-import API \(GET \/bulk-import\/users\/count answered 400\)/,
    });
  });
});
