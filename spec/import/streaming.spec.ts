/**
 * The import reads its input instead of holding it: a scan, then windows of rows decided and imported one after
 * the other, outcomes spooled to files and merged into the report. Checked against the dev core over HTTP: what
 * spans windows (duplicates, the report's order, the summary's first rows), the report file against the report
 * returned, a CLI-style run without lists in memory, and the compact sets that replace per-row objects.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { CompactSet } from "../../lib/import/compact-set.js";
import { runImport } from "../../lib/import/run.js";
import { createCoreApp } from "../helpers/sdk.js";
import { bcryptRows, coreGet, toNdjson, type LegacyRow } from "../helpers/import-fixtures.js";

let core: DevCore;
let dir: string;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import-stream-"));
});
after(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

const quiet = { stderr: { write: () => true }, progress: "none" as const };

describe("CompactSet", () => {
  it("finds every key added, none other, across its growth, and flags repeats and marked keys", () => {
    const set = new CompactSet();
    const n = 300_000;
    for (let i = 0; i < n; i++) assert.equal(set.add(`user${i}@example.com`, i % 1000 === 0), false);
    assert.equal(set.size, n);
    for (let i = 0; i < n; i++) assert.equal(set.has(`user${i}@example.com`), true);
    for (let i = n; i < 2 * n; i++) assert.equal(set.has(`user${i}@example.com`), false);
    assert.equal(set.flag("user1000@example.com"), true);
    assert.equal(set.flag("user1001@example.com"), false);
    assert.equal(set.flag("nobody@example.com"), undefined);
    assert.equal(set.add("user7@example.com", false, true), true);
    assert.equal(set.flag("user7@example.com"), true);
    assert.equal(set.flagged, n / 1000 + 1);
    // Empty strings and keys that differ in one code unit are keys too.
    assert.equal(set.add(""), false);
    assert.equal(set.has(""), true);
    assert.equal(set.has("user0@example.con"), false);
  });

  it("holds a million keys in 16 MB", () => {
    const set = new CompactSet();
    for (let i = 0; i < 1_000_000; i++) set.add(`legacy-${i}`);
    assert.equal(set.size, 1_000_000);
    assert.ok(set.bytes <= 16 * 1024 * 1024 + 1024, `${set.bytes} bytes`);
  });
});

describe("an import over several windows of rows", () => {
  /** 2,600 rows, windows of 1,000: collisions and problems both inside a window and across windows. */
  async function input(prefix: string) {
    const rows: (LegacyRow | Record<string, unknown>)[] = await bcryptRows(2600, prefix);
    const at = (row: number) => rows[row - 1] as LegacyRow;
    rows[2500 - 1] = { ...at(2500), id: at(5).id }; // the id of row 5, two windows later
    rows[1990 - 1] = { ...at(1990), email: at(20).email.toUpperCase() }; // row 20's email, normalised alike
    rows[30 - 1] = { ...at(30), email: at(31).email }; // the same window
    rows[1500 - 1] = { ...at(1500), hash: "" }; // no hash
    rows[2200 - 1] = { id: `${prefix}-bad`, email: "no-at-sign" };
    const taken = at(1200).email;
    return { rows, taken };
  }

  it("fails all rows sharing an id or email anywhere, lists outcomes by row; the file is the report", async () => {
    const uri = await createCoreApp(core.url);
    const { rows, taken } = await input("win");
    const signup = await fetch(`${uri}/public/recipe/signup`, {
      method: "POST",
      headers: { "content-type": "application/json", rid: "emailpassword" },
      body: JSON.stringify({ email: taken, password: "Someone-else-1" }),
    });
    assert.equal(((await signup.json()) as { status: string }).status, "OK");
    const file = path.join(dir, "windows.ndjson");
    await writeFile(
      file,
      rows.map((r) => ("password" in r ? toNdjson([r as LegacyRow]) : JSON.stringify(r) + "\n")).join(""),
    );
    const reportFile = path.join(dir, "windows.json");
    let out = "";
    const report = await runImport(
      { file, core: uri, mode: "bulk", batchSize: 1000, report: reportFile },
      { ...quiet, stdout: { write: (s: string) => ((out += s), true) } },
    );

    // Byte for byte what JSON.stringify(report, null, 2) gives, as the report file always was.
    assert.equal(await readFile(reportFile, "utf8"), JSON.stringify(report, null, 2) + "\n");
    assert.deepEqual(
      report.failed.map((f) => [f.row, f.reason, f.detail]),
      [
        [5, "duplicate-id", "2 rows have this id"],
        [20, "duplicate-email", "2 rows have this email"],
        [30, "duplicate-email", "2 rows have this email"],
        [31, "duplicate-email", "2 rows have this email"],
        [1990, "duplicate-email", "2 rows have this email"],
        [2200, "invalid-email", "the email is missing or has no @"],
        [2500, "duplicate-id", "2 rows have this id"],
      ],
    );
    assert.deepEqual(
      report.skipped.map((s) => [s.row, s.reason]),
      [
        [1200, "email-exists"],
        [1500, "missing-hash"],
      ],
    );
    const settled = new Set([...report.failed, ...report.skipped].map((o) => o.row));
    const expected = rows.flatMap((r, i) => (settled.has(i + 1) ? [] : [(r as LegacyRow).id]));
    // In row order, though the queue settles them in batches.
    assert.deepEqual(
      report.imported.map((u) => u.id),
      expected,
    );
    assert.equal(report.counts.imported, 2600 - 9);
    assert.equal(report.counts.input, 2600);
    assert.equal(report.warnings.length, 2600 - 9, "cost-4 bcrypt hashes are weak");
    assert.deepEqual(
      report.warnings.slice(0, 2).map((w) => w.row),
      [1, 2],
    );
    assert.equal((await coreGet(uri, "/users/count")).count, 2600 - 9 + 1);
    // The summary names the rows by number, across windows, in order.
    assert.match(out, /row 5 \(id win-4\): duplicate-id[^\n]*\n {2}row 20 /);
    assert.match(out, /row 2500 \(id win-4\): duplicate-id, 2 rows have this id\n/);
    assert.doesNotMatch(out, /\w@\w/, "no email in the summary");
  });

  it("without lists in memory (the CLI's way): counts returned, the file lists all, a re-run skips all", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(2300, "nolists");
    const file = path.join(dir, "nolists.ndjson");
    await writeFile(file, toNdjson(rows));
    const reportFile = path.join(dir, "nolists.json");
    const io = { ...quiet, stdout: { write: () => true }, lists: false };
    const report = await runImport({ file, core: uri, mode: "bulk", batchSize: 1000, report: reportFile }, io);
    assert.equal(report.counts.imported, 2300);
    assert.deepEqual([report.imported, report.skipped, report.failed, report.warnings], [[], [], [], []]);
    const written = JSON.parse(await readFile(reportFile, "utf8")) as typeof report;
    assert.deepEqual(
      written.imported.map((u) => u.id),
      rows.map((r) => r.id),
    );
    assert.equal(written.warnings.length, 2300);

    const again = await runImport({ file, core: uri, mode: "bulk", batchSize: 1000, report: reportFile }, io);
    assert.deepEqual([again.counts.imported, again.counts.skippedByReason], [0, { "already-imported": 2300 }]);
    const rewritten = JSON.parse(await readFile(reportFile, "utf8")) as typeof report;
    assert.deepEqual(
      rewritten.skipped.map((s) => [s.row, s.id]),
      rows.map((r, i) => [i + 1, r.id]),
    );
    assert.equal((await coreGet(uri, "/users/count")).count, 2300);
  });

  it("stopped while users wait in the queue: the report lists only decided rows, and a re-run finishes", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(1500, "stopped");
    rows[9] = { ...rows[9], hash: "" }; // decided before anything is queued: skipped
    const file = path.join(dir, "stopped.ndjson");
    await writeFile(file, toNdjson(rows));
    const reportFile = path.join(dir, "stopped.json");
    const job = (command: string) =>
      fetch(`${uri}/bulk-import/backgroundjob`, {
        method: "POST",
        headers: { "content-type": "application/json", "cdi-version": "5.4" },
        body: JSON.stringify({ command }),
      });
    assert.equal((await job("STOP")).status, 200);
    const options = { file, core: uri, mode: "bulk" as const, batchSize: 1000, report: reportFile };
    await assert.rejects(
      runImport({ ...options, stallTimeout: 1 }, { ...quiet, stdout: { write: () => true }, lists: false }),
      { code: "ERR_MIGRATE_TIMEOUT" },
    );
    const stopped = JSON.parse(await readFile(reportFile, "utf8")) as Awaited<ReturnType<typeof runImport>>;
    assert.match(stopped.error ?? "", /made no progress/);
    // The queued users are not decided yet: neither counted nor listed as imported.
    assert.deepEqual([stopped.counts.imported, stopped.imported], [0, []]);
    assert.deepEqual(
      stopped.skipped.map((s) => [s.row, s.reason]),
      [[10, "missing-hash"]],
    );

    assert.equal((await job("START")).status, 200);
    const done = await runImport(options, { ...quiet, stdout: { write: () => true } });
    assert.equal(done.counts.imported + (done.counts.skippedByReason["already-imported"] ?? 0), 1499);
    assert.equal((await coreGet(uri, "/users/count")).count, 1499);
  });
});
