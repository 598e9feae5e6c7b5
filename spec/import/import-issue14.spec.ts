/**
 * Issue 14: what the import accepts, how it reports and how it shows progress, against the dev core over HTTP.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import { Writable } from "node:stream";
import path from "node:path";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import { defaultEmailValidator } from "supertokens-node/lib/build/recipe/emailpassword/utils.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { runImport } from "../../lib/import/run.js";
import { signInEmailRule } from "../../lib/import/rows.js";
import type { ImportOptions } from "../../lib/import/options.js";
import type { ImportReport } from "../../lib/import/report.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { bcryptRows, coreGet, toNdjson } from "../helpers/import-fixtures.js";
import { closedPort } from "../helpers/services.js";

let core: DevCore;
let dir: string;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import14-"));
});
after(async () => {
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };
const run = (options: ImportOptions) => runImport(options, quiet);

function initSdk(uri: string) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [EmailPassword.init(), Session.init({ getTokenTransferMethod: () => "header" })],
  });
}

describe("email validation as the app's sign-in does it", () => {
  const unusable = ["a b@c.com", "@example.com", "user@", "x@y@z.com", "user@localhost", "user@example.c"];

  it("the import's rule is the SDK's default EmailPassword email rule", async () => {
    const samples = [
      ...unusable,
      "ok@example.com",
      "first.last+tag@sub.example.co.uk",
      '"quoted local"@example.com',
      "user@[192.168.0.1]",
      "a..b@example.com",
      ".a@example.com",
      "a@-example.com",
      "ünï@example.com",
      "a@b.cd",
    ];
    for (const s of samples)
      assert.equal(signInEmailRule(s) === undefined, (await defaultEmailValidator(s)) === undefined, s);
  });

  for (const mode of ["bulk", "per-user"] as const) {
    it(`in ${mode} mode imports no user whose email the sign-in refuses, reporting row and reason`, async () => {
      const uri = await createCoreApp(core.url);
      const rows = await bcryptRows(2, `mail-${mode}`);
      const bad = unusable.map((email, i) => ({ ...rows[0], id: `bad-${mode}-${i}`, email }));
      const file = path.join(dir, `mail-${mode}.ndjson`);
      await writeFile(file, toNdjson([...rows, ...bad]));
      const report = await run({ file, core: uri, mode });
      assert.deepEqual(
        report.imported.map((u) => u.id),
        rows.map((r) => r.id),
      );
      assert.deepEqual(
        report.failed.map((f) => [f.row, f.id, f.reason, f.detail]),
        bad.map((b, i) => [
          i + 3,
          b.id,
          "invalid-email",
          "the app's sign-in would refuse this email: Email is invalid",
        ]),
      );
      assert.equal((await coreGet(uri, "/users/count")).count, 2);
      initSdk(uri);
      for (const r of rows) assert.equal((await EmailPassword.signIn("public", r.email, r.password)).status, "OK");
    });
  }

  it("uses the app's own validator when given, awaiting it, and reports its message", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(3, "own");
    const file = path.join(dir, "own.ndjson");
    await writeFile(file, toNdjson([...rows, { ...rows[0], id: "own-x", email: "someone@other.org" }]));
    const seen: string[] = [];
    const report = await run({
      file,
      core: uri,
      validateEmail: async (email) => {
        seen.push(email);
        await Promise.resolve();
        return email.endsWith("@example.com") ? undefined : "Use your company email";
      },
    });
    assert.deepEqual(report.imported.map((u) => u.id).sort(), rows.map((r) => r.id).sort());
    assert.deepEqual(
      report.failed.map((f) => [f.row, f.id, f.reason, f.detail]),
      [[4, "own-x", "invalid-email", "the app's sign-in would refuse this email: Use your company email"]],
    );
    assert.equal(seen.length, 4);
    await assert.rejects(run({ file, core: uri, validateEmail: "yes" as unknown as () => undefined }), /validateEmail/);
  });
});

describe("the dry-run report", () => {
  it("lists would-be imports under wouldImport (report version 2), never under imported", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(3, "would");
    const file = path.join(dir, "would.ndjson");
    await writeFile(file, toNdjson(rows));
    let out = "";
    const plan = await runImport(
      { file, core: uri, dryRun: true },
      { ...quiet, stdout: { write: (s: string) => (out += s) } },
    );
    assert.equal(plan.version, 2);
    assert.deepEqual(plan.imported, []);
    assert.equal(plan.counts.imported, 0);
    assert.deepEqual(
      plan.wouldImport.map((u) => u.id),
      rows.map((r) => r.id),
    );
    assert.equal(plan.counts.wouldImport, 3);
    assert.match(out, /would import 3 of 3/);
    assert.doesNotMatch(out, /Imported/);

    const real = await run({ file, core: uri });
    assert.equal(real.version, 2);
    assert.deepEqual(real.wouldImport, []);
    assert.equal(real.counts.wouldImport, 0);
    assert.deepEqual(
      real.imported.map((u) => u.id),
      plan.wouldImport.map((u) => u.id),
    );
  });
});

describe("progress without a terminal", () => {
  it("reaches its destination before the summary is written, even when the stream writes asynchronously", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(50, "order");
    const file = path.join(dir, "order.ndjson");
    await writeFile(file, toNdjson(rows));
    // What a reader of both streams sees, in arrival order. stderr is a pipe whose writes land a turn later.
    const seen: string[] = [];
    const stderr = new Writable({
      write(chunk: Buffer, _enc, done) {
        setImmediate(() => {
          seen.push(`err ${chunk.toString()}`);
          done();
        });
      },
    });
    await runImport(
      { file, core: uri },
      { stdout: { write: (s: string) => seen.push(`out ${s}`) }, stderr, progress: "auto" },
    );
    const summaryAt = seen.findIndex((s) => s.startsWith("out Imported 50 of 50"));
    // The last line, with the final counts, is written after the bulk queue drained.
    const lastProgress = seen.findIndex((s) => s.startsWith("err import: 50/50 (100%) imported 50,"));
    assert.ok(summaryAt >= 0, seen.join(""));
    assert.ok(lastProgress >= 0 && lastProgress < summaryAt, `progress before the summary:\n${seen.join("")}`);
    assert.equal(seen.length, summaryAt + 1, "nothing of the progress arrives after the summary");
  });
});

describe("a row without a password hash", () => {
  it("is skipped with a hint to map the hash column, in the report and in the summary", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(2, "nohash");
    const file = path.join(dir, "nohash.ndjson");
    await writeFile(file, rows.map((r) => JSON.stringify({ id: r.id, email: r.email, pw: r.hash })).join("\n"));
    let out = "";
    const report = await runImport({ file, core: uri }, { ...quiet, stdout: { write: (s: string) => (out += s) } });
    assert.deepEqual(
      report.skipped.map((s) => [s.row, s.reason]),
      [
        [1, "missing-hash"],
        [2, "missing-hash"],
      ],
    );
    for (const s of report.skipped) assert.match(s.detail ?? "", /--map passwordHash=<column>/);
    assert.match(out, /Skipped 2: missing-hash 2[^\n]*\n[^\n]*--map passwordHash=<column>/);
  });
});

describe("progress in bulk mode", () => {
  it("shows the queue being processed before the end, not imported 0 until 100%", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(50, "bulkprog");
    const file = path.join(dir, "bulkprog.ndjson");
    await writeFile(file, toNdjson(rows));
    const lines: string[] = [];
    await runImport(
      { file, core: uri, mode: "bulk", batchSize: 10 },
      { stdout: { write: () => true }, stderr: { write: (s: string) => lines.push(s) }, progress: "lines" },
    );
    const final = lines.findIndex((l) => /imported 50,/.test(l));
    assert.ok(final > 0, lines.join(""));
    // Each batch waits until at most one batch is still queued: by the third, the core has processed 10 or more.
    const during = lines.slice(0, final).map((l) => /queued (\d+), processed by the core (\d+)/.exec(l));
    assert.ok(
      during.some((m) => m !== null && Number(m[2]) >= 10 && Number(m[1]) >= Number(m[2])),
      `progress while the queue is processed:\n${lines.join("")}`,
    );
  });
});

describe("a run stopped before any user is decided", () => {
  it("still writes the report, with the error, when --report is given", async () => {
    const uri = await createCoreApp(core.url);
    const file = path.join(dir, "broken.csv");
    await writeFile(file, 'id,email,password_hash\n1,a@example.com,"$2b$04$x\n2,b@example.com,x\n');
    const reportFile = path.join(dir, "broken-report.json");
    await assert.rejects(run({ file, core: uri, report: reportFile }), { code: "ERR_MIGRATE_BAD_INPUT" });
    const report = JSON.parse(await readFile(reportFile, "utf8")) as ImportReport;
    assert.match(report.error ?? "", /CSV line 2: a quoted field/);
    assert.equal(report.counts.input, 0);
    assert.deepEqual([report.imported, report.skipped, report.failed], [[], [], []]);

    const unreachable = path.join(dir, "unreachable-report.json");
    await assert.rejects(run({ file, core: `http://127.0.0.1:${await closedPort()}`, report: unreachable }), {
      code: "ERR_MIGRATE_CORE_UNAVAILABLE",
    });
    assert.match((JSON.parse(await readFile(unreachable, "utf8")) as ImportReport).error ?? "", /cannot reach/);
  });
});

describe("the summary", () => {
  it("names each skipped or failed row by number, id and reason, without emails, the first ten of them", async () => {
    const uri = await createCoreApp(core.url);
    const [good] = await bcryptRows(1, "summary");
    const lines = [
      JSON.stringify({ id: good.id, email: good.email, password_hash: good.hash }),
      "{not json",
      JSON.stringify({ id: "bad-email", email: "a b@example.com", password_hash: good.hash }),
      ...Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: `nohash-${i}`, email: `nohash-${i}@example.com` })),
    ];
    const file = path.join(dir, "summary.ndjson");
    await writeFile(file, lines.join("\n") + "\n");
    let out = "";
    const report = await runImport({ file, core: uri }, { ...quiet, stdout: { write: (s: string) => (out += s) } });
    assert.equal(report.counts.imported, 1);
    assert.match(out, /^ {2}row 2: invalid-row, /m);
    assert.match(out, /^ {2}row 3 \(id bad-email\): invalid-email/m);
    assert.match(out, /^ {2}row 4 \(id nohash-0\): missing-hash/m);
    assert.equal(out.match(/^ {2}row \d+/gm)?.length, 10, out);
    assert.match(out, /^ {2}… and 2 more \(pass --report <file> to list them\)\.$/m);
    assert.doesNotMatch(out, /@example\.com/, "the summary names ids, never emails");

    const again = await runImport({ file, core: uri }, { ...quiet, stdout: { write: (s: string) => (out = s) } });
    assert.deepEqual(
      again.skipped.filter((s) => s.reason === "already-imported").map((s) => s.id),
      [good.id],
    );
    assert.doesNotMatch(
      out,
      /already-imported,|\(id [^)]*\): already-imported/,
      "a re-run's expected skips are not listed",
    );
  });
});
