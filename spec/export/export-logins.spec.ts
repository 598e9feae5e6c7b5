/**
 * Export format 3: third-party and passwordless logins, made through the real SDK against the dev core on
 * PostgreSQL, come out as user records next to email-password ones: a provider identity, a magic-link email, a
 * phone number, and an email-password user with a linked provider login sharing one user.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import pg from "pg";
import supertokens from "supertokens-node";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Passwordless from "supertokens-node/recipe/passwordless";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import Session from "supertokens-node/recipe/session";
import UserMetadata from "supertokens-node/recipe/usermetadata";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { exportSuperTokens, type ExportOptions } from "../../lib/export/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const schema = `stm_export_logins_${uniqueId()}`;
let pool: pg.Pool;
let core: DevCore;
let appId: string;
const ids: Record<string, string> = {};

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
  core = await startDevCore({
    config: { bcrypt_log_rounds: 4 },
    storage: await PostgresStorage.create(pool, { schema }),
  });
  const uri = await createCoreApp(core.url);
  appId = uri.split("/appid-")[1]!;
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      ThirdParty.init(),
      Passwordless.init({ contactMethod: "EMAIL_OR_PHONE", flowType: "USER_INPUT_CODE" }),
      EmailVerification.init({ mode: "OPTIONAL" }),
      AccountLinking.init({ shouldDoAutomaticAccountLinking: async () => ({ shouldAutomaticallyLink: false }) }),
      UserMetadata.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
    ],
  });

  const tp = await ThirdParty.manuallyCreateOrUpdateUser("public", "google", "g-123", "tp@example.com", true);
  assert.equal(tp.status, "OK");
  if (tp.status !== "OK") return;
  ids.tp = tp.user.id;
  assert.equal(
    (await supertokens.createUserIdMapping({ superTokensUserId: tp.user.id, externalUserId: "legacy-tp" })).status,
    "OK",
  );

  const byEmail = await Passwordless.signInUp({ tenantId: "public", email: "pl@example.com" });
  ids.plEmail = byEmail.user.id;
  const byPhone = await Passwordless.signInUp({ tenantId: "public", phoneNumber: "+14155550100" });
  ids.plPhone = byPhone.user.id;

  const ep = await EmailPassword.signUp("public", "link@example.com", "secret-pass-1");
  assert.equal(ep.status, "OK");
  if (ep.status !== "OK") return;
  ids.ep = ep.user.id;
  assert.equal((await AccountLinking.createPrimaryUser(ep.recipeUserId)).status, "OK");
  const gh = await ThirdParty.manuallyCreateOrUpdateUser("public", "github", "gh-9", "link@example.com", false);
  assert.equal(gh.status, "OK");
  if (gh.status !== "OK") return;
  ids.linkedTp = gh.recipeUserId.getAsString();
  assert.equal((await AccountLinking.linkAccounts(gh.recipeUserId, ep.user.id)).status, "OK");
  await UserMetadata.updateUserMetadata(ep.user.id, { plan: "team" });
});

after(async () => {
  await core?.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

async function exportTo(options: Partial<ExportOptions> = {}) {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  const report = await exportSuperTokens({ db: pool, out, schema, appId, ...options });
  return { report, text };
}

describe("export: third-party and passwordless logins (format 3)", () => {
  it("writes a record per login of every recipe, linked logins under their primary user", async () => {
    // A page size of 1 makes every table take several pages: one statement each (and one that finds the end), no
    // statement per user.
    const statements: string[] = [];
    const db = {
      query(sql: string, params?: unknown[]) {
        statements.push(sql);
        return pool.query(sql, params);
      },
    };
    const { report, text } = await exportTo({ pageSize: 1, db: db as unknown as ExportOptions["db"] });
    const pagesOf = (table: string) =>
      statements.filter((q) => new RegExp(`FROM\\s+\\S*${table}"?\\s+u\\s+WHERE`).test(q)).length;
    assert.deepEqual(["emailpassword_users", "thirdparty_users", "passwordless_users"].map(pagesOf), [2, 3, 3]);
    const lines = text
      .trimEnd()
      .split("\n")
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- exported records, asserted field by field
      .map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(lines[0].version, 3);
    const users = lines.filter((l) => l.type === "user");
    assert.deepEqual(
      users.map((u) => u.recipeId),
      ["emailpassword", "thirdparty", "thirdparty", "passwordless", "passwordless"],
    );
    const byRecipeUser = new Map(users.map((u) => [String(u.recipeUserId), u]));
    const pick = (id: string): (typeof users)[number] => {
      const u = byRecipeUser.get(id);
      assert.ok(u, `a record for ${id}`);
      return { ...u, timeJoined: typeof u.timeJoined };
    };

    assert.deepEqual(pick(ids.tp), {
      type: "user",
      userId: "legacy-tp",
      superTokensUserId: ids.tp,
      recipeUserId: ids.tp,
      recipeId: "thirdparty",
      email: "tp@example.com",
      passwordHash: null,
      passwordHashFormat: null,
      thirdParty: { id: "google", userId: "g-123" },
      phoneNumber: null,
      timeJoined: "number",
      emailVerified: true,
      tenantIds: ["public"],
      metadata: null,
      roles: [],
      externalUserIdInfo: null,
    });
    assert.deepEqual(pick(ids.plPhone), {
      type: "user",
      userId: ids.plPhone,
      superTokensUserId: ids.plPhone,
      recipeUserId: ids.plPhone,
      recipeId: "passwordless",
      email: null,
      passwordHash: null,
      passwordHashFormat: null,
      thirdParty: null,
      phoneNumber: "+14155550100",
      timeJoined: "number",
      emailVerified: true,
      tenantIds: ["public"],
      metadata: null,
      roles: [],
      externalUserIdInfo: null,
    });
    const plEmail = pick(ids.plEmail);
    assert.equal(plEmail.email, "pl@example.com");
    assert.equal(plEmail.phoneNumber, null);
    // The core verifies the email a magic link or code was sent to on sign-in.
    assert.equal(plEmail.emailVerified, true);

    const ep = pick(ids.ep);
    assert.equal(ep.recipeId, "emailpassword");
    assert.match(ep.passwordHash, /^\$2[aby]\$/);
    assert.equal(ep.passwordHashFormat, "bcrypt");
    assert.deepEqual(ep.metadata, { plan: "team" });
    const linked = pick(ids.linkedTp);
    assert.deepEqual(
      { ...linked, timeJoined: undefined },
      {
        type: "user",
        userId: ids.ep,
        superTokensUserId: ids.ep,
        recipeUserId: ids.linkedTp,
        recipeId: "thirdparty",
        email: "link@example.com",
        passwordHash: null,
        passwordHashFormat: null,
        thirdParty: { id: "github", userId: "gh-9" },
        phoneNumber: null,
        timeJoined: undefined,
        emailVerified: false,
        tenantIds: ["public"],
        metadata: { plan: "team" },
        roles: [],
        externalUserIdInfo: null,
      },
    );

    assert.deepEqual(lines.at(-1), {
      type: "trailer",
      counts: { user: 5, reset_token: 0, signing_key: lines.filter((l) => l.type === "signing_key").length },
    });
    assert.equal(report.users, 5);
    assert.deepEqual(report.logins, { emailpassword: 1, thirdparty: 2, passwordless: 2 });
    assert.deepEqual(report.hashFormats, { bcrypt: 1 });
    assert.equal(report.usersNeedingAttention, 0);
    assert.equal(report.linkedLogins, 1);
    assert.equal(report.mappedUsers, 1);
    assert.equal(report.otherRecipeUsers, 0);
    assert.deepEqual(report.warnings, []);
  });

  it("CSV: the new columns after recipe_user_id, empty for what a login does not have", async () => {
    const { text } = await exportTo({ format: "csv", tokensOut: new PassThrough(), keysOut: new PassThrough() });
    const [head, ...rows] = text.trimEnd().split("\r\n");
    assert.match(head, /,recipe_user_id,recipe_id,third_party_id,third_party_user_id,phone_number$/);
    assert.ok(rows.every((r) => r.startsWith("3,")));
    assert.ok(rows.some((r) => r.endsWith(`,${ids.tp},thirdparty,google,g-123,`)));
    assert.ok(rows.some((r) => r.endsWith(`,${ids.plPhone},passwordless,,,+14155550100`)));
    assert.ok(rows.some((r) => r.endsWith(`,${ids.ep},emailpassword,,,`)));
  });

  it("a database without the third-party and passwordless tables exports the rest and counts those users", async () => {
    await pool.query(`ALTER TABLE "${schema}".thirdparty_users RENAME TO thirdparty_users_away`);
    try {
      const { report } = await exportTo();
      assert.deepEqual(report.logins, { emailpassword: 1, thirdparty: 0, passwordless: 2 });
      assert.equal(report.otherRecipeUsers, 2);
      assert.match(report.warnings.join("\n"), /2 users of other recipes are not exported/);
    } finally {
      await pool.query(`ALTER TABLE "${schema}".thirdparty_users_away RENAME TO thirdparty_users`);
    }
  });
});
