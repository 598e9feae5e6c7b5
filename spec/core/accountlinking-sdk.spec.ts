/**
 * The real supertokens-node AccountLinking recipe against the dev core, in memory and on PostgreSQL: its recipe
 * functions with the core's conflict statuses, automatic linking through the ThirdParty Express API (a custom
 * provider whose token exchange and user info overrides answer fixed data), and what linking does to user
 * listings, sessions and deletion.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session from "supertokens-node/recipe/session";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import type { DevCore } from "../../lib/core/index.js";
import { coreBackends } from "../helpers/core-backends.js";
import { appInfo, createCoreApp, fixedDataProvider, resetSdk } from "../helpers/sdk.js";

/** What the fake provider's user info answers for the next sign-in. */
let providerUser = { id: "acme-1", email: "ada@example.com", verified: true };

const provider = (thirdPartyId: string) => fixedDataProvider(thirdPartyId, () => providerUser);

const backends = coreBackends("stm_al");

for (const backend of backends) {
  describe(`AccountLinking through the SDK, ${backend.name}`, () => {
    let core: DevCore;
    let close: () => Promise<void>;
    before(async () => {
      ({ core, close } = await backend.open());
    });
    after(() => close());

    /** A fresh app; automatic linking on (verified emails only) unless `automatic` is false. */
    async function setup(automatic = true) {
      const uri = await createCoreApp(core.url);
      resetSdk();
      supertokens.init({
        supertokens: { connectionURI: uri },
        appInfo,
        recipeList: [
          EmailPassword.init(),
          ThirdParty.init({ signInAndUpFeature: { providers: [provider("acme"), provider("globex")] } }),
          EmailVerification.init({ mode: "OPTIONAL" }),
          AccountLinking.init({
            shouldDoAutomaticAccountLinking: async () =>
              automatic
                ? { shouldAutomaticallyLink: true, shouldRequireVerification: true }
                : { shouldAutomaticallyLink: false },
          }),
          Session.init({ getTokenTransferMethod: () => "header" }),
        ],
      });
      return uri;
    }

    async function epUser(email: string) {
      const r = await EmailPassword.signUp("public", email, "password1");
      assert.equal(r.status, "OK");
      if (r.status !== "OK") throw new Error("unreachable");
      return r;
    }

    async function tpUser(thirdPartyId: string, userId: string, email: string) {
      const r = await ThirdParty.manuallyCreateOrUpdateUser("public", thirdPartyId, userId, email, true);
      assert.equal(r.status, "OK");
      if (r.status !== "OK") throw new Error("unreachable");
      return r;
    }

    it("creates a primary user, links another login method, answers each conflict, unlinks", async () => {
      await setup(false);
      const ep = await epUser("ada@example.com");
      const tp = await tpUser("acme", "a-1", "ada@example.com");
      assert.deepEqual(await AccountLinking.canCreatePrimaryUser(ep.recipeUserId), {
        status: "OK",
        wasAlreadyAPrimaryUser: false,
      });
      const primary = await AccountLinking.createPrimaryUser(ep.recipeUserId);
      assert.equal(primary.status, "OK");
      assert.equal(primary.status === "OK" && primary.user.isPrimaryUser, true);
      assert.deepEqual(await AccountLinking.canCreatePrimaryUser(ep.recipeUserId), {
        status: "OK",
        wasAlreadyAPrimaryUser: true,
      });
      assert.deepEqual(await AccountLinking.canCreatePrimaryUser(tp.recipeUserId), {
        status: "ACCOUNT_INFO_ALREADY_ASSOCIATED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR",
        primaryUserId: ep.user.id,
        description: "This user's email is already associated with another user ID",
      });

      // The recipe user's sessions end when it is linked: its user id changes.
      const before = await Session.createNewSessionWithoutRequestResponse("public", tp.recipeUserId);
      assert.deepEqual(await AccountLinking.canLinkAccounts(tp.recipeUserId, ep.user.id), {
        status: "OK",
        accountsAlreadyLinked: false,
      });
      const linked = await AccountLinking.linkAccounts(tp.recipeUserId, ep.user.id);
      assert.equal(linked.status, "OK");
      if (linked.status !== "OK") throw new Error("unreachable");
      assert.equal(linked.accountsAlreadyLinked, false);
      assert.equal(linked.user.id, ep.user.id);
      assert.deepEqual(linked.user.emails, ["ada@example.com"]);
      assert.deepEqual(linked.user.thirdParty, [{ id: "acme", userId: "a-1" }]);
      assert.deepEqual(
        linked.user.loginMethods.map((m) => m.recipeId),
        ["emailpassword", "thirdparty"],
      );
      // Verification stays per login method: the email-password one was never verified.
      assert.deepEqual(
        linked.user.loginMethods.map((m) => m.verified),
        [false, true],
      );
      assert.equal(await Session.getSessionInformation(before.getHandle()), undefined);

      const byTp = await supertokens.getUser(tp.user.id);
      assert.equal(byTp?.id, ep.user.id);
      assert.equal(byTp?.isPrimaryUser, true);
      assert.equal((await supertokens.listUsersByAccountInfo("public", { email: "ada@example.com" })).length, 1);
      assert.equal(await supertokens.getUserCount(), 1);
      assert.equal(await supertokens.getUserCount(["thirdparty"]), 1);
      assert.deepEqual(
        (await supertokens.getUsersNewestFirst({ tenantId: "public" })).users.map((u) => u.loginMethods.length),
        [2],
      );

      // A session of a linked login method belongs to the primary user.
      const session = await Session.createNewSessionWithoutRequestResponse("public", tp.recipeUserId);
      assert.equal(session.getUserId(), ep.user.id);
      assert.equal(session.getRecipeUserId().getAsString(), tp.user.id);
      assert.deepEqual(await Session.getAllSessionHandlesForUser(ep.user.id), [session.getHandle()]);
      assert.deepEqual(await Session.getAllSessionHandlesForUser(ep.user.id, false), []);

      const again = await AccountLinking.linkAccounts(tp.recipeUserId, ep.user.id);
      assert.equal(again.status, "OK");
      assert.equal(again.status === "OK" && again.accountsAlreadyLinked, true);
      assert.deepEqual(again.status === "OK" && again.user.toJson(), byTp?.toJson());
      assert.deepEqual(await AccountLinking.canCreatePrimaryUser(tp.recipeUserId), {
        status: "RECIPE_USER_ID_ALREADY_LINKED_WITH_PRIMARY_USER_ID_ERROR",
        primaryUserId: ep.user.id,
        description: "This user ID is already linked to another user ID",
      });
      const other = await epUser("bob@example.com");
      assert.deepEqual(await AccountLinking.canLinkAccounts(other.recipeUserId, tp.user.id), {
        status: "OK",
        accountsAlreadyLinked: false,
      });
      assert.deepEqual(await AccountLinking.linkAccounts(tp.recipeUserId, other.user.id), {
        status: "INPUT_USER_IS_NOT_A_PRIMARY_USER",
      });
      await AccountLinking.createPrimaryUser(other.recipeUserId);
      const taken = await AccountLinking.linkAccounts(tp.recipeUserId, other.user.id);
      assert.equal(taken.status, "RECIPE_USER_ID_ALREADY_LINKED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR");
      const sameEmail = await tpUser("globex", "g-1", "ada@example.com");
      assert.deepEqual(await AccountLinking.canLinkAccounts(sameEmail.recipeUserId, other.user.id), {
        status: "ACCOUNT_INFO_ALREADY_ASSOCIATED_WITH_ANOTHER_PRIMARY_USER_ID_ERROR",
        primaryUserId: ep.user.id,
        description: "This user's email is already associated with another user ID",
      });

      assert.deepEqual(await AccountLinking.unlinkAccount(tp.recipeUserId), {
        status: "OK",
        wasRecipeUserDeleted: false,
        wasLinked: true,
      });
      assert.deepEqual(await AccountLinking.unlinkAccount(tp.recipeUserId), {
        status: "OK",
        wasRecipeUserDeleted: false,
        wasLinked: false,
      });
      assert.equal((await supertokens.getUser(tp.user.id))?.isPrimaryUser, false);
      assert.equal((await supertokens.getUser(ep.user.id))?.loginMethods.length, 1);
      await assert.rejects(
        AccountLinking.createPrimaryUser(supertokens.convertToRecipeUserId("nobody")),
        /Unknown user ID provided/,
      );
    });

    it("links a second provider with the same verified email automatically through /auth/signinup", async () => {
      await setup();
      const app = express();
      app.use(middleware());
      app.use(errorHandler());
      const signIn = (thirdPartyId: string) =>
        request(app)
          .post("/auth/signinup")
          .send({
            thirdPartyId,
            redirectURIInfo: {
              redirectURIOnProviderDashboard: "http://localhost/cb",
              redirectURIQueryParams: { code: "c" },
            },
          });
      providerUser = { id: "acme-7", email: "grace@example.com", verified: true };
      const first = await signIn("acme");
      assert.equal(first.body.status, "OK", JSON.stringify(first.body));
      assert.equal(first.body.user.isPrimaryUser, true);
      providerUser = { id: "globex-7", email: "grace@example.com", verified: true };
      const second = await signIn("globex");
      assert.equal(second.body.status, "OK", JSON.stringify(second.body));
      assert.equal(second.body.createdNewRecipeUser, true);
      assert.equal(second.body.user.id, first.body.user.id);
      assert.deepEqual(
        second.body.user.thirdParty.map((t: { id: string }) => t.id),
        ["acme", "globex"],
      );
      const session = await Session.getSessionWithoutRequestResponse(second.headers["st-access-token"]);
      assert.equal(session.getUserId(), first.body.user.id);
      assert.notEqual(session.getRecipeUserId().getAsString(), first.body.user.id);

      // An unverified email from a provider can neither link to nor sit beside the primary user holding it.
      providerUser = { id: "acme-8", email: "grace@example.com", verified: false };
      const third = await signIn("acme");
      assert.equal(third.body.status, "SIGN_IN_UP_NOT_ALLOWED");
      assert.equal(await supertokens.getUserCount(), 1);
    });

    it("a primary user's third-party email does not change to another primary user's (core's check)", async () => {
      const uri = await setup(false);
      const a = await tpUser("acme", "a-1", "a@example.com");
      const b = await epUser("b@example.com");
      await AccountLinking.createPrimaryUser(a.recipeUserId);
      await AccountLinking.createPrimaryUser(b.recipeUserId);
      const post = (email: string) =>
        fetch(`${uri}/public/recipe/signinup`, {
          method: "POST",
          headers: { "content-type": "application/json", rid: "thirdparty" },
          body: JSON.stringify({
            thirdPartyId: "acme",
            thirdPartyUserId: "a-1",
            email: { id: email, isVerified: false },
          }),
        }).then((r) => r.json());
      assert.deepEqual(await post("b@example.com"), {
        status: "EMAIL_CHANGE_NOT_ALLOWED_ERROR",
        reason: "Email already associated with another primary user.",
      });
      const moved = await post("a2@example.com");
      assert.equal(moved.status, "OK");
      assert.deepEqual(moved.user.emails, ["a2@example.com"]);
    });

    it("deletes one login method or the whole primary user", async () => {
      await setup(false);
      const ep = await epUser("del@example.com");
      const tp = await tpUser("acme", "d-1", "del@example.com");
      const tp2 = await tpUser("globex", "d-2", "del@example.com");
      await AccountLinking.createPrimaryUser(ep.recipeUserId);
      await AccountLinking.linkAccounts(tp.recipeUserId, ep.user.id);
      await AccountLinking.linkAccounts(tp2.recipeUserId, ep.user.id);
      await supertokens.deleteUser(tp.user.id, false);
      assert.deepEqual(
        (await supertokens.getUser(ep.user.id))?.loginMethods.map((m) => m.recipeUserId.getAsString()),
        [ep.user.id, tp2.user.id],
      );
      // The primary user's own login method goes; the user keeps its id with the login method left.
      await supertokens.deleteUser(ep.user.id, false);
      const left = await supertokens.getUser(ep.user.id);
      assert.equal(left?.id, ep.user.id);
      assert.deepEqual(
        left?.loginMethods.map((m) => m.recipeUserId.getAsString()),
        [tp2.user.id],
      );
      await supertokens.deleteUser(tp2.user.id);
      assert.equal(await supertokens.getUser(ep.user.id), undefined);
      assert.equal(await supertokens.getUserCount(), 0);
    });
  });
}
