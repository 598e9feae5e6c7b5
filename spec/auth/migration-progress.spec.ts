/**
 * legacyAuth().migrationProgress() by login method: the moved users counted by the ways they sign in to
 * SuperTokens now (password, each third-party provider, Passwordless), a linked user under each of its methods, and
 * nobody who signed up natively. The real SDK over HTTP against the dev core; legacy users in PostgreSQL; every
 * sign-in goes through the SDK's own APIs (the provider's token exchange and user info are overridden to answer
 * fixed profiles, the codes are taken from the SDK's email delivery).
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import bcrypt from "bcrypt";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Passwordless from "supertokens-node/recipe/passwordless";
import Session from "supertokens-node/recipe/session";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import type { ProviderInput } from "supertokens-node/recipe/thirdparty/types";
import { createPgLegacyUsers, legacyAuth, type LegacyAuth } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createLegacyTable, form, type LegacyTable } from "../helpers/legacy-auth.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";

const PASSWORD = "correct horse battery staple";

let core: DevCore;
let legacy: LegacyTable;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  legacy = await createLegacyTable();
  await legacy.pool.query(`ALTER TABLE ${legacy.table} ADD COLUMN acme_sub text UNIQUE`);
});
after(async () => {
  await legacy.drop();
  await core.close();
});
beforeEach(() => legacy.clear());

/** What a provider says about whoever signs in with one authorisation code. */
const profiles = new Map<string, { sub: string; email: string }>();

/** A custom OAuth provider whose token exchange and user info answer the profile filed under the code. */
function provider(thirdPartyId: string): ProviderInput {
  return {
    config: {
      thirdPartyId,
      clients: [{ clientId: `${thirdPartyId}-client`, clientSecret: "secret" }],
      authorizationEndpoint: `https://${thirdPartyId}.invalid/authorize`,
      tokenEndpoint: `https://${thirdPartyId}.invalid/token`,
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
                email: { id: profile.email, isVerified: true },
                rawUserInfoFromProvider: { fromIdTokenPayload: {}, fromUserInfoAPI: {} },
              };
            },
          },
  };
}

interface Ctx {
  app: express.Express;
  auth: LegacyAuth;
  sent: Array<{ email: string; urlWithLinkCode?: string; preAuthSessionId: string }>;
}

/** The three login recipes with legacyAuth's overrides, automatic account linking (verified emails only). */
async function startApp(): Promise<Ctx> {
  resetSdk();
  const uri = await createCoreApp(core.url);
  const store = createPgLegacyUsers({ pool: legacy.pool, table: legacy.table });
  const auth = legacyAuth({
    ...store,
    findUserByThirdParty: async (thirdPartyId, sub) => {
      if (thirdPartyId !== "acme") return undefined;
      const { rows } = await legacy.pool.query<{ id: string }>(
        `SELECT id::text AS id FROM ${legacy.table} WHERE acme_sub = $1`,
        [sub],
      );
      return rows[0] ? await store.findUserById(rows[0].id) : undefined;
    },
  });
  const sent: Ctx["sent"] = [];
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: auth }),
      ThirdParty.init({
        signInAndUpFeature: { providers: [provider("acme"), provider("globex")] },
        override: auth.thirdParty,
      }),
      Passwordless.init({
        contactMethod: "EMAIL",
        flowType: "MAGIC_LINK",
        emailDelivery: { override: (original) => ({ ...original, sendEmail: async (input) => void sent.push(input) }) },
        override: auth.passwordless,
      }),
      EmailVerification.init({ mode: "OPTIONAL" }),
      Session.init({ getTokenTransferMethod: () => "header" }),
      AccountLinking.init({
        shouldDoAutomaticAccountLinking: async () => ({
          shouldAutomaticallyLink: true,
          shouldRequireVerification: true,
        }),
      }),
    ],
  });
  const app = express();
  app.use(middleware());
  app.use(errorHandler());
  return { app, auth, sent };
}

/** Each sign-in answers the user id it signed in, after asserting it succeeded. */
async function passwordSignIn(ctx: Ctx, email: string): Promise<string> {
  const res = await request(ctx.app)
    .post("/auth/signin")
    .send(form({ email, password: PASSWORD }));
  assert.equal(res.body.status, "OK", JSON.stringify(res.body));
  return res.body.user.id;
}

async function providerSignIn(ctx: Ctx, thirdPartyId: string, profile: { sub: string; email: string }) {
  const code = randomUUID();
  profiles.set(code, profile);
  const res = await request(ctx.app)
    .post("/auth/signinup")
    .send({
      thirdPartyId,
      redirectURIInfo: {
        redirectURIOnProviderDashboard: `http://localhost:3000/auth/callback/${thirdPartyId}`,
        redirectURIQueryParams: { code },
      },
    });
  assert.equal(res.body.status, "OK", JSON.stringify(res.body));
  return res.body.user.id as string;
}

async function magicLinkSignIn(ctx: Ctx, email: string): Promise<string> {
  const asked = await request(ctx.app).post("/auth/signinup/code").send({ email });
  assert.equal(asked.body.status, "OK", JSON.stringify(asked.body));
  const mail = ctx.sent.find((m) => m.preAuthSessionId === asked.body.preAuthSessionId);
  assert.ok(mail?.urlWithLinkCode, "the magic link was sent");
  const res = await request(ctx.app)
    .post("/auth/signinup/code/consume")
    .send({ preAuthSessionId: asked.body.preAuthSessionId, linkCode: new URL(mail.urlWithLinkCode).hash.slice(1) });
  assert.equal(res.body.status, "OK", JSON.stringify(res.body));
  return res.body.user.id;
}

async function legacyUser(options: { password?: boolean; acmeSub?: string } = {}) {
  const email = `user-${uniqueId()}@example.com`;
  const id = await legacy.insert({
    email,
    passwordHash: options.password === false ? null : await bcrypt.hash(PASSWORD, 4),
  });
  if (options.acmeSub)
    await legacy.pool.query(`UPDATE ${legacy.table} SET acme_sub = $2 WHERE id = $1`, [id, options.acmeSub]);
  return { id, email, acmeSub: options.acmeSub };
}

describe("legacyAuth().migrationProgress() by login method", () => {
  it("counts each moved user under each of its login methods and provider, and no native user", async () => {
    const ctx = await startApp();
    const none = { emailpassword: 0, thirdparty: 0, passwordless: 0 };
    const byPassword = await legacyUser();
    const byAcme = await legacyUser({ password: false, acmeSub: `sub-${uniqueId()}` });
    const byMagicLink = await legacyUser({ password: false });
    const linked = await legacyUser({ acmeSub: `sub-${uniqueId()}` });
    await legacyUser();
    assert.deepEqual(await ctx.auth.migrationProgress(), {
      moved: 0,
      legacyOnly: 5,
      total: 5,
      byLoginMethod: none,
      byThirdPartyProvider: {},
    });

    assert.equal(await passwordSignIn(ctx, byPassword.email), byPassword.id);
    assert.equal(await providerSignIn(ctx, "acme", { sub: byAcme.acmeSub!, email: byAcme.email }), byAcme.id);
    assert.equal(await magicLinkSignIn(ctx, byMagicLink.email), byMagicLink.id);
    // A password and then Acme, linked into one user on the legacy id (its email verified, as linking asks).
    assert.equal(await passwordSignIn(ctx, linked.email), linked.id);
    const token = await EmailVerification.createEmailVerificationToken(
      "public",
      supertokens.convertToRecipeUserId(linked.id),
    );
    assert.equal(token.status, "OK");
    await EmailVerification.verifyEmailUsingToken("public", token.status === "OK" ? token.token : "");
    assert.equal(await providerSignIn(ctx, "acme", { sub: linked.acmeSub!, email: linked.email }), linked.id);
    const user = await supertokens.getUser(linked.id);
    assert.deepEqual(user?.loginMethods.map((lm) => lm.recipeId).sort(), ["emailpassword", "thirdparty"]);
    // Native users of each method: in SuperTokens, but nobody moved.
    await EmailPassword.signUp("public", `native-${uniqueId()}@example.com`, PASSWORD);
    await providerSignIn(ctx, "globex", { sub: `g-${uniqueId()}`, email: `native-${uniqueId()}@example.com` });
    await magicLinkSignIn(ctx, `native-${uniqueId()}@example.com`);

    assert.deepEqual(await ctx.auth.migrationProgress(), {
      moved: 4,
      legacyOnly: 1,
      total: 5,
      byLoginMethod: { emailpassword: 2, thirdparty: 2, passwordless: 1 },
      byThirdPartyProvider: { acme: 2 },
    });
    assert.equal(await ctx.auth.getUserCount(), 4 + 3 + 1, "4 moved, 3 native, 1 legacy-only");
  });
});
