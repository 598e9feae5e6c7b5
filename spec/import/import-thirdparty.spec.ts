/**
 * The import's third-party columns: a legacy users table joined with its provider identities (the demo's
 * legacy_identities layout) on PostgreSQL, and the same rows as NDJSON, imported through the bulk API and one by
 * one into the dev core on PostgreSQL. A row with a hash and an identity becomes one user with two linked login
 * methods; a row with only an identity a ThirdParty user; both keep the legacy id, for the password and for the
 * provider sign-in the SDK makes later. A re-run imports nobody again.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcrypt";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { runImport } from "../../lib/import/run.js";
import type { ImportOptions } from "../../lib/import/options.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };
const run = (options: ImportOptions) => runImport(options, quiet);

const legacySchema = `import_tp_${uniqueId()}`;
const coreSchema = `import_tp_core_${uniqueId()}`;
let pool: pg.Pool;
let core: DevCore;
let dir: string;
let hash: string;

interface Row {
  id: string;
  email: string;
  password_hash: string | null;
  email_verified: boolean;
  provider: string | null;
  provider_user_id: string | null;
  provider_email_verified: boolean | null;
}
let rows: Row[];

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 3 });
  core = await startDevCore({
    config: { bcrypt_log_rounds: 4 },
    storage: await PostgresStorage.create(pool, { schema: coreSchema }),
  });
  dir = await mkdtemp(path.join(os.tmpdir(), "st-import-tp-"));
  hash = await bcrypt.hash("Legacy-pw-1", 4);
  await pool.query(`CREATE SCHEMA ${legacySchema}`);
  await pool.query(
    `CREATE TABLE ${legacySchema}.users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, password_hash TEXT,
       email_verified BOOLEAN NOT NULL DEFAULT false)`,
  );
  await pool.query(
    `CREATE TABLE ${legacySchema}.legacy_identities (provider TEXT NOT NULL, provider_user_id TEXT NOT NULL,
       user_id INTEGER NOT NULL REFERENCES ${legacySchema}.users (id), email TEXT, email_verified BOOLEAN NOT NULL,
       PRIMARY KEY (provider, provider_user_id))`,
  );
  // 1: password and Google; 2: Google only; 3: password only.
  await pool.query(
    `INSERT INTO ${legacySchema}.users VALUES (1, 'both@example.com', $1, false),
       (2, 'social@example.com', NULL, false), (3, 'pw@example.com', $1, true)`,
    [hash],
  );
  await pool.query(
    `INSERT INTO ${legacySchema}.legacy_identities VALUES ('google', 'g-1', 1, 'both@example.com', true),
       ('google', 'g-2', 2, 'social@example.com', true)`,
  );
  rows = (
    await pool.query<Row>(
      `SELECT ${legacyQueryColumns} FROM ${legacySchema}.users u
         LEFT JOIN ${legacySchema}.legacy_identities i ON i.user_id = u.id ORDER BY u.id`,
    )
  ).rows;
});

after(async () => {
  await core?.close();
  await pool.query(`DROP SCHEMA IF EXISTS ${legacySchema} CASCADE`);
  await pool.query(`DROP SCHEMA IF EXISTS ${coreSchema} CASCADE`);
  await pool.end();
  await rm(dir, { recursive: true, force: true });
});

const legacyQueryColumns =
  "u.id::text AS id, u.email, u.password_hash, u.email_verified, i.provider, i.provider_user_id, " +
  "i.email_verified AS provider_email_verified";
const map =
  "id=id,email=email,passwordHash=password_hash,emailVerified=email_verified,thirdPartyId=provider," +
  "thirdPartyUserId=provider_user_id,thirdPartyEmailVerified=provider_email_verified";

function initSdk(uri: string) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [EmailPassword.init(), ThirdParty.init()],
  });
}

/** The users as the SDK sees them, and the provider sign-ins the app makes after the switch. */
async function assertImported(uri: string) {
  initSdk(uri);
  const both = await supertokens.getUser("1");
  assert.ok(both, "user 1 exists under its legacy id");
  assert.equal(both.isPrimaryUser, true);
  assert.deepEqual(
    // Both joined in the same millisecond: the order of equals is the core's choice.
    both.loginMethods
      .map((lm) => [lm.recipeId, lm.verified, lm.thirdParty?.userId ?? null])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    [
      ["emailpassword", false, null],
      ["thirdparty", true, "g-1"],
    ],
  );
  const password = await EmailPassword.signIn("public", "both@example.com", "Legacy-pw-1");
  assert.equal(password.status === "OK" && password.user.id, "1");
  for (const [sub, email, id] of [
    ["g-1", "both@example.com", "1"],
    ["g-2", "social@example.com", "2"],
  ]) {
    const google = await ThirdParty.manuallyCreateOrUpdateUser("public", "google", sub, email, true);
    assert.equal(google.status, "OK");
    if (google.status !== "OK") continue;
    assert.equal(google.user.id, id, `the Google sign-in of ${sub} lands on legacy id ${id}`);
    assert.equal(google.createdNewRecipeUser, false);
  }
  const social = await supertokens.getUser("2");
  assert.deepEqual(
    social?.loginMethods.map((lm) => lm.recipeId),
    ["thirdparty"],
  );
  const pw = await EmailPassword.signIn("public", "pw@example.com", "Legacy-pw-1");
  assert.equal(pw.status === "OK" && pw.user.loginMethods.length, 1);
}

for (const mode of ["bulk", "per-user"] as const) {
  describe(`import of third-party identities, ${mode} mode`, () => {
    it("from a PostgreSQL join of users and legacy_identities; a re-run imports nobody", async () => {
      const uri = await createCoreApp(core.url);
      const options: ImportOptions = {
        from: requireEnv("DATABASE_URL"),
        query:
          `SELECT ${legacyQueryColumns} FROM ${legacySchema}.users u ` +
          `LEFT JOIN ${legacySchema}.legacy_identities i ON i.user_id = u.id ORDER BY u.id`,
        map,
        core: uri,
        mode,
      };
      const report = await run(options);
      assert.equal(report.mode, mode);
      assert.deepEqual(report.failed, []);
      assert.equal(report.counts.imported, 3);
      await assertImported(uri);
      const again = await run(options);
      assert.equal(again.counts.imported, 0);
      assert.deepEqual(again.counts.skippedByReason, { "already-imported": 3 });
    });

    it("from NDJSON with the default camelCase columns", async () => {
      const uri = await createCoreApp(core.url);
      const file = path.join(dir, `users-${mode}.ndjson`);
      await writeFile(
        file,
        rows
          .map((r) =>
            JSON.stringify({
              id: r.id,
              email: r.email,
              ...(r.password_hash ? { passwordHash: r.password_hash } : {}),
              emailVerified: r.email_verified,
              ...(r.provider
                ? {
                    thirdPartyId: r.provider,
                    thirdPartyUserId: r.provider_user_id,
                    thirdPartyEmailVerified: r.provider_email_verified,
                  }
                : {}),
            }),
          )
          .join("\n") + "\n",
      );
      const report = await run({ file, core: uri, mode });
      assert.deepEqual(report.failed, []);
      assert.equal(report.counts.imported, 3);
      await assertImported(uri);
      const again = await run({ file, core: uri, mode });
      assert.equal(again.counts.imported, 0);
    });
  });
}

describe("third-party columns: what a row cannot be", () => {
  it("an identity with only one of its two parts fails the row as invalid-third-party", async () => {
    const uri = await createCoreApp(core.url);
    const file = path.join(dir, "half.ndjson");
    await writeFile(file, JSON.stringify({ id: "9", email: "half@example.com", thirdPartyId: "google" }) + "\n");
    const report = await run({ file, core: uri });
    assert.deepEqual(
      report.failed.map((f) => [f.id, f.reason]),
      [["9", "invalid-third-party"]],
    );
  });
});
