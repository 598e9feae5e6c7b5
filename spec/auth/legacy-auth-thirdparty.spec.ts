/**
 * legacyAuth().thirdParty: a legacy user's first social sign-in through SuperTokens' ThirdParty recipe lands on their
 * legacy id (by provider identity, or by an email the provider verified), a legacy user with a password and a provider
 * login stays one user, and no provider sign-up or email update takes a legacy-only user's email (issue 11, item 1).
 * The real SDK over HTTP against the dev core; legacy users (with a provider column) and the app's notes in PostgreSQL.
 * The provider is a custom one whose token exchange and user info are overridden to answer fixed profiles (the
 * SDK's own extension point), so each test says exactly what "the provider" claims.
 */
import { after, before, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import bcrypt from "bcrypt";
import type { Express } from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session from "supertokens-node/recipe/session";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import UserRoles from "supertokens-node/recipe/userroles";
import type { ProviderInput } from "supertokens-node/recipe/thirdparty/types";
import { legacyAuth, PENDING_EMAIL_DOMAIN, type LegacyUser } from "../../lib/auth/index.js";
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
/** Whether the dev core answers the account-linking API (it answers 501 for parts not written yet). */
let coreLinks = false;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  // The SDK reaches the core through this proxy, so the core can "go down" while its in-memory data lives on.
  proxy = await startTcpProxy({ host: "127.0.0.1", port: core.port });
  legacy = await createLegacyTable();
  // As a passport-google-oauth20 app keeps it: the provider's user id beside the row, and whether the app had
  // verified the email.
  await legacy.pool.query(
    `ALTER TABLE ${legacy.table} ADD COLUMN acme_sub text UNIQUE, ` +
      "ADD COLUMN email_verified boolean NOT NULL DEFAULT false, ADD COLUMN roles text",
  );
  const probe = await fetch(`${core.url}/recipe/accountlinking/user/primary`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ recipeUserId: "no-such-user" }),
  });
  coreLinks = probe.status !== 501 && probe.status !== 404;
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

/** What the provider says about whoever signs in with one authorisation code. */
interface Profile {
  sub: string;
  email?: string;
  verified: boolean;
}
const profiles = new Map<string, Profile>();

/** A custom OAuth provider; its token exchange and user info answer the profile filed under the code. */
const acme: ProviderInput = {
  config: {
    thirdPartyId: "acme",
    name: "Acme",
    clients: [{ clientId: "acme-client", clientSecret: "acme-secret" }],
    authorizationEndpoint: "https://idp.acme.invalid/authorize",
    tokenEndpoint: "https://idp.acme.invalid/token",
  },
  override: (original) =>
    original.type !== "oauth2"
      ? original
      : {
          ...original,
          exchangeAuthCodeForOAuthTokens: async ({ redirectURIInfo }) => ({
            access_token: String(redirectURIInfo.redirectURIQueryParams.code),
          }),
          getUserInfo: async ({ oAuthTokens }: { oAuthTokens: { access_token?: unknown } }) => {
            const profile = profiles.get(String(oAuthTokens.access_token));
            if (!profile) throw new Error("unknown code");
            return {
              thirdPartyUserId: profile.sub,
              email: profile.email === undefined ? undefined : { id: profile.email, isVerified: profile.verified },
              rawUserInfoFromProvider: { fromIdTokenPayload: {}, fromUserInfoAPI: {} },
            };
          },
        },
};

interface Options {
  /** Automatic account linking, verification required, as SuperTokens' docs recommend. */
  accountLinking?: boolean;
  /** ThirdParty.init without legacyAuth's override: the misconfiguration. */
  unguarded?: boolean;
  /** The legacy store fails while this answers true. */
  down?: () => boolean;
}

function startApp(options: Options = {}) {
  resetSdk();
  const query = (text: string, values?: unknown[]) =>
    options.down?.()
      ? Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }))
      : legacy.pool.query(text, values);
  // The app's own lookups, as legacyAuth's docs show them: the row says whether the app had verified the email.
  const select = `SELECT id::text AS id, email, password_hash AS "passwordHash",
                         email_verified AS "emailVerified", roles
                    FROM ${legacy.table}`;
  const rows = async (where: string, value: string) =>
    (await query(`${select} WHERE ${where}`, [value])).rows as LegacyUser[];
  const auth = legacyAuth({
    findUserByEmail: (email) => rows("lower(btrim(email)) = $1", email),
    findUserById: async (id) => (/^\d{1,9}$/.test(id) ? (await rows("id = $1::int", id))[0] : undefined),
    findUserByThirdParty: async (thirdPartyId, thirdPartyUserId) =>
      thirdPartyId === "acme" ? (await rows("acme_sub = $1", thirdPartyUserId))[0] : undefined,
  });
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: auth }),
      ThirdParty.init({
        signInAndUpFeature: { providers: [acme] },
        ...(options.unguarded ? {} : { override: auth.thirdParty }),
      }),
      EmailVerification.init({ mode: "OPTIONAL" }),
      UserRoles.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
      ...accountLinkingRecipe(options.accountLinking),
    ],
  });
  const app = notesApp(legacy.pool, notesTable);
  return app;
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

/** POST /auth/signinup as the frontend does after the provider's redirect; the provider answers `profile`. */
async function providerSignIn(app: Express, profile: Profile): Promise<Answer> {
  const code = randomUUID();
  profiles.set(code, profile);
  const res = await request(app)
    .post("/auth/signinup")
    .send({
      thirdPartyId: "acme",
      redirectURIInfo: {
        redirectURIOnProviderDashboard: "http://localhost:3000/auth/callback/acme",
        redirectURIQueryParams: { code },
      },
    });
  return withSession(res, app);
}

async function passwordSignIn(app: Express, email: string, password = PASSWORD): Promise<Answer> {
  return withSession(await request(app).post("/auth/signin").send(form({ email, password })), app);
}

/** A legacy row; `acmeSub` is its provider login, `password: false` a provider-only account. */
async function legacyUser(
  options: { acmeSub?: string; password?: boolean; emailVerified?: boolean; roles?: string } = {},
) {
  const email = `user-${uniqueId()}@example.com`;
  const passwordHash = options.password === false ? null : await bcrypt.hash(PASSWORD, 4);
  const id = await legacy.insert({ email, passwordHash });
  await legacy.pool.query(`UPDATE ${legacy.table} SET acme_sub = $2, email_verified = $3, roles = $4 WHERE id = $1`, [
    id,
    options.acmeSub ?? null,
    options.emailVerified ?? false,
    options.roles ?? null,
  ]);
  return { id, email };
}

const usersWithEmail = (email: string) => supertokens.listUsersByAccountInfo("public", { email });
const identityUsers = (sub: string) =>
  supertokens.listUsersByAccountInfo("public", { thirdParty: { id: "acme", userId: sub } });

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

describe("legacyAuth with ThirdParty", () => {
  describe("a legacy user's first sign-in with a provider", () => {
    it("lands on the legacy id by provider identity (even with an unverified email), notes included", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false });
      await legacy.pool.query(`INSERT INTO ${notesTable} (user_id, body) VALUES ($1, 'my first note')`, [user.id]);

      const first = await providerSignIn(app, { sub, email: user.email, verified: false });
      assert.equal(first.body.status, "OK", JSON.stringify(first.body));
      assert.equal(first.userId, user.id);
      assert.equal(first.body.user.id, user.id);
      const notes = await request(app).get("/notes").set("Authorization", `Bearer ${first.token}`);
      assert.deepEqual(notes.body, ["my first note"]);

      // From then on SuperTokens has them: the same id again, no new recipe user, one user with the email.
      const again = await providerSignIn(app, { sub, email: user.email, verified: false });
      assert.equal(again.userId, user.id);
      assert.equal(again.body.createdNewRecipeUser, false);
      const stored = await supertokens.getUser(user.id);
      assert.deepEqual(
        stored?.loginMethods.map((lm) => [lm.recipeId, lm.email, lm.thirdParty?.userId]),
        [["thirdparty", user.email, sub]],
      );
      assert.equal((await usersWithEmail(user.email)).length, 1);
      await assertNoPlaceholders();
    });

    it("lands on the legacy id by an email the provider says is verified, and the email is verified", async () => {
      const app = startApp();
      const user = await legacyUser();
      const signedIn = await providerSignIn(app, { sub: `sub-${uniqueId()}`, email: user.email, verified: true });
      assert.equal(signedIn.body.status, "OK", JSON.stringify(signedIn.body));
      assert.equal(signedIn.userId, user.id);
      assert.equal(
        await EmailVerification.isEmailVerified(supertokens.convertToRecipeUserId(user.id), user.email),
        true,
      );
    });

    it("gives a legacy admin their roles before the first session: the first access token carries them", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false, roles: "admin, editor" });
      const first = await providerSignIn(app, { sub, email: user.email, verified: true });
      assert.equal(first.userId, user.id);
      const payload = JSON.parse(Buffer.from(first.token!.split(".")[1], "base64url").toString());
      assert.deepEqual(payload["st-role"].v.sort(), ["admin", "editor"]);
      assert.deepEqual((await UserRoles.getRolesForUser("public", user.id)).roles.sort(), ["admin", "editor"]);
    });

    it("carries the legacy app's verified email over when the provider does not say so", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false, emailVerified: true });
      const signedIn = await providerSignIn(app, { sub, email: user.email, verified: false });
      assert.equal(signedIn.userId, user.id);
      assert.equal(
        await EmailVerification.isEmailVerified(supertokens.convertToRecipeUserId(user.id), user.email),
        true,
      );
    });
  });

  describe("when two first sign-ins of one legacy user race", () => {
    it("both land on the legacy id: one user, one login method, no placeholder left", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false });
      const answers = await Promise.all(
        [1, 2, 3].map(() => providerSignIn(app, { sub, email: user.email, verified: true })),
      );
      assert.deepEqual(
        answers.map((a) => a.userId),
        [user.id, user.id, user.id],
        JSON.stringify(answers.map((a) => a.body)),
      );
      assert.deepEqual(
        (await identityUsers(sub)).map((u) => [u.id, u.loginMethods.length]),
        [[user.id, 1]],
      );
      await assertNoPlaceholders();
    });
  });

  describe("when the provider does not verify the email (an attacker's own provider account)", () => {
    it("a legacy-only user's email is refused with a reason, and nothing is created or linked", async () => {
      const app = startApp();
      const user = await legacyUser();
      const attacker = `attacker-${uniqueId()}`;
      const answer = await providerSignIn(app, { sub: attacker, email: user.email.toUpperCase(), verified: false });
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, { status: "SIGN_IN_UP_NOT_ALLOWED", reason: REASONS.unverifiedLegacyEmail });
      assert.deepEqual(await usersWithEmail(user.email), []);
      assert.deepEqual(await identityUsers(attacker), []);
      // The legacy user is untouched: their password still moves them, onto their own id.
      assert.equal((await passwordSignIn(app, user.email)).userId, user.id);
    });

    it("ThirdParty.manuallyCreateOrUpdateUser answers the same for a new identity", async () => {
      startApp();
      const user = await legacyUser();
      const answer = await ThirdParty.manuallyCreateOrUpdateUser(
        "public",
        "acme",
        `x-${uniqueId()}`,
        user.email,
        false,
      );
      assert.equal(answer.status, "SIGN_IN_UP_NOT_ALLOWED");
      assert.deepEqual(await usersWithEmail(user.email), []);
    });
  });

  describe("an email update of a SuperTokens provider user onto a legacy-only email", () => {
    it("is refused (EMAIL_CHANGE_NOT_ALLOWED_ERROR; the API says why) and the user keeps their email", async () => {
      const app = startApp();
      const user = await legacyUser();
      const sub = `own-${uniqueId()}`;
      const own = `own-${uniqueId()}@example.com`;
      const created = await providerSignIn(app, { sub, email: own, verified: true });
      assert.equal(created.body.status, "OK");

      const direct = await ThirdParty.manuallyCreateOrUpdateUser("public", "acme", sub, user.email, true);
      assert.equal(direct.status, "EMAIL_CHANGE_NOT_ALLOWED_ERROR");
      const viaApi = await providerSignIn(app, { sub, email: user.email, verified: false });
      assert.deepEqual(viaApi.body, { status: "SIGN_IN_UP_NOT_ALLOWED", reason: REASONS.unverifiedLegacyEmail });
      assert.deepEqual((await identityUsers(sub))[0]?.emails, [own]);
      assert.equal((await passwordSignIn(app, user.email)).userId, user.id);
    });
  });

  describe("a legacy user with a password and a provider login", () => {
    it("without account linking, password first: the provider sign-in is refused, saying how to sign in", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub });
      assert.equal((await passwordSignIn(app, user.email)).userId, user.id);
      const answer = await providerSignIn(app, { sub, email: user.email, verified: true });
      assert.deepEqual(answer.body, {
        status: "SIGN_IN_UP_NOT_ALLOWED",
        reason: REASONS.otherMethod("your email and password"),
      });
      assert.deepEqual(await identityUsers(sub), []);
      assert.deepEqual(
        (await usersWithEmail(user.email)).map((u) => u.id),
        [user.id],
      );
      assert.equal((await passwordSignIn(app, user.email)).userId, user.id);
      await assertNoPlaceholders();
    });

    it("without account linking, provider first: the password sign-in is refused, saying how to sign in", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub });
      assert.equal((await providerSignIn(app, { sub, email: user.email, verified: true })).userId, user.id);
      const answer = await passwordSignIn(app, user.email);
      assert.deepEqual(answer.body, { status: "SIGN_IN_NOT_ALLOWED", reason: REASONS.otherMethod("Acme") });
      // Nobody else can take the address with a password of their own while the legacy password is still theirs.
      assert.equal(
        (await EmailPassword.signUp("public", user.email, "attacker password 1")).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      const wrong = await passwordSignIn(app, user.email, "not the password 1");
      assert.equal(
        wrong.body.status,
        "WRONG_CREDENTIALS_ERROR",
        "the refusal is only said to whoever knows the password",
      );
      assert.deepEqual(
        (await usersWithEmail(user.email)).map((u) => u.id),
        [user.id],
      );
      assert.equal((await providerSignIn(app, { sub, email: user.email, verified: true })).userId, user.id);
    });

    for (const order of ["password first", "provider first"] as const) {
      it(`with account linking, ${order}: one primary user, the legacy id, with both login methods`, async (t) => {
        if (!coreLinks) return t.skip("the dev core does not answer the account-linking API yet");
        const app = startApp({ accountLinking: true });
        const sub = `sub-${uniqueId()}`;
        // The legacy app had verified the email: SuperTokens' linking (verification required) needs it.
        const user = await legacyUser({ acmeSub: sub, emailVerified: true });
        const viaPassword = () => passwordSignIn(app, user.email);
        const viaProvider = () => providerSignIn(app, { sub, email: user.email, verified: true });
        for (const step of order === "password first" ? [viaPassword, viaProvider] : [viaProvider, viaPassword]) {
          const answer = await step();
          assert.equal(answer.body.status, "OK", JSON.stringify(answer.body));
          assert.equal(answer.userId, user.id);
        }
        const users = await usersWithEmail(user.email);
        assert.deepEqual(
          users.map((u) => u.id),
          [user.id],
        );
        assert.equal(users[0].isPrimaryUser, true);
        assert.deepEqual(users[0].loginMethods.map((lm) => lm.recipeId).sort(), ["emailpassword", "thirdparty"]);
        // Both ways in keep working, on the same id.
        assert.equal((await viaPassword()).userId, user.id);
        assert.equal((await viaProvider()).userId, user.id);
        await assertNoPlaceholders();
      });
    }

    it("with account linking and an unverified email: SuperTokens' own rule refuses the second method", async (t) => {
      if (!coreLinks) return t.skip("the dev core does not answer the account-linking API yet");
      const app = startApp({ accountLinking: true });
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub });
      assert.equal((await passwordSignIn(app, user.email)).userId, user.id);
      const answer = await providerSignIn(app, { sub, email: user.email, verified: true });
      assert.equal(answer.body.status, "SIGN_IN_UP_NOT_ALLOWED");
      assert.deepEqual(await identityUsers(sub), []);
      assert.deepEqual(
        (await usersWithEmail(user.email)).map((u) => u.id),
        [user.id],
      );
    });
  });

  describe("when ThirdParty is initialised without legacyAuth's override", () => {
    it("says so loudly, naming the fix, and legacyAuth refuses its work (ERR_MIGRATE_RECIPE_NOT_GUARDED)", async () => {
      const lines: string[] = [];
      const spy = mock.method(console, "error", (line: string) => void lines.push(String(line)));
      try {
        const app = startApp({ unguarded: true });
        const user = await legacyUser();
        const res = await request(app)
          .post("/auth/signin")
          .send(form({ email: user.email, password: PASSWORD }));
        assert.equal(res.status, 500);
        assert.deepEqual(res.body, { code: "ERR_MIGRATE_RECIPE_NOT_GUARDED" });
        assert.ok(
          lines.some((l) => l.includes("ThirdParty.init({ ..., override: legacy.thirdParty })")),
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
      ({ core: pgCore, close: closePgCore } = await openPostgresCore("stm_legacy_tp", {}));
    });
    after(() => closePgCore());

    it("a legacy user's first provider sign-in lands on their id; an unverified takeover is refused", async () => {
      uri = await createCoreApp(pgCore.url);
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false });
      assert.equal((await providerSignIn(app, { sub, email: user.email, verified: false })).userId, user.id);
      assert.equal((await providerSignIn(app, { sub, email: user.email, verified: false })).userId, user.id);
      const victim = await legacyUser();
      const attack = await providerSignIn(app, { sub: `x-${uniqueId()}`, email: victim.email, verified: false });
      assert.deepEqual(attack.body, { status: "SIGN_IN_UP_NOT_ALLOWED", reason: REASONS.unverifiedLegacyEmail });
      assert.deepEqual(await usersWithEmail(victim.email), []);
      await assertNoPlaceholders();
    });
  });

  describe("when the core fails in the middle of a first provider sign-in", () => {
    const MAP = /^POST \/appid-[^/]+\/recipe\/userid\/map$/;
    for (const [step, mode] of [
      ["after the mapping", "lose-response"],
      ["before the mapping", "drop"],
    ] as const) {
      it(`${step}: 503, then the next sign-in finishes on the legacy id, one user, no placeholder`, async () => {
        const app = startApp();
        const sub = `sub-${uniqueId()}`;
        const user = await legacyUser({ acmeSub: sub, password: false });
        proxy.failNext(MAP, mode, { thenCut: true });
        const failed = await providerSignIn(app, { sub, email: user.email, verified: true });
        assert.equal(failed.status, 503, JSON.stringify(failed.body));
        proxy.restore();
        const left = await supertokens.getUsersNewestFirst({
          tenantId: "public",
          query: { email: PENDING_EMAIL_DOMAIN },
        });
        assert.equal(left.users.length, 1, "the fault left a placeholder (so the check below is not vacuous)");
        // Whatever was left holds a reserved address: the legacy user's email is still not claimable.
        assert.equal(
          (await providerSignIn(app, { sub: `x-${uniqueId()}`, email: user.email, verified: false })).body.status,
          "SIGN_IN_UP_NOT_ALLOWED",
        );
        const next = await providerSignIn(app, { sub, email: user.email, verified: true });
        assert.equal(next.body.status, "OK", JSON.stringify(next.body));
        assert.equal(next.userId, user.id);
        assert.deepEqual(
          (await identityUsers(sub)).map((u) => [u.id, u.emails]),
          [[user.id, [user.email]]],
        );
        await assertNoPlaceholders();
      });
    }
  });

  describe("options", () => {
    const required = { findUserByEmail: async () => undefined, findUserById: async () => undefined };
    it("refuses a findUserByThirdParty that is not a function, and a misspelt override key, naming the fix", () => {
      assert.throws(() => legacyAuth({ ...required, findUserByThirdParty: "google_id" as never }), {
        code: "ERR_MIGRATE_INVALID_OPTION",
        message: /findUserByThirdParty/,
      });
      assert.throws(() => legacyAuth({ ...required, thirdPartyOverride: { function: () => ({}) } as never }), {
        code: "ERR_MIGRATE_UNKNOWN_OPTION",
        message: /functions/,
      });
    });

    it("returns the ThirdParty and Passwordless overrides beside EmailPassword's", () => {
      const auth = legacyAuth(required);
      assert.equal(typeof auth.thirdParty.functions, "function");
      assert.equal(typeof auth.thirdParty.apis, "function");
      assert.equal(typeof auth.passwordless.functions, "function");
      assert.equal(typeof auth.passwordless.apis, "function");
    });
  });

  describe("outages", () => {
    it("a core that cannot be reached answers 503 with Retry-After, and sign-in works once it is back", async () => {
      const app = startApp();
      const sub = `sub-${uniqueId()}`;
      const user = await legacyUser({ acmeSub: sub, password: false });
      proxy.cut();
      const down = await providerSignIn(app, { sub, email: user.email, verified: true });
      assert.equal(down.status, 503, JSON.stringify(down.body));
      assert.equal(down.headers["retry-after"], "1");
      assert.deepEqual(down.body, { code: "ERR_MIGRATE_CORE_UNAVAILABLE" });
      proxy.restore();
      assert.equal((await providerSignIn(app, { sub, email: user.email, verified: true })).userId, user.id);
    });

    it("a legacy store that cannot be reached answers 503 and creates nobody (fails closed)", async () => {
      let storeDown = false;
      const app = startApp({ down: () => storeDown });
      const user = await legacyUser();
      storeDown = true;
      const answer = await providerSignIn(app, { sub: `x-${uniqueId()}`, email: user.email, verified: false });
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(answer.headers["retry-after"], "1");
      assert.deepEqual(answer.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
      assert.deepEqual(await usersWithEmail(user.email), []);
    });
  });
});
