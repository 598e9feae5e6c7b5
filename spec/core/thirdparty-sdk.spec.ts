/**
 * The real supertokens-node ThirdParty recipe (recipe functions and its Express sign-in API) and Multitenancy's
 * provider configs against the dev core, in memory and on PostgreSQL. The provider is the SDK's own extension
 * point: a custom provider whose token exchange and user info overrides answer fixed data, so /auth/signinup runs
 * the SDK's whole sign-in path against the core.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Multitenancy from "supertokens-node/recipe/multitenancy";
import Session from "supertokens-node/recipe/session";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import type { DevCore } from "../../lib/core/index.js";
import { coreBackends } from "../helpers/core-backends.js";
import { appInfo, createCoreApp, fixedDataProvider, resetSdk } from "../helpers/sdk.js";

/** What the fake provider's user info answers for the next sign-in. */
let providerUser = { id: "acme-1", email: "ada@example.com", verified: true };

const acme = fixedDataProvider("acme", () => providerUser);

function expressApp() {
  const app = express();
  app.use(middleware());
  app.use(errorHandler());
  return app;
}

async function tenant(uri: string, tenantId: string) {
  const r = await Multitenancy.createOrUpdateTenant(tenantId, { firstFactors: ["thirdparty", "emailpassword"] });
  assert.equal(r.status, "OK", uri);
}

const backends = coreBackends("stm_tp");

for (const backend of backends) {
  describe(`ThirdParty through the SDK, ${backend.name}`, () => {
    let core: DevCore;
    let close: () => Promise<void>;
    before(async () => {
      ({ core, close } = await backend.open());
    });
    after(() => close());

    async function setup() {
      const uri = await createCoreApp(core.url);
      resetSdk();
      supertokens.init({
        supertokens: { connectionURI: uri },
        appInfo,
        recipeList: [
          ThirdParty.init({ signInAndUpFeature: { providers: [acme] } }),
          EmailVerification.init({ mode: "OPTIONAL" }),
          Session.init({ getTokenTransferMethod: () => "header" }),
        ],
      });
      return uri;
    }

    async function createOk(tenantId: string, tpId: string, tpUserId: string, email: string, verified: boolean) {
      const r = await ThirdParty.manuallyCreateOrUpdateUser(tenantId, tpId, tpUserId, email, verified);
      assert.equal(r.status, "OK");
      if (r.status !== "OK") throw new Error("unreachable");
      return r;
    }

    it("manuallyCreateOrUpdateUser creates, signs in, takes the new email, marks it verified when told", async () => {
      await setup();
      const made = await createOk("public", "google", "g-1", "Ada@Example.com", false);
      assert.equal(made.createdNewRecipeUser, true);
      assert.equal(made.user.isPrimaryUser, false);
      assert.deepEqual(made.user.emails, ["ada@example.com"]);
      assert.deepEqual(made.user.thirdParty, [{ id: "google", userId: "g-1" }]);
      assert.deepEqual(made.user.phoneNumbers, []);
      assert.equal(made.recipeUserId.getAsString(), made.user.id);
      const [lm] = made.user.loginMethods;
      assert.equal(lm.recipeId, "thirdparty");
      assert.deepEqual(lm.thirdParty, { id: "google", userId: "g-1" });
      assert.equal(lm.verified, false);
      assert.deepEqual(lm.tenantIds, ["public"]);

      const again = await createOk("public", "google", "g-1", "ada@example.com", true);
      assert.equal(again.createdNewRecipeUser, false);
      assert.equal(again.user.id, made.user.id);
      assert.equal(again.user.loginMethods[0].verified, true);

      const moved = await createOk("public", "google", "g-1", "ada@new.example.com", false);
      assert.equal(moved.user.id, made.user.id);
      assert.deepEqual(moved.user.emails, ["ada@new.example.com"]);
      assert.equal(moved.user.loginMethods[0].verified, false);

      // Another provider, or the same provider id in another tenant, is another user.
      const other = await createOk("public", "github", "g-1", "ada@new.example.com", false);
      assert.notEqual(other.user.id, made.user.id);
    });

    it("finds third-party users by account info, by id, in listings and counts, and deletes them", async () => {
      await setup();
      const a = await createOk("public", "google", "g-a", "same@example.com", true);
      const b = await createOk("public", "github", "gh-b", "same@example.com", false);
      const byTp = await supertokens.listUsersByAccountInfo("public", { thirdParty: { id: "google", userId: "g-a" } });
      assert.deepEqual(
        byTp.map((u) => u.id),
        [a.user.id],
      );
      const byEmail = await supertokens.listUsersByAccountInfo("public", { email: "same@example.com" });
      assert.deepEqual(
        byEmail.map((u) => u.id),
        [a.user.id, b.user.id],
      );
      const both = await supertokens.listUsersByAccountInfo(
        "public",
        { email: "same@example.com", thirdParty: { id: "github", userId: "gh-b" } },
        false,
      );
      assert.deepEqual(
        both.map((u) => u.id),
        [b.user.id],
      );
      assert.equal((await supertokens.getUser(a.user.id))?.loginMethods[0].thirdParty?.id, "google");
      assert.equal(await supertokens.getUserCount(["thirdparty"]), 2);
      assert.equal(await supertokens.getUserCount(["emailpassword"]), 0);
      const listed = await supertokens.getUsersOldestFirst({ tenantId: "public", includeRecipeIds: ["thirdparty"] });
      assert.deepEqual(
        listed.users.map((u) => u.id),
        [a.user.id, b.user.id],
      );
      const searched = await supertokens.getUsersOldestFirst({ tenantId: "public", query: { provider: "git" } });
      assert.deepEqual(
        searched.users.map((u) => u.id),
        [b.user.id],
      );
      await supertokens.deleteUser(a.user.id);
      assert.equal(await supertokens.getUser(a.user.id), undefined);
      assert.equal(await supertokens.getUserCount(), 1);
      assert.equal(
        (await supertokens.listUsersByAccountInfo("public", { thirdParty: { id: "google", userId: "g-a" } })).length,
        0,
      );
    });

    it("keeps third-party identities per tenant, and refuses to associate a duplicate identity", async () => {
      const uri = await setup();
      await tenant(uri, "t1");
      const pub = await createOk("public", "google", "g-1", "t@example.com", false);
      const t1 = await createOk("t1", "google", "g-1", "t@example.com", false);
      assert.notEqual(t1.user.id, pub.user.id);
      assert.deepEqual(t1.user.tenantIds, ["t1"]);
      assert.deepEqual(await Multitenancy.associateUserToTenant("t1", pub.recipeUserId), {
        status: "THIRD_PARTY_USER_ALREADY_EXISTS_ERROR",
      });
      const lone = await createOk("public", "google", "g-2", "u@example.com", false);
      assert.deepEqual(await Multitenancy.associateUserToTenant("t1", lone.recipeUserId), {
        status: "OK",
        wasAlreadyAssociated: false,
      });
      assert.deepEqual((await supertokens.getUser(lone.user.id))?.tenantIds.sort(), ["public", "t1"]);
      assert.deepEqual(await Multitenancy.disassociateUserFromTenant("t1", lone.recipeUserId), {
        status: "OK",
        wasAssociated: true,
      });
      assert.deepEqual((await supertokens.getUser(lone.user.id))?.tenantIds, ["public"]);
    });

    it("stores a tenant's provider configs, which getProvider then uses, and removes them", async () => {
      const uri = await setup();
      await tenant(uri, "t1");
      const config = {
        thirdPartyId: "corp-sso",
        name: "Corporate SSO for t1",
        authorizationEndpoint: "http://127.0.0.1:9/authorize",
        tokenEndpoint: "http://127.0.0.1:9/token",
        userInfoEndpoint: "http://127.0.0.1:9/userinfo",
        clients: [{ clientId: "t1-client", clientSecret: "t1-secret", scope: ["openid", "email"] }],
        authorizationEndpointQueryParams: { prompt: null, hd: "example.com" },
      };
      assert.deepEqual(await Multitenancy.createOrUpdateThirdPartyConfig("t1", config), {
        status: "OK",
        createdNew: true,
      });
      const stored = await Multitenancy.getTenant("t1");
      assert.equal(stored?.thirdParty.providers.length, 1);
      assert.deepEqual(stored?.thirdParty.providers[0], config);
      assert.equal(
        (await Multitenancy.listAllTenants()).tenants.find((t) => t.tenantId === "t1")?.thirdParty.providers.length,
        1,
      );

      const provider = await ThirdParty.getProvider("t1", "corp-sso", undefined);
      assert.equal(provider?.config.clientId, "t1-client");
      assert.equal(provider?.config.name, "Corporate SSO for t1");
      // The public tenant has no core config: the static provider list answers there.
      assert.equal((await ThirdParty.getProvider("public", "acme", undefined))?.config.clientId, "acme-client");

      assert.deepEqual(
        await Multitenancy.createOrUpdateThirdPartyConfig("t1", { ...config, clients: [{ clientId: "t1-new" }] }),
        { status: "OK", createdNew: false },
      );
      assert.equal((await ThirdParty.getProvider("t1", "corp-sso", undefined))?.config.clientId, "t1-new");
      assert.deepEqual(await Multitenancy.deleteThirdPartyConfig("t1", "corp-sso"), {
        status: "OK",
        didConfigExist: true,
      });
      assert.deepEqual(await Multitenancy.deleteThirdPartyConfig("t1", "corp-sso"), {
        status: "OK",
        didConfigExist: false,
      });
      assert.equal((await Multitenancy.getTenant("t1"))?.thirdParty.providers.length, 0);
    });

    it("POST /auth/signinup signs up through the provider, then signs the same user in with a session", async () => {
      await setup();
      const app = expressApp();
      providerUser = { id: "acme-7", email: "grace@example.com", verified: true };
      const body = {
        thirdPartyId: "acme",
        redirectURIInfo: {
          redirectURIOnProviderDashboard: "http://localhost/cb",
          redirectURIQueryParams: { code: "c" },
        },
      };
      const up = await request(app).post("/auth/signinup").send(body);
      assert.equal(up.status, 200);
      assert.equal(up.body.status, "OK");
      assert.equal(up.body.createdNewRecipeUser, true);
      assert.deepEqual(up.body.user.thirdParty, [{ id: "acme", userId: "acme-7" }]);
      assert.equal(up.body.user.loginMethods[0].verified, true);
      assert.ok(up.headers["st-access-token"]);

      const inAgain = await request(app).post("/auth/signinup").send(body);
      assert.equal(inAgain.body.status, "OK");
      assert.equal(inAgain.body.createdNewRecipeUser, false);
      assert.equal(inAgain.body.user.id, up.body.user.id);

      const session = await Session.getSessionWithoutRequestResponse(inAgain.headers["st-access-token"]);
      assert.equal(session.getUserId(), up.body.user.id);
      assert.equal(await EmailVerification.isEmailVerified(session.getRecipeUserId()), true);
    });
  });
}
