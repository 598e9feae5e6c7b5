/**
 * `supertokens-migrate status` and `finish` run as a user runs them: a child process with flags, against real
 * connect-redis sessions, a PostgreSQL users table, the dev core over HTTP and the real Redis coordinator.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createRedisMigrationCoordinator } from "../../lib/session/coordinator.js";
import { createPostgresMigrationCoordinator } from "../../lib/session/coordinators/postgres.js";
import type { FinishReport } from "../../lib/cli/finish.js";
import { migrationStatus, type MigrationStatus } from "../../lib/status/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";
import {
  deleteKeys,
  importSome,
  lastStandardExpiry,
  pgStore,
  redisClient,
  redisStore,
  saver,
  standardSessions,
  usersTable,
  type Redis,
  type UsersFixture,
} from "./fixtures.js";

const run = promisify(execFile);

/** The CLI as installed: `supertokens-migrate <args>`, exit code and both streams. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["--import", "tsx", "lib/cli/main.ts", ...args], {
      timeout: 120_000,
      env: { ...process.env, SUPERTOKENS_API_KEY: "" },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

let core: DevCore;
let redis: Redis;
let dir: string;
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 4 });
const prefixes: string[] = [];
const schemas: string[] = [];
let users: UsersFixture;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  redis = await redisClient();
  dir = await mkdtemp(path.join(os.tmpdir(), "st-status-"));
  users = await usersTable(pool);
});
after(async () => {
  for (const p of prefixes) await deleteKeys(redis, p);
  redis.destroy();
  await pool.query(`DROP SCHEMA IF EXISTS ${users.schema} CASCADE`);
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

const withoutTime = (s: MigrationStatus) => ({ ...s, checkedAt: undefined });

describe("supertokens-migrate status", () => {
  it("prints a summary, each part's verdict and next step, and migrationStatus()'s data with --json", async () => {
    const uri = await createCoreApp(core.url);
    await importSome(users, "id = 101", uri);
    const { store, prefix } = redisStore(redis);
    prefixes.push(prefix);
    const now = Date.now();
    for (const [sid, data] of standardSessions(now)) await saver(store)(sid, data);
    const coordinatorPrefix = `stm-test:status:${uniqueId()}:stm:`;
    prefixes.push(coordinatorPrefix);
    const coordinator = createRedisMigrationCoordinator(redis, { prefix: coordinatorPrefix });
    const won = await coordinator.claim("migrated-sid");
    if (won.status === "WON") await won.claim.publish("{}", 1000);

    const flags = [
      "--sessions",
      requireEnv("REDIS_URL"),
      "--session-prefix",
      prefix,
      "--from",
      requireEnv("DATABASE_URL"),
      "--query",
      users.query,
      "--core",
      uri,
      "--coordinator",
      requireEnv("REDIS_URL"),
      "--coordinator-prefix",
      coordinatorPrefix,
    ];
    const text = await cli(["status", ...flags]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        "^Migration status \\(.+\\): 1 of 9 users moved, 5 signed-in legacy sessions left, 1 sessions migrated\\.\\n" +
          "Not done yet\\.",
      ),
    );
    assert.match(text.stdout, /\nUsers: not yet\n/);
    assert.match(
      text.stdout,
      /of which: importable 5, sign-in or reset 2 \(verify-only 1, unrecognised 1, malformed 0\), reset only 1/,
    );
    assert.match(
      text.stdout,
      /Next: 5 users can move now with their hash: run supertokens-migrate finish\. 3 users can only move by sign-in/,
    );
    assert.match(text.stdout, /\nLegacy sessions \(redis\): not yet\n {2}signed in 5, anonymous 1, expired 0\n/);
    assert.match(text.stdout, / {4}over 30 days {5}1\n/);
    assert.match(text.stdout, /Next: 5 signed-in legacy sessions left; the last expires in 30 days/);
    assert.match(text.stdout, /\nCoordinator: not yet\n/);

    const json = await cli(["status", ...flags, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const printed = JSON.parse(json.stdout) as MigrationStatus;
    assert.equal(printed.version, 1);
    assert.ok(Math.abs(Date.parse(printed.sessions!.lastExpiresAt!) - lastStandardExpiry(now)) < 5000);
    const direct = await migrationStatus({
      sessions: { redis, prefix },
      users: { pool, query: users.query },
      core: { connectionURI: uri },
      coordinator: { redis, prefix: coordinatorPrefix },
    });
    // The same data, but for the instant each was read (the expiries are computed from TTLs at that moment).
    const stable = (s: MigrationStatus) => ({
      ...withoutTime(s),
      sessions: { ...s.sessions!, lastExpiresAt: undefined, nextStep: undefined },
      coordinator: { ...s.coordinator!, lastMarkerExpiresAt: undefined },
      nextSteps: s.nextSteps.map((step) => step.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<date>")),
    });
    assert.deepEqual(stable(printed), stable(direct));
  });

  it("reads connect-pg-simple sessions and the PostgreSQL coordinator from postgres:// flags", async () => {
    const { store, schema } = await pgStore(pool);
    schemas.push(schema);
    for (const [sid, data] of standardSessions()) await saver(store)(sid, data);
    const coordinator = createPostgresMigrationCoordinator(pool, { schema, table: "claims" });
    try {
      const won = await coordinator.claim("migrated-sid");
      if (won.status === "WON") await won.claim.publish("{}", 1000);
      const res = await cli([
        "status",
        "--json",
        "--sessions",
        requireEnv("DATABASE_URL"),
        "--session-schema",
        schema,
        "--coordinator",
        requireEnv("DATABASE_URL"),
        "--coordinator-schema",
        schema,
        "--coordinator-table",
        "claims",
      ]);
      assert.equal(res.code, 0, res.stderr);
      const printed = JSON.parse(res.stdout) as MigrationStatus;
      assert.equal(printed.sessions!.store, "postgres");
      assert.equal(printed.sessions!.loggedIn, 5);
      assert.equal(printed.coordinator!.migrated, 1);
      assert.equal(printed.coordinator!.canRetire, false);
    } finally {
      coordinator.close();
    }
  });

  it("exits 1 with the reason on stderr for a flag mistake or an unreachable store", async () => {
    const nothing = await cli(["status"]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, /name what to read: --sessions <url>/);
    const coreAlone = await cli(["status", "--core", "http://localhost:3567"]);
    assert.equal(coreAlone.code, 1);
    assert.match(coreAlone.stderr, /give the users table too, with --from and --query/);
    const noPrefix = await cli(["status", "--coordinator", requireEnv("REDIS_URL")]);
    assert.equal(noPrefix.code, 1);
    assert.match(noPrefix.stderr, /a Redis --coordinator needs --coordinator-prefix/);
    const badMap = await cli([
      "status",
      "--from",
      requireEnv("DATABASE_URL"),
      "--query",
      "select 1",
      "--map",
      "hash=x",
    ]);
    assert.equal(badMap.code, 1);
    assert.match(badMap.stderr, /unknown option `hash`/);
    const down = await cli(["status", "--sessions", "redis://127.0.0.1:1", "--timeout", "500"]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /--sessions: cannot connect to Redis/);
  });
});

describe("supertokens-migrate finish", () => {
  it("moves every legacy-only user the core takes with their hash, lists the rest, moves nobody twice", async () => {
    const uri = await createCoreApp(core.url);
    await importSome(users, "id = 101", uri);
    const flags = ["--from", requireEnv("DATABASE_URL"), "--query", users.query, "--core", uri];

    // Dry run: everything decided, nothing written.
    const dryReport = path.join(dir, "dry.json");
    const dry = await cli(["finish", ...flags, "--dry-run", "--report", dryReport]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Dry run, nothing was written: would import 5 of 9 users/);
    assert.match(dry.stdout, /Finish: 3 legacy users would remain outside SuperTokens:/);
    const planned = JSON.parse(await readFile(dryReport, "utf8")) as FinishReport;
    assert.equal(planned.dryRun, true);
    assert.equal(planned.counts.wouldMove, 5);
    let status = await migrationStatus({ users: { pool, query: users.query }, core: { connectionURI: uri } });
    assert.equal(status.users!.moved, 1, "a dry run moves nobody");

    const reportPath = path.join(dir, "finish.json");
    const real = await cli(["finish", ...flags, "--report", reportPath]);
    assert.equal(real.code, 0, real.stderr);
    assert.match(real.stdout, /Imported 5 of 9 users/);
    assert.match(real.stdout, /2 can only move by sign-in \(legacyAuth\) or a password reset/);
    assert.match(real.stdout, /1 have no password hash: only a reset moves them/);
    assert.match(real.stdout, /sendResetToStragglers\(\)/);
    const report = JSON.parse(await readFile(reportPath, "utf8")) as FinishReport;
    assert.equal(report.version, 1);
    assert.equal(report.counts.moved, 5);
    assert.deepEqual(
      report.rest.map((r) => [r.id, r.reason, r.next]),
      [
        ["201", "unsupported-hash", "sign-in-or-reset"],
        ["202", "unsupported-hash", "sign-in-or-reset"],
        ["203", "missing-hash", "reset"],
      ],
    );
    // The report holds ids and reasons, never an email or a hash.
    const raw = await readFile(reportPath, "utf8");
    for (const r of users.rows) {
      assert.ok(!raw.includes(r.email), "no email in the report");
      if (r.hash) assert.ok(!raw.includes(r.hash), "no hash in the report");
    }
    assert.equal((await stat(reportPath)).mode & 0o777, 0o600);

    status = await migrationStatus({ users: { pool, query: users.query }, core: { connectionURI: uri } });
    assert.equal(status.users!.moved, 6);
    assert.equal(status.users!.legacyOnlyByHash.importable, 0);
    assert.match(status.users!.nextStep, /^3 users can only move by sign-in or reset/);

    // A moved user signs in with their old password, under their legacy id.
    resetSdk();
    supertokens.init({ supertokens: { connectionURI: uri }, appInfo, recipeList: [EmailPassword.init()] });
    const signedIn = await EmailPassword.signIn("public", users.rows[3].email, users.rows[3].password!);
    assert.equal(signedIn.status, "OK");
    if (signedIn.status === "OK") assert.equal(signedIn.user.id, String(users.rows[3].id));

    // Again: nobody moves twice, the rest is the same.
    const again = await cli(["finish", ...flags, "--report", reportPath]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Imported 0 of 9 users/);
    const second = JSON.parse(await readFile(reportPath, "utf8")) as FinishReport;
    assert.equal(second.counts.moved, 0);
    assert.deepEqual(second.rest, report.rest);
    assert.equal(second.import.counts.skippedByReason["already-imported"], 6);
  });
});
