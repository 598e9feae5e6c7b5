/**
 * The real supertokens-node user APIs (listing, counting, deletion), user id mapping, user metadata and
 * email verification against the dev core.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session from "supertokens-node/recipe/session";
import UserMetadata from "supertokens-node/recipe/usermetadata";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";

let core: DevCore;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
});
after(() => core.close());

async function setup() {
  const uri = await createCoreApp(core.url);
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
      UserMetadata.init(),
      EmailVerification.init({ mode: "OPTIONAL" }),
    ],
  });
  return uri;
}

async function signUp(email: string, password = "password1", tenantId = "public") {
  const r = await EmailPassword.signUp(tenantId, email, password);
  if (r.status !== "OK") throw new Error(`sign-up failed: ${r.status}`);
  return r;
}

const rid = (id: string) => supertokens.convertToRecipeUserId(id);

describe("users through the SDK", () => {
  it("getUser by id, listUsersByAccountInfo, getUserCount", async () => {
    await setup();
    const a = await signUp("a@example.com");
    await signUp("b@example.com");
    const user = await supertokens.getUser(a.user.id);
    assert.equal(user?.id, a.user.id);
    assert.deepEqual(user?.emails, ["a@example.com"]);
    assert.equal(user?.isPrimaryUser, false);
    assert.equal(await supertokens.getUser("nobody"), undefined);

    const found = await supertokens.listUsersByAccountInfo("public", { email: "A@EXAMPLE.COM" });
    assert.deepEqual(
      found.map((u) => u.id),
      [a.user.id],
    );
    assert.deepEqual(await supertokens.listUsersByAccountInfo("public", { email: "none@example.com" }), []);

    assert.equal(await supertokens.getUserCount(), 2);
    assert.equal(await supertokens.getUserCount(["emailpassword"]), 2);
    assert.equal(await supertokens.getUserCount(["thirdparty"]), 0);
    assert.equal(await supertokens.getUserCount(undefined, "public"), 2);
  });

  it("getUsersOldestFirst / NewestFirst paginate to the end", async () => {
    await setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await signUp(`p${i}@example.com`)).user.id);
      await new Promise((r) => setTimeout(r, 2));
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await supertokens.getUsersOldestFirst({ tenantId: "public", limit: 2, paginationToken: token });
      seen.push(...page.users.map((u) => u.id));
      token = page.nextPaginationToken;
      pages++;
    } while (token !== undefined);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ids);
    const newest = await supertokens.getUsersNewestFirst({ tenantId: "public", limit: 10 });
    assert.deepEqual(
      newest.users.map((u) => u.id),
      [...ids].reverse(),
    );
    assert.equal(newest.nextPaginationToken, undefined);
  });

  it("deleteUser removes the user, its sessions and its metadata", async () => {
    await setup();
    const a = await signUp("del@example.com");
    const b = await signUp("keep@example.com");
    const session = await Session.createNewSessionWithoutRequestResponse("public", a.recipeUserId);
    await UserMetadata.updateUserMetadata(a.user.id, { x: 1 });
    assert.deepEqual(await supertokens.deleteUser(a.user.id), { status: "OK" });
    assert.equal(await supertokens.getUser(a.user.id), undefined);
    assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
    assert.deepEqual((await UserMetadata.getUserMetadata(a.user.id)).metadata, {});
    assert.equal(
      (await EmailPassword.signIn("public", "del@example.com", "password1")).status,
      "WRONG_CREDENTIALS_ERROR",
    );
    assert.equal((await supertokens.getUser(b.user.id))?.id, b.user.id);
    assert.deepEqual(await supertokens.deleteUser("nobody"), { status: "OK" });
  });
});

describe("user id mapping through the SDK", () => {
  it("create, get, update info, delete, with the exact key counts", async () => {
    await setup();
    const a = await signUp("map@example.com");
    const created = await supertokens.createUserIdMapping({
      superTokensUserId: a.user.id,
      externalUserId: "ext-1",
      externalUserIdInfo: "from legacy",
    });
    assert.deepEqual(created, { status: "OK" });
    const got = await supertokens.getUserIdMapping({ userId: "ext-1", userIdType: "EXTERNAL" });
    assert.deepEqual(got, {
      status: "OK",
      superTokensUserId: a.user.id,
      externalUserId: "ext-1",
      externalUserIdInfo: "from legacy",
    });
    const again = await supertokens.createUserIdMapping({ superTokensUserId: a.user.id, externalUserId: "ext-1" });
    assert.equal(Object.keys(again).length, 3);
    assert.deepEqual(again, {
      status: "USER_ID_MAPPING_ALREADY_EXISTS_ERROR",
      doesSuperTokensUserIdExist: true,
      doesExternalUserIdExist: true,
    });
    assert.deepEqual(await supertokens.createUserIdMapping({ superTokensUserId: "nobody", externalUserId: "ext-2" }), {
      status: "UNKNOWN_SUPERTOKENS_USER_ID_ERROR",
    });

    assert.deepEqual(
      await supertokens.updateOrDeleteUserIdMappingInfo({ userId: a.user.id, externalUserIdInfo: undefined }),
      { status: "OK" },
    );
    const noInfo = await supertokens.getUserIdMapping({ userId: a.user.id });
    assert.equal(Object.keys(noInfo).length, 3);
    assert.deepEqual(await supertokens.updateOrDeleteUserIdMappingInfo({ userId: "nobody", externalUserIdInfo: "x" }), {
      status: "UNKNOWN_MAPPING_ERROR",
    });

    assert.deepEqual(await supertokens.deleteUserIdMapping({ userId: "ext-1" }), {
      status: "OK",
      didMappingExist: true,
    });
    assert.deepEqual(await supertokens.getUserIdMapping({ userId: "ext-1" }), { status: "UNKNOWN_MAPPING_ERROR" });
    assert.deepEqual(await supertokens.deleteUserIdMapping({ userId: "ext-1" }), {
      status: "OK",
      didMappingExist: false,
    });
  });

  it("after mapping, getUser, signIn, listings and sessions report the external id", async () => {
    await setup();
    const a = await signUp("ext@example.com");
    await supertokens.createUserIdMapping({ superTokensUserId: a.user.id, externalUserId: "legacy-42" });

    const user = await supertokens.getUser(a.user.id);
    assert.equal(user?.id, "legacy-42");
    assert.equal(user?.loginMethods[0].recipeUserId.getAsString(), "legacy-42");
    assert.equal((await supertokens.getUser("legacy-42"))?.id, "legacy-42");

    const signIn = await EmailPassword.signIn("public", "ext@example.com", "password1");
    assert.equal(signIn.status, "OK");
    if (signIn.status !== "OK") return;
    assert.equal(signIn.user.id, "legacy-42");
    assert.equal(signIn.recipeUserId.getAsString(), "legacy-42");

    assert.deepEqual(
      (await supertokens.listUsersByAccountInfo("public", { email: "ext@example.com" })).map((u) => u.id),
      ["legacy-42"],
    );
    assert.deepEqual(
      (await supertokens.getUsersOldestFirst({ tenantId: "public" })).users.map((u) => u.id),
      ["legacy-42"],
    );

    const session = await Session.createNewSessionWithoutRequestResponse("public", signIn.recipeUserId);
    assert.equal(session.getUserId(), "legacy-42");
    assert.equal(session.getRecipeUserId().getAsString(), "legacy-42");

    const token = await EmailPassword.createResetPasswordToken("public", "legacy-42", "ext@example.com");
    assert.equal(token.status, "OK");
    const consumed = await EmailPassword.consumePasswordResetToken("public", token.status === "OK" ? token.token : "");
    assert.deepEqual(consumed, { status: "OK", userId: "legacy-42", email: "ext@example.com" });
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({ recipeUserId: rid("legacy-42"), password: "password2" }),
      { status: "OK" },
    );
    assert.equal((await EmailPassword.signIn("public", "ext@example.com", "password2")).status, "OK");

    assert.deepEqual(await supertokens.deleteUser("legacy-42"), { status: "OK" });
    assert.equal(await Session.getSessionInformation(session.getHandle()), undefined);
    assert.equal(await supertokens.getUser(a.user.id), undefined);
    assert.deepEqual(await supertokens.getUserIdMapping({ userId: a.user.id }), { status: "UNKNOWN_MAPPING_ERROR" });
  });

  it("a live session or metadata on the SuperTokens id blocks mapping unless forced", async () => {
    await setup();
    const a = await signUp("s@example.com");
    await Session.createNewSessionWithoutRequestResponse("public", a.recipeUserId);
    await assert.rejects(
      supertokens.createUserIdMapping({ superTokensUserId: a.user.id, externalUserId: "ext-s" }),
      /status code: 400 and message: UserId is already in use in Session recipe\n/,
    );
    assert.deepEqual(
      await supertokens.createUserIdMapping({ superTokensUserId: a.user.id, externalUserId: "ext-s", force: true }),
      { status: "OK" },
    );

    const b = await signUp("m@example.com");
    await UserMetadata.updateUserMetadata(b.user.id, { role: "admin" });
    await assert.rejects(
      supertokens.createUserIdMapping({ superTokensUserId: b.user.id, externalUserId: "ext-m" }),
      /UserId is already in use in UserMetadata recipe/,
    );
    await assert.rejects(
      supertokens.createUserIdMapping({ superTokensUserId: b.user.id, externalUserId: a.user.id }),
      /Cannot create a userId mapping where the externalId is also a SuperTokens userID/,
    );
    assert.deepEqual(
      await supertokens.createUserIdMapping({ superTokensUserId: b.user.id, externalUserId: "ext-m", force: true }),
      { status: "OK" },
    );

    await UserMetadata.updateUserMetadata("ext-m", { plan: "pro" });
    await assert.rejects(
      supertokens.deleteUserIdMapping({ userId: "ext-m" }),
      /UserId is already in use in UserMetadata recipe/,
    );
    assert.deepEqual(await supertokens.deleteUserIdMapping({ userId: "ext-m", force: true }), {
      status: "OK",
      didMappingExist: true,
    });
  });

  it("email verification of the SuperTokens id moves to the external id", async () => {
    await setup();
    const a = await signUp("ev@example.com");
    const t = await EmailVerification.createEmailVerificationToken("public", a.recipeUserId);
    assert.equal(t.status, "OK");
    await EmailVerification.verifyEmailUsingToken("public", t.status === "OK" ? t.token : "");
    assert.deepEqual(
      await supertokens.createUserIdMapping({ superTokensUserId: a.user.id, externalUserId: "ext-ev" }),
      { status: "OK" },
    );
    assert.equal(await EmailVerification.isEmailVerified(rid("ext-ev"), "ev@example.com"), true);
    assert.equal((await supertokens.getUser("ext-ev"))?.loginMethods[0]!.verified, true);
  });
});

describe("user metadata through the SDK", () => {
  it("get, shallow merge with null deleting, clear", async () => {
    await setup();
    assert.deepEqual(await UserMetadata.getUserMetadata("u1"), { status: "OK", metadata: {} });
    assert.deepEqual(await UserMetadata.updateUserMetadata("u1", { a: 1, nested: { b: 2 }, gone: true }), {
      status: "OK",
      metadata: { a: 1, nested: { b: 2 }, gone: true },
    });
    assert.deepEqual(await UserMetadata.updateUserMetadata("u1", { nested: { c: 3 }, gone: null }), {
      status: "OK",
      metadata: { a: 1, nested: { c: 3 } },
    });
    assert.deepEqual((await UserMetadata.getUserMetadata("u1")).metadata, { a: 1, nested: { c: 3 } });
    assert.deepEqual(await UserMetadata.clearUserMetadata("u1"), { status: "OK" });
    assert.deepEqual((await UserMetadata.getUserMetadata("u1")).metadata, {});
  });
});

describe("email verification through the SDK", () => {
  it("token flow, already verified, unverify, revoked tokens", async () => {
    await setup();
    const a = await signUp("verify@example.com");
    assert.equal(await EmailVerification.isEmailVerified(a.recipeUserId), false);
    const t = await EmailVerification.createEmailVerificationToken("public", a.recipeUserId);
    assert.equal(t.status, "OK");
    const verified = await EmailVerification.verifyEmailUsingToken("public", t.status === "OK" ? t.token : "");
    assert.equal(verified.status, "OK");
    if (verified.status === "OK") {
      assert.equal(verified.user.recipeUserId.getAsString(), a.user.id);
      assert.equal(verified.user.email, "verify@example.com");
    }
    assert.equal(await EmailVerification.isEmailVerified(a.recipeUserId), true);
    assert.equal((await supertokens.getUser(a.user.id))?.loginMethods[0]!.verified, true);
    assert.deepEqual(await EmailVerification.createEmailVerificationToken("public", a.recipeUserId), {
      status: "EMAIL_ALREADY_VERIFIED_ERROR",
    });

    assert.deepEqual(await EmailVerification.unverifyEmail(a.recipeUserId), { status: "OK" });
    assert.equal(await EmailVerification.isEmailVerified(a.recipeUserId), false);

    const t2 = await EmailVerification.createEmailVerificationToken("public", a.recipeUserId);
    assert.deepEqual(await EmailVerification.revokeEmailVerificationTokens("public", a.recipeUserId), { status: "OK" });
    assert.deepEqual(await EmailVerification.verifyEmailUsingToken("public", t2.status === "OK" ? t2.token : ""), {
      status: "EMAIL_VERIFICATION_INVALID_TOKEN_ERROR",
    });
  });
});
