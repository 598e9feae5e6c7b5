/**
 * sendResetToStragglers() inside an app: the real SDK with legacyAuth()'s override and an emailDelivery override
 * the test supplies, the dev core, and a legacy users table in PostgreSQL.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import bcrypt from "bcrypt";
import request from "supertest";
import { createPgLegacyUsers, legacyAuth } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { sendResetToStragglers, type SendResetReport } from "../../lib/status/index.js";
import { createLegacyTable, form, signIn, startAuthApp, type LegacyTable } from "../helpers/legacy-auth.js";
import { createCoreApp, resetSdk } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";

let core: DevCore;
let legacy: LegacyTable;
let dir: string;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  legacy = await createLegacyTable();
  dir = await mkdtemp(path.join(os.tmpdir(), "st-resets-"));
});
after(async () => {
  await legacy.drop();
  await core.close();
  await rm(dir, { recursive: true, force: true });
});

const DJANGO = "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=";

async function setup() {
  const uri = await createCoreApp(core.url);
  const auth = legacyAuth(createPgLegacyUsers({ pool: legacy.pool, table: legacy.table }));
  const ctx = startAuthApp(uri, auth);
  const tag = uniqueId();
  const verifyOnly = { email: `django-${tag}@example.com` };
  const noHash = { email: `nohash-${tag}@example.com` };
  const cameBack = { email: `back-${tag}@example.com` };
  const ids = {
    verifyOnly: await legacy.insert({ email: verifyOnly.email, passwordHash: DJANGO }),
    noHash: await legacy.insert({ email: noHash.email, passwordHash: null }),
    cameBack: await legacy.insert({ email: cameBack.email, passwordHash: await bcrypt.hash("Old-pw-1", 4) }),
  };
  // This one came back after finish listed it: legacyAuth moved them on sign-in.
  assert.equal((await signIn(ctx.app, cameBack.email, "Old-pw-1")).userId, ids.cameBack);
  return { ...ctx, auth, ids, emails: ctx.emails, verifyOnly, noHash };
}

describe("sendResetToStragglers", () => {
  it("emails a reset through the app's emailDelivery to legacy-only users, once, and the link moves them", async () => {
    const ctx = await setup();
    const userIds = [ctx.ids.verifyOnly, ctx.ids.noHash, ctx.ids.cameBack, "999999"];
    const reportPath = path.join(dir, `resets-${uniqueId()}.json`);

    const dry = await sendResetToStragglers({ legacyAuth: ctx.auth, userIds, dryRun: true, report: reportPath });
    assert.deepEqual(dry.wouldSend, [{ id: ctx.ids.verifyOnly }, { id: ctx.ids.noHash }]);
    assert.equal(ctx.emails.length, 0, "a dry run sends nothing");
    await assert.rejects(stat(reportPath), { code: "ENOENT" }, "a dry run writes no report");

    const first = await sendResetToStragglers({ legacyAuth: ctx.auth, userIds, report: reportPath });
    assert.deepEqual(
      first.sent.map((s) => s.id),
      [ctx.ids.verifyOnly, ctx.ids.noHash],
    );
    assert.deepEqual(
      first.skipped.map((s) => [s.id, s.reason]),
      [
        [ctx.ids.cameBack, "in-supertokens"],
        ["999999", "not-found"],
      ],
    );
    assert.deepEqual(first.counts, {
      input: 4,
      sent: 2,
      wouldSend: 0,
      skipped: 2,
      skippedByReason: { "in-supertokens": 1, "not-found": 1 },
    });
    assert.deepEqual(
      ctx.emails.map((e) => [e.type, e.user.id, e.user.email]),
      [
        ["PASSWORD_RESET", ctx.ids.verifyOnly, ctx.verifyOnly.email],
        ["PASSWORD_RESET", ctx.ids.noHash, ctx.noHash.email],
      ],
    );
    for (const e of ctx.emails)
      assert.match(
        e.passwordResetLink,
        /^http:\/\/localhost:3000\/auth\/reset-password\?token=stm1\.[^&]+&tenantId=public$/,
      );
    const written = JSON.parse(await readFile(reportPath, "utf8")) as SendResetReport;
    assert.deepEqual(written.sent, first.sent);
    const raw = await readFile(reportPath, "utf8");
    assert.ok(!raw.includes("@example.com") && !raw.includes("stm1."), "ids only: no email, no token");

    // Again with the same report: nobody is emailed twice.
    const again = await sendResetToStragglers({ legacyAuth: ctx.auth, userIds, report: reportPath });
    assert.equal(ctx.emails.length, 2);
    assert.equal(again.counts.sent, 0);
    assert.deepEqual(again.counts.skippedByReason, { "already-sent": 2, "in-supertokens": 1, "not-found": 1 });
    assert.deepEqual(
      again.sent.map((s) => s.id),
      [ctx.ids.verifyOnly, ctx.ids.noHash],
    );

    // The user without a hash follows the link and is moved under their legacy id with the new password.
    const token = new URL(ctx.emails[1].passwordResetLink).searchParams.get("token")!;
    const done = await request(ctx.app)
      .post("/auth/user/password/reset")
      .send({ ...form({ password: "Brand-new-pw-1" }), token });
    assert.deepEqual(done.body, { status: "OK" });
    assert.equal((await signIn(ctx.app, ctx.noHash.email, "Brand-new-pw-1")).userId, ctx.ids.noHash);
    const later = await sendResetToStragglers({ legacyAuth: ctx.auth, userIds: [ctx.ids.noHash] });
    assert.deepEqual(later.skipped, [
      { id: ctx.ids.noHash, reason: "in-supertokens", detail: "moved since the list was made" },
    ]);
  });

  it("names the fix for an apiBasePath the SDK does not serve, and for an SDK not initialised here", async () => {
    const ctx = await setup();
    await assert.rejects(
      sendResetToStragglers({ legacyAuth: ctx.auth, userIds: [ctx.ids.noHash], apiBasePath: "/api" }),
      (err: { code?: string; message?: string }) =>
        err.code === "ERR_MIGRATE_INVALID_OPTION" && /apiBasePath/.test(err.message ?? ""),
    );
    assert.equal(ctx.emails.length, 0);
    resetSdk();
    await assert.rejects(
      sendResetToStragglers({ legacyAuth: ctx.auth, userIds: [ctx.ids.noHash] }),
      (err: { code?: string }) => err.code === "ERR_MIGRATE_SDK_NOT_INITIALISED",
    );
  });

  it("validates its options like every entry point", async () => {
    const auth = legacyAuth(createPgLegacyUsers({ pool: legacy.pool, table: legacy.table }));
    const cases: [unknown, string, RegExp][] = [
      [undefined, "ERR_MIGRATE_MISSING_OPTION", /with `legacyAuth` and `userIds`/],
      [{ userIds: [] }, "ERR_MIGRATE_MISSING_OPTION", /`legacyAuth` is required/],
      [{ legacyAuth: auth }, "ERR_MIGRATE_MISSING_OPTION", /`userIds` is required/],
      [{ legacyAuth: auth, userIds: "1,2" }, "ERR_MIGRATE_INVALID_OPTION", /userIds/],
      [{ legacyAuth: auth, userIds: [], dryrun: true }, "ERR_MIGRATE_UNKNOWN_OPTION", /Did you mean `dryRun`\?/],
      [{ legacyAuth: {}, userIds: [] }, "ERR_MIGRATE_INVALID_OPTION", /legacyAuth/],
    ];
    for (const [options, code, message] of cases)
      await assert.rejects(
        sendResetToStragglers(options as Parameters<typeof sendResetToStragglers>[0]),
        (err: { code?: string; message?: string }) => err.code === code && message.test(err.message ?? ""),
        JSON.stringify(options),
      );
  });
});
