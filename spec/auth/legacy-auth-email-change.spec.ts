/**
 * Issue 11, item 1: no path that sets an email may claim a legacy-only user's email. Sign-up already answers
 * EMAIL_ALREADY_EXISTS_ERROR; an email change (EmailPassword.updateEmailOrPassword, an app's change-email API, the
 * change-email-with-verification flow of SuperTokens' docs, the dashboard) must answer the same, with or without
 * EmailVerification and account linking, and fail closed (503) while the legacy store cannot be reached.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import express, { type NextFunction, type Request, type Response } from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import Dashboard from "supertokens-node/recipe/dashboard";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { createPgLegacyUsers, legacyAuth, PENDING_EMAIL_DOMAIN, type LegacyAuth } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createLegacyTable, form, signIn, type LegacyTable } from "../helpers/legacy-auth.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";
const ATTACKER_PASSWORD = "attacker password 1";
const DASHBOARD_KEY = "dashboard-api-key-for-tests";

let core: DevCore;
let legacy: LegacyTable;
let uri: string;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  legacy = await createLegacyTable();
});
after(async () => {
  await legacy.drop();
  await core.close();
});
beforeEach(async () => {
  uri = await createCoreApp(core.url);
  await legacy.clear();
});

interface SentEmail {
  type: string;
  user: { id: string; email: string };
  passwordResetLink?: string;
  emailVerifyLink?: string;
}

interface Options {
  /** EmailVerification in REQUIRED mode, with SuperTokens' documented change-email-with-verification flow. */
  emailVerification?: boolean;
  /** Automatic account linking (verification required), as SuperTokens' docs recommend. */
  accountLinking?: boolean;
  /** The user management dashboard, authenticated by API key. */
  dashboard?: boolean;
  /** A legacy store whose queries fail while `down()` is true. */
  down?: () => boolean;
}

/**
 * The real SDK with legacyAuth, plus the change-email API SuperTokens' docs give apps ("Allow users to change
 * their email"): POST /change-email { email } under a session. With EmailVerification it follows the docs'
 * verified flow: an unverified new email gets a verification email, and verifyEmailPOST applies the change.
 */
function startApp(options: Options = {}) {
  resetSdk();
  const sent: SentEmail[] = [];
  const query = (text: string, values?: unknown[]) =>
    options.down?.()
      ? Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))
      : legacy.pool.query(text, values);
  const auth: LegacyAuth = legacyAuth({ ...createPgLegacyUsers({ pool: { query }, table: legacy.table }) });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's email delivery; only sendEmail is replaced
  const capture = (original: any) => ({ ...original, sendEmail: async (input: SentEmail) => void sent.push(input) });
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: auth, emailDelivery: { override: capture } }),
      Session.init({ getTokenTransferMethod: () => "header" }),
      ...(options.emailVerification
        ? [
            EmailVerification.init({
              mode: "REQUIRED",
              emailDelivery: { override: capture },
              override: {
                apis: (original) => ({
                  ...original,
                  verifyEmailPOST: async (input) => {
                    const response = await original.verifyEmailPOST!(input);
                    if (response.status === "OK") {
                      // As the docs do: apply the email that was just verified.
                      const changed = await EmailPassword.updateEmailOrPassword({
                        recipeUserId: response.user.recipeUserId,
                        email: response.user.email,
                      });
                      if (changed.status !== "OK") return { status: "GENERAL_ERROR", message: changed.status };
                    }
                    return response;
                  },
                }),
              },
            }),
          ]
        : []),
      ...(options.dashboard ? [Dashboard.init({ apiKey: DASHBOARD_KEY })] : []),
      ...(options.accountLinking
        ? [
            AccountLinking.init({
              shouldDoAutomaticAccountLinking: async () => ({
                shouldAutomaticallyLink: true,
                shouldRequireVerification: true,
              }),
            }),
          ]
        : []),
    ],
  });
  const app = express();
  app.use(middleware());
  app.use(express.json());
  app.get("/me", verifySession({ overrideGlobalClaimValidators: () => [] }), (req: Request, res: Response) => {
    res.json({ userId: (req as unknown as { session: SessionContainer }).session.getUserId() });
  });
  app.post(
    "/change-email",
    verifySession({ overrideGlobalClaimValidators: () => [] }),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const session = (req as unknown as { session: SessionContainer }).session;
        const email: string = req.body.email;
        const recipeUserId = session.getRecipeUserId();
        if (options.emailVerification && !(await EmailVerification.isEmailVerified(recipeUserId, email))) {
          await EmailVerification.sendEmailVerificationEmail(
            session.getTenantId(),
            session.getUserId(),
            recipeUserId,
            email,
          );
          res.json({ status: "VERIFICATION_EMAIL_SENT" });
          return;
        }
        res.json(await EmailPassword.updateEmailOrPassword({ recipeUserId, email }));
      } catch (err) {
        next(err);
      }
    },
  );
  app.use(errorHandler());
  app.use(
    (
      err: { status?: number; code?: string; retryAfter?: number },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      if (err.retryAfter !== undefined) res.setHeader("Retry-After", String(err.retryAfter));
      if (process.env.SPEC_DEBUG_ERRORS) console.error(err);
      res.status(err.status ?? 500).json({ code: err.code ?? "INTERNAL" });
    },
  );
  return { app, sent };
}

async function legacyUser() {
  const email = `legacy-${uniqueId()}@example.com`;
  const id = await legacy.insert({ email, passwordHash: await bcrypt.hash(PASSWORD, 10) });
  return { id, email };
}

/** A SuperTokens user who signed up through the API, with their access token. */
async function attacker(app: express.Express) {
  const email = `attacker-${uniqueId()}@example.com`;
  const res = await request(app)
    .post("/auth/signup")
    .send(form({ email, password: ATTACKER_PASSWORD }));
  assert.equal(res.body.status, "OK", JSON.stringify(res.body));
  return { id: res.body.user.id as string, email, accessToken: res.headers["st-access-token"] };
}

/** The legacy user is untouched: the attacker kept their email, the legacy password works and moves the legacy id. */
async function assertLegacyUserIntact(
  app: express.Express,
  sent: SentEmail[],
  user: { id: string; email: string },
  attackerUser: { id: string; email: string },
) {
  assert.deepEqual(
    (await supertokens.getUser(attackerUser.id))?.emails,
    [attackerUser.email],
    "the attacker's email did not change",
  );
  const before = sent.length;
  assert.deepEqual(
    (
      await request(app)
        .post("/auth/user/password/reset/token")
        .send(form({ email: user.email }))
    ).body,
    { status: "OK" },
  );
  const reset = sent.slice(before).filter((e) => e.type === "PASSWORD_RESET");
  assert.equal(reset.length, 1);
  assert.equal(reset[0].user.id, user.id, "a reset for the legacy address is the legacy user's");
  assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id, "the legacy password still works");
}

describe("legacyAuth: changing an email onto a legacy-only user's email", () => {
  it(
    "EmailPassword.updateEmailOrPassword answers EMAIL_ALREADY_EXISTS_ERROR, and the legacy " +
      "user keeps their account",
    async () => {
      const { app, sent } = startApp();
      const user = await legacyUser();
      const them = await attacker(app);
      const changed = await EmailPassword.updateEmailOrPassword({
        recipeUserId: supertokens.convertToRecipeUserId(them.id),
        email: user.email,
      });
      assert.deepEqual(changed, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
      // In another case and with spaces too, as sign-up normalises.
      const shouted = await EmailPassword.updateEmailOrPassword({
        recipeUserId: supertokens.convertToRecipeUserId(them.id),
        email: `  ${user.email.toUpperCase()} `,
      });
      assert.deepEqual(shouted, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
      await assertLegacyUserIntact(app, sent, user, them);
    },
  );

  it("refuses the email change together with a password change, and changes neither", async () => {
    const { app, sent } = startApp();
    const user = await legacyUser();
    const them = await attacker(app);
    const changed = await EmailPassword.updateEmailOrPassword({
      recipeUserId: supertokens.convertToRecipeUserId(them.id),
      email: user.email,
      password: "new password 123",
    });
    assert.deepEqual(changed, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
    assert.equal((await signIn(app, them.email, ATTACKER_PASSWORD)).userId, them.id);
    await assertLegacyUserIntact(app, sent, user, them);
  });

  it("an app's change-email API answers EMAIL_ALREADY_EXISTS_ERROR over HTTP", async () => {
    const { app, sent } = startApp();
    const user = await legacyUser();
    const them = await attacker(app);
    const res = await request(app)
      .post("/change-email")
      .set("Authorization", `Bearer ${them.accessToken}`)
      .send({ email: user.email });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
    await assertLegacyUserIntact(app, sent, user, them);
  });

  it(
    "still lets a user change to a free email, back to their own, or to a moved legacy user's " + "old, stale address",
    async () => {
      const { app } = startApp();
      const them = await attacker(app);
      const recipeUserId = supertokens.convertToRecipeUserId(them.id);
      const fresh = `fresh-${uniqueId()}@example.com`;
      assert.equal((await EmailPassword.updateEmailOrPassword({ recipeUserId, email: fresh })).status, "OK");
      assert.equal(
        (await EmailPassword.updateEmailOrPassword({ recipeUserId, email: fresh, password: "another password 1" }))
          .status,
        "OK",
      );
      assert.equal((await signIn(app, fresh, "another password 1")).userId, them.id);
      // A legacy user who moved and then changed their email in SuperTokens no longer owns the legacy row's address.
      const moved = await legacyUser();
      assert.equal((await signIn(app, moved.email, PASSWORD)).userId, moved.id);
      const elsewhere = `moved-${uniqueId()}@example.com`;
      assert.equal(
        (
          await EmailPassword.updateEmailOrPassword({
            recipeUserId: supertokens.convertToRecipeUserId(moved.id),
            email: elsewhere,
          })
        ).status,
        "OK",
      );
      assert.equal((await EmailPassword.updateEmailOrPassword({ recipeUserId, email: moved.email })).status, "OK");
      // And the moved user can take their legacy address back once it is free again.
      assert.equal((await EmailPassword.updateEmailOrPassword({ recipeUserId, email: fresh })).status, "OK");
      assert.equal(
        (
          await EmailPassword.updateEmailOrPassword({
            recipeUserId: supertokens.convertToRecipeUserId(moved.id),
            email: moved.email,
          })
        ).status,
        "OK",
      );
    },
  );

  it("refuses the reserved pending-address domain, as sign-up does", async () => {
    const { app } = startApp();
    const them = await attacker(app);
    const changed = await EmailPassword.updateEmailOrPassword({
      recipeUserId: supertokens.convertToRecipeUserId(them.id),
      email: `x-${uniqueId()}@${PENDING_EMAIL_DOMAIN}`,
    });
    assert.deepEqual(changed, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
    assert.deepEqual((await supertokens.getUser(them.id))?.emails, [them.email]);
  });

  it("the user management dashboard's edit-user API answers EMAIL_ALREADY_EXISTS_ERROR", async () => {
    const { app, sent } = startApp({ dashboard: true });
    const user = await legacyUser();
    const them = await attacker(app);
    const body = {
      recipeId: "emailpassword",
      recipeUserId: them.id,
      email: user.email,
      firstName: "",
      lastName: "",
      phone: "",
    };
    const res = await request(app)
      .put("/auth/dashboard/api/user")
      .set("Authorization", `Bearer ${DASHBOARD_KEY}`)
      .send(body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
    await assertLegacyUserIntact(app, sent, user, them);
  });

  it(
    "with EmailVerification REQUIRED: the documented verify-then-change flow cannot apply the " + "legacy email",
    async () => {
      const { app, sent } = startApp({ emailVerification: true });
      const user = await legacyUser();
      const them = await attacker(app);
      const asked = await request(app)
        .post("/change-email")
        .set("Authorization", `Bearer ${them.accessToken}`)
        .send({ email: user.email });
      assert.deepEqual(asked.body, { status: "VERIFICATION_EMAIL_SENT" });
      const link = sent.find((e) => e.type === "EMAIL_VERIFICATION" && e.user.email === user.email)?.emailVerifyLink;
      assert.ok(link, "the docs' flow mails the new address");
      // Even when the link is followed (the legacy user clicks it, or the mailbox is shared), the change is refused.
      const token = new URL(link).searchParams.get("token")!;
      const verified = await request(app).post("/auth/user/email/verify").send({ method: "token", token });
      assert.deepEqual(verified.body, { status: "GENERAL_ERROR", message: "EMAIL_ALREADY_EXISTS_ERROR" });
      // Now (attacker id, legacy email) counts as verified: the API's direct path must refuse as well.
      assert.equal(
        await EmailVerification.isEmailVerified(supertokens.convertToRecipeUserId(them.id), user.email),
        true,
      );
      const direct = await request(app)
        .post("/change-email")
        .set("Authorization", `Bearer ${them.accessToken}`)
        .send({ email: user.email });
      assert.deepEqual(direct.body, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
      await assertLegacyUserIntact(app, sent, user, them);
    },
  );

  it("with account linking enabled: updateEmailOrPassword still answers EMAIL_ALREADY_EXISTS_ERROR", async () => {
    const { app, sent } = startApp({ accountLinking: true, emailVerification: true });
    const user = await legacyUser();
    // Created in the core directly: the dev core does not implement account linking's own endpoints.
    const email = `attacker-${uniqueId()}@example.com`;
    const created = await fetch(`${uri}/public/recipe/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password: ATTACKER_PASSWORD }),
    });
    const them = { id: ((await created.json()) as { user: { id: string } }).user.id, email };
    const changed = await EmailPassword.updateEmailOrPassword({
      recipeUserId: supertokens.convertToRecipeUserId(them.id),
      email: user.email,
    });
    assert.deepEqual(changed, { status: "EMAIL_ALREADY_EXISTS_ERROR" });
    assert.deepEqual((await supertokens.getUser(them.id))?.emails, [them.email]);
    const reset = await request(app)
      .post("/auth/user/password/reset/token")
      .send(form({ email: user.email }));
    assert.deepEqual(reset.body, { status: "OK" });
    assert.equal(sent.filter((e) => e.type === "PASSWORD_RESET")[0]?.user.id, user.id);
  });

  describe("while the legacy store cannot be reached", () => {
    it("fails closed: the recipe function throws UnavailableError, the API answers 503 with Retry-After", async () => {
      let down = false;
      const { app } = startApp({ down: () => down });
      const user = await legacyUser();
      const them = await attacker(app);
      down = true;
      await assert.rejects(
        EmailPassword.updateEmailOrPassword({
          recipeUserId: supertokens.convertToRecipeUserId(them.id),
          email: user.email,
        }),
        (err: { code?: string; status?: number; name?: string }) =>
          err.code === "ERR_MIGRATE_STORE_UNAVAILABLE" && err.status === 503 && err.name === "UnavailableError",
      );
      const res = await request(app)
        .post("/change-email")
        .set("Authorization", `Bearer ${them.accessToken}`)
        .send({ email: user.email });
      assert.equal(res.status, 503);
      assert.equal(res.headers["retry-after"], "1");
      assert.deepEqual(res.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
      // A password-only update never needs the legacy store.
      assert.equal(
        (
          await EmailPassword.updateEmailOrPassword({
            recipeUserId: supertokens.convertToRecipeUserId(them.id),
            password: "new password 123",
          })
        ).status,
        "OK",
      );
      down = false;
      assert.deepEqual((await supertokens.getUser(them.id))?.emails, [them.email]);
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });
  });
});
