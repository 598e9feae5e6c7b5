/**
 * legacyAuth().passwordless: a magic link or one-time code proves its email, so a legacy-only user's first
 * passwordless sign-in lands on their legacy id; no passwordless sign-up or email change takes a legacy-only user's
 * email (issue 11, item 1); a legacy user who already moved by password is not forked into a second user. The real
 * SDK over HTTP against the dev core, legacy users in PostgreSQL, the codes as the SDK's email delivery hands them out.
 */
import { after, before, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import type { Express } from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Passwordless from "supertokens-node/recipe/passwordless";
import Session from "supertokens-node/recipe/session";
import UserRoles from "supertokens-node/recipe/userroles";
import { createPgLegacyUsers, legacyAuth, PENDING_EMAIL_DOMAIN } from "../../lib/auth/index.js";
import { REASONS } from "../../lib/auth/other-logins.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { accountLinkingRecipe, createLegacyTable, form, notesApp, type LegacyTable } from "../helpers/legacy-auth.js";
import { openPostgresCore } from "../helpers/core-backends.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const PASSWORD = "correct horse battery staple";

let core: DevCore;
let proxy: TcpProxy;
let legacy: LegacyTable;
let notesTable: string;
let uri: string;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  proxy = await startTcpProxy({ host: "127.0.0.1", port: core.port });
  legacy = await createLegacyTable();
  await legacy.pool.query(`ALTER TABLE ${legacy.table} ADD COLUMN roles text`);
  notesTable = `notes_${uniqueId()}`;
  await legacy.pool.query(`CREATE TABLE ${notesTable} (user_id text NOT NULL, body text NOT NULL)`);
});
after(async () => {
  await legacy.pool.query(`DROP TABLE IF EXISTS ${notesTable}`);
  await legacy.drop();
  await proxy.close();
  await core.close();
});
beforeEach(async () => {
  proxy.restore();
  uri = await createCoreApp(proxy.url);
  await legacy.clear();
  await legacy.pool.query(`DELETE FROM ${notesTable}`);
});

/** What the SDK would have emailed: the code and the magic link, per address. */
interface SentCode {
  email: string;
  userInputCode?: string;
  urlWithLinkCode?: string;
  preAuthSessionId: string;
}

function startApp(options: { accountLinking?: boolean; unguarded?: boolean; phones?: boolean } = {}) {
  resetSdk();
  const sent: SentCode[] = [];
  const auth = legacyAuth({
    ...createPgLegacyUsers({ pool: legacy.pool, table: legacy.table, columns: { roles: "roles" } }),
  });
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: auth }),
      Passwordless.init({
        contactMethod: options.phones ? "EMAIL_OR_PHONE" : "EMAIL",
        flowType: "USER_INPUT_CODE_AND_MAGIC_LINK",
        emailDelivery: {
          override: (original) => ({
            ...original,
            sendEmail: async (input) => void sent.push(input),
          }),
        },
        smsDelivery: {
          override: (original) => ({
            ...original,
            sendSms: async (input) => void sent.push({ ...input, email: input.phoneNumber }),
          }),
        },
        ...(options.unguarded ? {} : { override: auth.passwordless }),
      }),
      EmailVerification.init({ mode: "OPTIONAL" }),
      UserRoles.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
      ...accountLinkingRecipe(options.accountLinking),
    ],
  });
  const app = notesApp(legacy.pool, notesTable);
  return { app, sent };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server's JSON, asserted field by field
type Answer = { status: number; body: any; userId?: string; token?: string; headers: Record<string, string> };

async function withSession(res: request.Response, app: Express): Promise<Answer> {
  const answer: Answer = { status: res.status, body: res.body, headers: res.headers };
  if (res.status !== 200 || res.body.status !== "OK") return answer;
  answer.token = res.headers["st-access-token"];
  const me = await request(app).get("/me").set("Authorization", `Bearer ${answer.token}`);
  return { ...answer, userId: me.body.userId };
}

const requestCode = (app: Express, email: string) => request(app).post("/auth/signinup/code").send({ email });

/** The whole flow: ask for a code, then use the magic link (default) or type the code (`otp`, or a wrong one). */
async function passwordlessSignIn(
  ctx: { app: Express; sent: SentCode[] },
  email: string,
  how: "link" | "otp" | { wrongOtp: true } = "link",
): Promise<Answer> {
  const asked = await requestCode(ctx.app, email);
  if (asked.body.status !== "OK") return withSession(asked, ctx.app);
  const mail = [...ctx.sent].reverse().find((m) => m.preAuthSessionId === asked.body.preAuthSessionId);
  assert.ok(mail, "the code was sent");
  const body =
    how === "link"
      ? { preAuthSessionId: asked.body.preAuthSessionId, linkCode: new URL(mail.urlWithLinkCode ?? "").hash.slice(1) }
      : {
          preAuthSessionId: asked.body.preAuthSessionId,
          deviceId: asked.body.deviceId,
          userInputCode: how === "otp" ? mail.userInputCode : "000000-wrong",
        };
  return withSession(await request(ctx.app).post("/auth/signinup/code/consume").send(body), ctx.app);
}

async function legacyUser(options: { password?: boolean } = {}) {
  const email = `user-${uniqueId()}@example.com`;
  const passwordHash = options.password === false ? null : await bcrypt.hash(PASSWORD, 4);
  return { id: await legacy.insert({ email, passwordHash }), email };
}

const usersWithEmail = (email: string) => supertokens.listUsersByAccountInfo("public", { email });
const passwordSignIn = async (app: Express, email: string) =>
  withSession(
    await request(app)
      .post("/auth/signin")
      .send(form({ email, password: PASSWORD })),
    app,
  );

async function assertNoPlaceholders() {
  const { users } = await supertokens.getUsersNewestFirst({
    tenantId: "public",
    query: { email: PENDING_EMAIL_DOMAIN },
  });
  assert.deepEqual(
    users.map((u) => u.emails),
    [],
    "no user is left under a reserved address",
  );
}

describe("legacyAuth with Passwordless", () => {
  describe("a legacy-only user's first magic link or code", () => {
    it("a magic link lands on their legacy id, notes included, and they stay there", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      await legacy.pool.query(`INSERT INTO ${notesTable} (user_id, body) VALUES ($1, 'kept')`, [user.id]);
      const first = await passwordlessSignIn(ctx, user.email);
      assert.equal(first.body.status, "OK", JSON.stringify(first.body));
      assert.equal(first.userId, user.id);
      const notes = await request(ctx.app).get("/notes").set("Authorization", `Bearer ${first.token}`);
      assert.deepEqual(notes.body, ["kept"]);
      const again = await passwordlessSignIn(ctx, user.email);
      assert.equal(again.userId, user.id);
      assert.equal(again.body.createdNewRecipeUser, false);
      const stored = await supertokens.getUser(user.id);
      assert.deepEqual(
        stored?.loginMethods.map((lm) => [lm.recipeId, lm.email, lm.verified]),
        [["passwordless", user.email, true]],
      );
      await assertNoPlaceholders();
    });

    it("a typed one-time code does the same, for a provider-only (no password) legacy row too", async () => {
      const ctx = startApp();
      const user = await legacyUser({ password: false });
      const signedIn = await passwordlessSignIn(ctx, user.email.toUpperCase(), "otp");
      assert.equal(signedIn.body.status, "OK", JSON.stringify(signedIn.body));
      assert.equal(signedIn.userId, user.id);
    });

    it("gives a legacy admin their roles before the first session: the first access token carries them", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      await legacy.pool.query(`UPDATE ${legacy.table} SET roles = 'admin' WHERE id = $1`, [user.id]);
      const first = await passwordlessSignIn(ctx, user.email);
      assert.equal(first.userId, user.id);
      const payload = JSON.parse(Buffer.from(first.token!.split(".")[1], "base64url").toString());
      assert.deepEqual(payload["st-role"].v, ["admin"]);
    });

    it("a wrong code moves nobody", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      const answer = await passwordlessSignIn(ctx, user.email, { wrongOtp: true });
      assert.equal(answer.body.status, "INCORRECT_USER_INPUT_CODE_ERROR");
      assert.deepEqual(await usersWithEmail(user.email), []);
      assert.equal((await passwordSignIn(ctx.app, user.email)).userId, user.id);
    });
  });

  describe("sign-ups that would take a legacy user's email", () => {
    it("an email several legacy rows share is refused before any code is sent", async () => {
      const ctx = startApp();
      const email = `shared-${uniqueId()}@example.com`;
      await legacy.insert({ email, passwordHash: null });
      await legacy.insert({ email: ` ${email.toUpperCase()}`, passwordHash: null });
      const answer = await requestCode(ctx.app, email);
      assert.deepEqual(answer.body, { status: "SIGN_IN_UP_NOT_ALLOWED", reason: REASONS.unusableLegacyEmail });
      assert.equal(ctx.sent.length, 0);
      assert.deepEqual(await usersWithEmail(email), []);
    });

    it("a reserved placeholder address is refused", async () => {
      const ctx = startApp();
      const answer = await requestCode(ctx.app, `x@${PENDING_EMAIL_DOMAIN}`);
      assert.equal(answer.body.status, "SIGN_IN_UP_NOT_ALLOWED");
      assert.equal(ctx.sent.length, 0);
    });

    it("without account linking, a user who moved by password is told how to sign in; one user", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      assert.equal((await passwordSignIn(ctx.app, user.email)).userId, user.id);
      const answer = await requestCode(ctx.app, user.email);
      assert.deepEqual(answer.body, {
        status: "SIGN_IN_UP_NOT_ALLOWED",
        reason: REASONS.otherMethod("your email and password"),
      });
      assert.equal(ctx.sent.length, 0);
      assert.deepEqual(
        (await usersWithEmail(user.email)).map((u) => u.id),
        [user.id],
      );
    });

    it("with account linking, a user who moved by password adds magic links to the same user", async () => {
      const ctx = startApp({ accountLinking: true });
      const user = await legacyUser();
      assert.equal((await passwordSignIn(ctx.app, user.email)).userId, user.id);
      // SuperTokens' linking (verification required) wants the first method's email verified.
      await EmailVerification.verifyEmailUsingToken(
        "public",
        (
          (await EmailVerification.createEmailVerificationToken(
            "public",
            supertokens.convertToRecipeUserId(user.id),
          )) as {
            token: string;
          }
        ).token,
      );
      const answer = await passwordlessSignIn(ctx, user.email);
      assert.equal(answer.body.status, "OK", JSON.stringify(answer.body));
      assert.equal(answer.userId, user.id);
      const users = await usersWithEmail(user.email);
      assert.deepEqual(
        users.map((u) => u.id),
        [user.id],
      );
      assert.deepEqual(users[0].loginMethods.map((lm) => lm.recipeId).sort(), ["emailpassword", "passwordless"]);
      assert.equal((await passwordSignIn(ctx.app, user.email)).userId, user.id);
    });
  });

  describe("phone numbers (not in the legacy table)", () => {
    it("a phone sign-up and sign-in work as SuperTokens' own, untouched", async () => {
      const ctx = startApp({ phones: true });
      await legacyUser();
      const asked = await request(ctx.app).post("/auth/signinup/code").send({ phoneNumber: "+14155552671" });
      assert.equal(asked.body.status, "OK", JSON.stringify(asked.body));
      const code = ctx.sent.at(-1)!;
      const consumed = await request(ctx.app).post("/auth/signinup/code/consume").send({
        preAuthSessionId: asked.body.preAuthSessionId,
        deviceId: asked.body.deviceId,
        userInputCode: code.userInputCode,
      });
      assert.equal(consumed.body.status, "OK", JSON.stringify(consumed.body));
      assert.equal(consumed.body.createdNewRecipeUser, true);
      assert.deepEqual(consumed.body.user.phoneNumbers, ["+14155552671"]);
    });
  });

  describe("an email change of a passwordless user onto a legacy-only email", () => {
    it("answers EMAIL_ALREADY_EXISTS_ERROR and the user keeps their email", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      const own = `own-${uniqueId()}@example.com`;
      const mine = await passwordlessSignIn(ctx, own);
      assert.equal(mine.body.status, "OK");
      const recipeUserId = supertokens.convertToRecipeUserId(mine.body.user.loginMethods[0].recipeUserId as string);
      const changed = await Passwordless.updateUser({ recipeUserId, email: ` ${user.email.toUpperCase()}` });
      assert.equal(changed.status, "EMAIL_ALREADY_EXISTS_ERROR");
      assert.deepEqual((await supertokens.getUser(mine.body.user.id as string))?.emails, [own]);
      assert.equal((await passwordSignIn(ctx.app, user.email)).userId, user.id);
      // An address nobody has is still the user's to take.
      const free = `free-${uniqueId()}@example.com`;
      assert.equal((await Passwordless.updateUser({ recipeUserId, email: free })).status, "OK");
    });
  });

  describe("when Passwordless is initialised without legacyAuth's override", () => {
    it("says so loudly, naming the fix, and legacyAuth refuses its work (ERR_MIGRATE_RECIPE_NOT_GUARDED)", async () => {
      const lines: string[] = [];
      const spy = mock.method(console, "error", (line: string) => void lines.push(String(line)));
      try {
        const { app } = startApp({ unguarded: true });
        const res = await request(app)
          .post("/auth/signup")
          .send(form({ email: `new-${uniqueId()}@example.com`, password: "a new password 1" }));
        assert.equal(res.status, 500);
        assert.deepEqual(res.body, { code: "ERR_MIGRATE_RECIPE_NOT_GUARDED" });
        assert.ok(
          lines.some((l) => l.includes("Passwordless.init({ ..., override: legacy.passwordless })")),
          lines.join("\n"),
        );
      } finally {
        spy.mock.restore();
      }
    });
  });

  describe("on the dev core's PostgreSQL storage", () => {
    let pgCore: DevCore;
    let closePgCore: () => Promise<void>;
    before(async () => {
      ({ core: pgCore, close: closePgCore } = await openPostgresCore("stm_legacy_pl", {}));
    });
    after(() => closePgCore());

    it("a magic link lands a legacy-only user on their id; email changes onto legacy emails refused", async () => {
      uri = await createCoreApp(pgCore.url);
      const ctx = startApp();
      const user = await legacyUser();
      assert.equal((await passwordlessSignIn(ctx, user.email)).userId, user.id);
      assert.equal((await passwordlessSignIn(ctx, user.email, "otp")).userId, user.id);
      const other = await legacyUser();
      const recipeUserId = supertokens.convertToRecipeUserId(user.id);
      assert.equal(
        (await Passwordless.updateUser({ recipeUserId, email: other.email })).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      await assertNoPlaceholders();
    });
  });

  describe("when the core cannot be reached", () => {
    it("asking for a code and using it answer 503 with Retry-After; the flow works once it is back", async () => {
      const ctx = startApp();
      const user = await legacyUser();
      const asked = await requestCode(ctx.app, user.email);
      assert.equal(asked.body.status, "OK");
      proxy.cut();
      const consume = await request(ctx.app)
        .post("/auth/signinup/code/consume")
        .send({
          preAuthSessionId: asked.body.preAuthSessionId,
          linkCode: new URL(ctx.sent.at(-1)!.urlWithLinkCode!).hash.slice(1),
        });
      const ask = await requestCode(ctx.app, user.email);
      for (const [what, res] of Object.entries({ consume, ask })) {
        assert.equal(res.status, 503, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
        assert.equal(res.headers["retry-after"], "1", what);
        assert.deepEqual(res.body, { code: "ERR_MIGRATE_CORE_UNAVAILABLE" }, what);
      }
      proxy.restore();
      assert.equal((await passwordlessSignIn(ctx, user.email)).userId, user.id);
    });
  });
});
