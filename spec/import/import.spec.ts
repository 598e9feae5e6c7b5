/**
 * `supertokens-migrate import` end to end: real PostgreSQL and files in, the dev core over HTTP out, and the real
 * supertokens-node SDK signing the imported users in with their old passwords.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import UserMetadata from "supertokens-node/recipe/usermetadata";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { runImport } from "../../lib/import/run.js";
import type { ImportOptions } from "../../lib/import/options.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import {
  argon2Row,
  bcryptRows,
  coreGet,
  djangoRow,
  firebaseRow,
  toCsv,
  toJson,
  toNdjson,
  type LegacyRow,
} from "../helpers/import-fixtures.js";

let core: DevCore;
let dir: string;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import-"));
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
    recipeList: [EmailPassword.init(), Session.init({ getTokenTransferMethod: () => "header" }), UserMetadata.init()],
  });
}

/** Sign every row in through the SDK with its original password; the user id must be the legacy id. */
async function assertSignIns(uri: string, rows: LegacyRow[], opts: { timeJoined: boolean }) {
  initSdk(uri);
  for (const r of rows) {
    const res = await EmailPassword.signIn("public", r.email, r.password);
    assert.equal(res.status, "OK", `${r.id} signs in`);
    if (res.status !== "OK") continue;
    assert.equal(res.user.id, r.id);
    assert.equal(res.recipeUserId.getAsString(), r.id);
    assert.deepEqual(res.user.emails, [r.email.trim().toLowerCase()]);
    assert.equal(res.user.loginMethods[0].verified, r.verified, `${r.id} verified`);
    if (opts.timeJoined) assert.equal(res.user.timeJoined, r.timeJoined, `${r.id} time joined`);
    const { metadata } = await UserMetadata.getUserMetadata(r.id);
    assert.deepEqual(metadata, r.metadata ?? {}, `${r.id} metadata`);
  }
}

describe("import from PostgreSQL", () => {
  const schema = `import_${uniqueId()}`;
  const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 2 });
  after(async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await pool.end();
  });

  it(
    "maps columns, keeps bcrypt, argon2 and Firebase hashes and the legacy ids, and skips what the core cannot " +
      "verify",
    async () => {
      const signerKey = randomBytes(64).toString("base64");
      const uri = await createCoreApp(core.url, { firebase_password_hashing_signer_key: signerKey });
      const good = [
        ...(await bcryptRows(8, "pg")).map((r, i) => ({
          ...r,
          id: String(1000 + i),
          email: i === 0 ? "  Mixed.Case@Example.COM " : r.email,
        })),
        { ...(await argon2Row("2001", "argon@example.com")) },
        firebaseRow("2002", "firebase@example.com", signerKey),
      ];
      const django = djangoRow("2003", "django@example.com");
      await pool.query(`CREATE SCHEMA ${schema}`);
      await pool.query(
        `CREATE TABLE ${schema}.accounts (user_id bigint PRIMARY KEY, mail text, pw text, verified boolean, ` +
          `created_at timestamptz, meta jsonb)`,
      );
      for (const r of [...good, django]) {
        await pool.query(`INSERT INTO ${schema}.accounts VALUES ($1, $2, $3, $4, $5, $6)`, [
          r.id,
          r.email,
          r.hash,
          r.verified,
          new Date(r.timeJoined),
          r.metadata ? JSON.stringify(r.metadata) : null,
        ]);
      }

      const report = await run({
        from: requireEnv("DATABASE_URL"),
        query: `select * from ${schema}.accounts order by user_id;`,
        map: "id=user_id,email=mail,passwordHash=pw,emailVerified=verified,timeJoined=created_at,metadata=meta",
        core: uri,
      });
      assert.equal(report.mode, "bulk");
      assert.deepEqual(report.counts, {
        input: 11,
        imported: 10,
        wouldImport: 0,
        skipped: 1,
        failed: 0,
        skippedByReason: { "unsupported-hash": 1 },
        failedByReason: {},
      });
      assert.deepEqual(report.skipped, [
        {
          id: "2003",
          row: 11,
          reason: "unsupported-hash",
          detail: "django_pbkdf2 hashes cannot be imported into SuperTokens: left to legacyAuth()",
        },
      ]);
      await assertSignIns(uri, good, { timeJoined: true });
      assert.equal((await coreGet(uri, "/users/count")).count, 10);
    },
  );
});

describe("import from files", () => {
  const cases = [
    ["json", "bulk", toJson],
    ["ndjson", "per-user", toNdjson],
    ["csv", "bulk", toCsv],
    ["csv", "per-user", toCsv],
  ] as const;
  for (const [format, mode, write] of cases) {
    it(`reads ${format} in ${mode} mode: users sign in with their old passwords under their legacy ids`, async () => {
      const uri = await createCoreApp(core.url);
      const rows = await bcryptRows(8, `${format}-${mode}`);
      rows[1].email = ` ${rows[1].email.toUpperCase()} `;
      const file = path.join(dir, `users-${mode}.${format}`);
      await writeFile(file, write(rows));
      const report = await run({ file, core: uri, mode });
      assert.equal(report.mode, mode);
      assert.equal(report.counts.imported, rows.length);
      assert.deepEqual(
        report.imported.map((u) => u.id),
        rows.map((r) => r.id),
      );
      // The per-user endpoints cannot set time joined (the report says so); the bulk API keeps it.
      assert.equal(
        report.notes.some((n) => n.includes("time joined")),
        mode === "per-user",
      );
      await assertSignIns(uri, rows, { timeJoined: mode === "bulk" });
      const text = JSON.stringify(report);
      assert.ok(!text.includes("@") && !text.includes("$2"), "the report holds no email or hash");
    });
  }

  it("reports duplicates inside the input and bad rows as failed, and imports none of them", async () => {
    const uri = await createCoreApp(core.url);
    const rows = await bcryptRows(4, "dup");
    const file = path.join(dir, "dups.ndjson");
    const extra = [
      JSON.stringify({ id: "dup-1", email: "another@example.com", password_hash: rows[0].hash }),
      JSON.stringify({ id: "dup-9", email: ` ${rows[2].email.toUpperCase()}`, password_hash: rows[0].hash }),
      JSON.stringify({ email: "noid@example.com", password_hash: rows[0].hash }),
      JSON.stringify({
        id: "bad-time",
        email: "t@example.com",
        password_hash: rows[0].hash,
        time_joined: "yesterday-ish",
      }),
      "{ not json",
    ];
    await writeFile(file, toNdjson(rows) + extra.join("\n") + "\n");
    const report = await run({ file, core: uri });
    assert.deepEqual(
      report.imported.map((u) => u.id),
      ["dup-0", "dup-3"],
    );
    assert.deepEqual(
      report.failed.map((f) => [f.row, f.id, f.reason]),
      [
        [2, "dup-1", "duplicate-id"],
        [3, "dup-2", "duplicate-email"],
        [5, "dup-1", "duplicate-id"],
        [6, "dup-9", "duplicate-email"],
        [7, null, "missing-id"],
        [8, "bad-time", "invalid-time-joined"],
        [9, null, "invalid-row"],
      ],
    );
    assert.equal(report.counts.input, report.counts.imported + report.counts.skipped + report.counts.failed);
    assert.equal((await coreGet(uri, "/users/count")).count, 2);
  });
});

describe("when the core refuses some users", () => {
  for (const mode of ["bulk", "per-user"] as const) {
    it(`in ${mode} mode reports them as failed with the core's reason and imports the rest`, async () => {
      // No signer key on this app: the core cannot take Firebase hashes.
      const uri = await createCoreApp(core.url);
      const rows = await bcryptRows(3, `refused-${mode}`);
      const fb = firebaseRow(`refused-${mode}-fb`, `fb-${mode}@example.com`, randomBytes(64).toString("base64"));
      const file = path.join(dir, `refused-${mode}.json`);
      await writeFile(file, toJson([rows[0], fb, rows[1], rows[2]]));
      const report = await run({ file, core: uri, mode });
      assert.deepEqual(
        report.imported.map((u) => u.id),
        rows.map((r) => r.id),
      );
      if (mode === "bulk") {
        // A real core answers a Firebase hash without a signer key with a 500 for the whole batch: the import
        // finds out with that user alone, skips such rows with the reason and imports the rest.
        assert.deepEqual(
          report.skipped.map((f) => [f.id, f.row, f.reason]),
          [[fb.id, 2, "unsupported-hash"]],
        );
        assert.match(report.skipped[0].detail!, /no firebase_password_hashing_signer_key/);
      } else {
        assert.deepEqual(
          report.failed.map((f) => [f.id, f.row, f.reason]),
          [[fb.id, 2, "core-rejected"]],
        );
        assert.match(report.failed[0].detail!, /firebase_password_hashing_signer_key' cannot be null/);
      }
      assert.equal((await coreGet(uri, "/users/count")).count, 3);
      assert.equal((await coreGet(uri, "/bulk-import/users/count")).count, 0);
    });
  }
});

describe("when SuperTokens changes while users wait in the bulk-import queue", () => {
  it("decides refused users again against the live state, and supersedes failed rows of earlier attempts", async () => {
    const own = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
    const post = (uri: string, p: string, body: unknown) =>
      fetch(uri + p, {
        method: "POST",
        headers: { "content-type": "application/json", "cdi-version": "5.4" },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    try {
      const uri = await createCoreApp(own.url);
      const [a, b, c, d] = await bcryptRows(4, "race");
      const bulkUser = (r: LegacyRow, email = r.email) => ({
        externalUserId: r.id,
        loginMethods: [{ recipeId: "emailpassword", email, passwordHash: r.hash, hashingAlgorithm: "bcrypt" }],
      });
      // An earlier attempt left a failed row for c (its email was taken then; that user is gone now).
      assert.equal(
        (await post(uri, "/public/recipe/signup", { email: c.email, password: "Gone-pw-123" })).status,
        "OK",
      );
      await post(uri, "/bulk-import/users", { users: [bulkUser(c)] });
      while ((await coreGet(uri, "/bulk-import/users/count?status=FAILED")).count === 0)
        await new Promise((r) => setTimeout(r, 10));
      const gone = (await coreGet(uri, `/public/users/by-accountinfo?email=${c.email}&doUnionOfAccountInfo=false`))
        .users[0].id;
      await post(uri, "/user/remove", { userId: gone });

      await post(uri, "/bulk-import/backgroundjob", { command: "STOP" });
      const file = path.join(dir, "race.ndjson");
      await writeFile(file, toNdjson([a, b, c, d]));
      const running = run({ file, core: uri, mode: "bulk" });
      while ((await coreGet(uri, "/bulk-import/users/count?status=NEW")).count < 4)
        await new Promise((r) => setTimeout(r, 10));
      // Meanwhile: a is moved by someone else (legacyAuth, say), and b's email is taken by a new sign-up.
      assert.equal((await post(uri, "/bulk-import/import", bulkUser(a))).status, "OK");
      assert.equal(
        (await post(uri, "/public/recipe/signup", { email: b.email, password: "Newcomer-pw-1" })).status,
        "OK",
      );
      await post(uri, "/bulk-import/backgroundjob", { command: "START" });
      const report = await running;

      assert.deepEqual(
        report.imported.map((u) => u.id),
        [c.id, d.id],
      );
      assert.deepEqual(
        report.skipped.map((u) => [u.id, u.reason]),
        [
          [a.id, "already-imported"],
          [b.id, "email-exists"],
        ],
      );
      assert.ok(
        report.notes.some((n) => n.includes("removed 1 failed bulk-import queue rows")),
        report.notes.join("; "),
      );
      assert.equal((await coreGet(uri, "/bulk-import/users/count")).count, 0);
      assert.equal(
        (await post(uri, "/public/recipe/signin", { email: b.email, password: "Newcomer-pw-1" })).status,
        "OK",
      );
      assert.equal((await post(uri, "/public/recipe/signin", { email: c.email, password: c.password })).user.id, c.id);
    } finally {
      await own.close();
    }
  });
});

describe("with an API key", () => {
  it(
    "sends it, and a wrong one fails the run before anything is written, with " + "ERR_MIGRATE_API_KEY_REFUSED",
    async () => {
      const keyed = await startDevCore({ apiKeys: ["key-one-12345678901234"], config: { bcrypt_log_rounds: 4 } });
      try {
        const file = path.join(dir, "keyed.ndjson");
        await writeFile(file, toNdjson(await bcryptRows(2, "keyed")));
        await assert.rejects(
          run({ file, core: keyed.url, apiKey: "wrong-key-12345678901234" }),
          (err: NodeJS.ErrnoException) =>
            err.code === "ERR_MIGRATE_API_KEY_REFUSED" && /refused the API key \(401\)/.test(err.message),
        );
        const report = await run({ file, core: keyed.url, apiKey: "key-one-12345678901234" });
        assert.equal(report.counts.imported, 2);
      } finally {
        await keyed.close();
      }
    },
  );
});

describe("a dry run", () => {
  for (const mode of ["bulk", "per-user"] as const) {
    it(`in ${mode} mode checks everything, writes nothing, and plans exactly what the real run then does`, async () => {
      const uri = await createCoreApp(core.url);
      const rows = await bcryptRows(20, `dry-${mode}`);
      const taken = await fetch(`${uri}/public/recipe/signup`, {
        method: "POST",
        headers: { "content-type": "application/json", rid: "emailpassword" },
        body: JSON.stringify({ email: rows[3].email, password: "Someone-else-1" }),
      });
      assert.equal((await taken.json()).status, "OK");
      const file = path.join(dir, `dry-${mode}.ndjson`);
      await writeFile(file, toNdjson([...rows, djangoRow(`dry-${mode}-dj`, `dj-${mode}@example.com`)]));
      const reportFile = path.join(dir, `dry-${mode}.json`);

      const plan = await run({ file, core: uri, mode, dryRun: true, report: reportFile });
      assert.equal(plan.dryRun, true);
      assert.deepEqual(JSON.parse(await readFile(reportFile, "utf8")), plan);
      assert.equal((await coreGet(uri, "/users/count")).count, 1);
      assert.equal((await coreGet(uri, "/bulk-import/users/count")).count, 0);
      assert.equal(
        (await coreGet(uri, `/recipe/userid/map?userId=${rows[0].id}&userIdType=EXTERNAL`)).status,
        "UNKNOWN_MAPPING_ERROR",
      );

      const real = await run({ file, core: uri, mode });
      const strip = (r: typeof plan) => ({
        counts: { ...r.counts, imported: r.counts.imported + r.counts.wouldImport, wouldImport: 0 },
        imported: [...r.imported, ...r.wouldImport],
        skipped: r.skipped,
        failed: r.failed,
      });
      assert.deepEqual(plan.imported, [], "a dry run lists would-be imports under wouldImport only");
      assert.deepEqual(strip(real), strip(plan));
      assert.deepEqual(real.counts.skippedByReason, { "email-exists": 1, "unsupported-hash": 1 });
      // The user who already had the email keeps their own password.
      initSdk(uri);
      assert.equal((await EmailPassword.signIn("public", rows[3].email, "Someone-else-1")).status, "OK");
      assert.equal(
        (await EmailPassword.signIn("public", rows[3].email, rows[3].password)).status,
        "WRONG_CREDENTIALS_ERROR",
      );

      const again = await run({ file, core: uri, mode });
      assert.equal(again.counts.imported, 0, "the second run is a no-op");
      assert.equal(again.counts.skippedByReason["already-imported"], 19);
    });
  }
});

/** The CLI in a child process, awaited without blocking this process (its dev core must keep answering). */
function runCliAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "lib/cli/main.ts", ...args], { stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("the CLI", () => {
  it("--validate-email takes the app's own email rule from a module: a row it refuses fails, named", async () => {
    const uri = await createCoreApp(core.url);
    const [ok, blocked] = await bcryptRows(2, "cli-rule");
    const file = path.join(dir, "cli-rule.ndjson");
    await writeFile(
      file,
      [
        { id: ok.id, email: ok.email, password_hash: ok.hash },
        { id: blocked.id, email: "someone@blocked.example", password_hash: blocked.hash },
      ]
        .map((r) => JSON.stringify(r))
        .join("\n") + "\n",
    );
    const rule = path.join(dir, "email-rule.mjs");
    await writeFile(
      rule,
      'export default (email) => (email.endsWith("@blocked.example") ? "Email domain not allowed" : undefined);\n',
    );
    const report = path.join(dir, "cli-rule-report.json");
    const args = ["import", "--file", file, "--core", uri, "--validate-email", rule, "--report", report];
    // Not spawnSync: the dev core answers from this process's event loop.
    const res = await runCliAsync(args);
    assert.equal(res.status, 2, res.stderr);
    assert.match(res.stdout, /row 2 \(id [^)]+\): invalid-email, [^\n]*: Email domain not allowed/);
    const written = JSON.parse(await readFile(report, "utf8")) as { imported: { id: string }[] };
    assert.deepEqual(
      written.imported.map((u) => u.id),
      [ok.id],
    );

    const missing = await runCliAsync(["import", "--file", file, "--core", uri, "--validate-email", "nope.mjs"]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /--validate-email nope\.mjs could not be loaded/);
  });

  it("fails before any work on a mapping typo, naming the closest field, with exit code 1", () => {
    const res = spawnSync(
      process.execPath,
      ["--import", "tsx", "lib/cli/main.ts", "import", "--file", "x.csv", "--core", core.url, "--map", "emial=mail"],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    );
    assert.equal(res.status, 1);
    assert.match(res.stderr, /unknown option `emial`\. Did you mean `email`\?/);
  });
});
