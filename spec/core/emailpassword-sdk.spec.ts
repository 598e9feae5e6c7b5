/**
 * The real supertokens-node EmailPassword recipe (recipe functions and its Express APIs) against the dev core.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";

let core: DevCore;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
});
after(() => core.close());

/** A fresh core app with the SDK pointed at it; returns the app's URI and id. */
async function setup(coreConfig: Record<string, unknown> = {}) {
  const uri = await createCoreApp(core.url, coreConfig);
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [EmailPassword.init(), Session.init({ getTokenTransferMethod: () => "header" })],
  });
  return { uri, appId: uri.split("/appid-")[1] };
}

function expressApp() {
  const app = express();
  app.use(middleware());
  app.use(errorHandler());
  return app;
}

const form = (email: string, password: string) => ({
  formFields: [
    { id: "email", value: email },
    { id: "password", value: password },
  ],
});

async function signUpOk(email: string, password: string) {
  const r = await EmailPassword.signUp("public", email, password);
  assert.equal(r.status, "OK");
  if (r.status !== "OK") throw new Error("unreachable");
  return r;
}

describe("EmailPassword recipe functions", () => {
  it("signUp, signIn, wrong password, unknown email, duplicate email", async () => {
    await setup();
    const up = await signUpOk("Person@Example.com", "password1");
    assert.deepEqual(up.user.emails, ["person@example.com"]);
    assert.equal(up.recipeUserId.getAsString(), up.user.id);
    assert.equal(up.user.loginMethods[0].recipeId, "emailpassword");

    const inOk = await EmailPassword.signIn("public", "person@example.com", "password1");
    assert.equal(inOk.status, "OK");
    assert.equal(inOk.status === "OK" && inOk.user.id, up.user.id);
    assert.deepEqual(await EmailPassword.signIn("public", "person@example.com", "password2"), {
      status: "WRONG_CREDENTIALS_ERROR",
    });
    assert.deepEqual(await EmailPassword.signIn("public", "nobody@example.com", "password1"), {
      status: "WRONG_CREDENTIALS_ERROR",
    });
    assert.deepEqual(await EmailPassword.signUp("public", "PERSON@example.com", "password9"), {
      status: "EMAIL_ALREADY_EXISTS_ERROR",
    });
  });

  it(
    "hashes with argon2id when the app's password_hashing_alg is ARGON2, and still verifies bcrypt " + "users",
    async () => {
      const { uri, appId } = await setup({
        password_hashing_alg: "ARGON2",
        argon2_memory_kb: 1024,
        argon2_iterations: 1,
        argon2_parallelism: 1,
      });
      const up = await signUpOk("argon@example.com", "password1");
      const stored = await core.storage.app(appId).getUser(up.user.id);
      assert.equal(stored?.recipeId, "emailpassword");
      assert.match(stored.passwordHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      assert.equal((await EmailPassword.signIn("public", "argon@example.com", "password1")).status, "OK");
      assert.equal(
        (await EmailPassword.signIn("public", "argon@example.com", "password2")).status,
        "WRONG_CREDENTIALS_ERROR",
      );
      // Verification follows the stored hash, not the current config.
      const imported = await fetch(`${uri}/public/recipe/user/passwordhash/import`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: "old@example.com", passwordHash: await bcrypt.hash("password3", 4) }),
      });
      assert.equal((await imported.json()).status, "OK");
      assert.equal((await EmailPassword.signIn("public", "old@example.com", "password3")).status, "OK");
    },
  );

  it(
    "password reset: create token, consume through resetPasswordUsingToken, sign in with the new " + "password",
    async () => {
      await setup();
      const up = await signUpOk("reset@example.com", "oldpassword1");
      assert.deepEqual(await EmailPassword.createResetPasswordToken("public", "nobody", "reset@example.com"), {
        status: "UNKNOWN_USER_ID_ERROR",
      });
      const created = await EmailPassword.createResetPasswordToken("public", up.user.id, "reset@example.com");
      assert.equal(created.status, "OK");
      const token = created.status === "OK" ? created.token : "";
      assert.deepEqual(await EmailPassword.resetPasswordUsingToken("public", token, "newpassword1"), { status: "OK" });
      assert.equal(
        (await EmailPassword.signIn("public", "reset@example.com", "oldpassword1")).status,
        "WRONG_CREDENTIALS_ERROR",
      );
      assert.equal((await EmailPassword.signIn("public", "reset@example.com", "newpassword1")).status, "OK");
      assert.deepEqual(await EmailPassword.resetPasswordUsingToken("public", token, "another1"), {
        status: "RESET_PASSWORD_INVALID_TOKEN_ERROR",
      });

      const again = await EmailPassword.createResetPasswordToken("public", up.user.id, "reset@example.com");
      const consumed = await EmailPassword.consumePasswordResetToken(
        "public",
        again.status === "OK" ? again.token : "",
      );
      assert.deepEqual(consumed, { status: "OK", email: "reset@example.com", userId: up.user.id });
    },
  );

  it("a reset token for an unknown tenant fails with 400", async () => {
    await setup();
    const up = await signUpOk("tenant@example.com", "password1");
    await assert.rejects(
      EmailPassword.createResetPasswordToken("invalidtenantid", up.user.id, "tenant@example.com"),
      /status code: 400/,
    );
  });

  it("updateEmailOrPassword: email, same email, taken email, password, unknown user", async () => {
    await setup();
    const a = await signUpOk("a@example.com", "password1");
    await signUpOk("b@example.com", "password1");
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({ recipeUserId: a.recipeUserId, email: "a2@example.com" }),
      { status: "OK" },
    );
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({ recipeUserId: a.recipeUserId, email: "a2@example.com" }),
      { status: "OK" },
    );
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({ recipeUserId: a.recipeUserId, email: "b@example.com" }),
      { status: "EMAIL_ALREADY_EXISTS_ERROR" },
    );
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({ recipeUserId: a.recipeUserId, password: "password2" }),
      { status: "OK" },
    );
    assert.equal((await EmailPassword.signIn("public", "a2@example.com", "password2")).status, "OK");
    assert.equal(
      (await EmailPassword.signIn("public", "a@example.com", "password1")).status,
      "WRONG_CREDENTIALS_ERROR",
    );
    assert.deepEqual(
      await EmailPassword.updateEmailOrPassword({
        recipeUserId: supertokens.convertToRecipeUserId("nobody"),
        password: "password3",
      }),
      { status: "UNKNOWN_USER_ID_ERROR" },
    );
  });

  it("users in different tenants are independent", async () => {
    const { uri } = await setup();
    const t = await fetch(`${uri}/recipe/multitenancy/tenant/v2`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId: "t1", firstFactors: ["emailpassword"] }),
    });
    assert.equal((await t.json()).status, "OK");
    const pub = await signUpOk("same@example.com", "password1");
    const t1 = await EmailPassword.signUp("t1", "same@example.com", "password2");
    assert.equal(t1.status, "OK");
    assert.notEqual(t1.status === "OK" && t1.user.id, pub.user.id);
    assert.equal((await EmailPassword.signIn("t1", "same@example.com", "password1")).status, "WRONG_CREDENTIALS_ERROR");
    const token = await EmailPassword.createResetPasswordToken(
      "t1",
      t1.status === "OK" ? t1.user.id : "",
      "same@example.com",
    );
    assert.equal(
      (await EmailPassword.resetPasswordUsingToken("t1", token.status === "OK" ? token.token : "", "password3")).status,
      "OK",
    );
    assert.equal((await EmailPassword.signIn("t1", "same@example.com", "password3")).status, "OK");
    assert.equal((await EmailPassword.signIn("public", "same@example.com", "password1")).status, "OK");
  });
});

describe("EmailPassword Express APIs", () => {
  it("POST /auth/signup and /auth/signin create sessions; duplicates and wrong passwords are form errors", async () => {
    await setup();
    const app = expressApp();
    const up = await request(app).post("/auth/signup").send(form("express@example.com", "password1"));
    assert.equal(up.status, 200);
    assert.equal(up.body.status, "OK");
    assert.deepEqual(up.body.user.emails, ["express@example.com"]);
    assert.ok(up.headers["st-access-token"], "sign-up returns an access token");

    const dup = await request(app).post("/auth/signup").send(form("express@example.com", "password1"));
    assert.equal(dup.body.status, "FIELD_ERROR");
    assert.deepEqual(dup.body.formFields, [
      { id: "email", error: "This email already exists. Please sign in instead." },
    ]);

    const signin = await request(app).post("/auth/signin").send(form("Express@Example.com", "password1"));
    assert.equal(signin.status, 200);
    assert.equal(signin.body.status, "OK");
    assert.equal(signin.body.user.id, up.body.user.id);
    assert.ok(signin.headers["st-access-token"]);
    const session = await Session.getSessionWithoutRequestResponse(signin.headers["st-access-token"]);
    assert.equal(session.getUserId(), up.body.user.id);

    const wrong = await request(app).post("/auth/signin").send(form("express@example.com", "password2"));
    assert.deepEqual(wrong.body, { status: "WRONG_CREDENTIALS_ERROR" });
  });

  it("GET /auth/emailpassword/email/exists", async () => {
    await setup();
    const app = expressApp();
    await signUpOk("exists@example.com", "password1");
    const yes = await request(app).get("/auth/emailpassword/email/exists").query({ email: "exists@example.com" });
    assert.deepEqual(yes.body, { status: "OK", exists: true });
    const no = await request(app).get("/auth/emailpassword/email/exists").query({ email: "missing@example.com" });
    assert.deepEqual(no.body, { status: "OK", exists: false });
  });

  it("POST /auth/user/password/reset with a token from the core", async () => {
    await setup();
    const app = expressApp();
    const up = await signUpOk("fdi-reset@example.com", "password1");
    const created = await EmailPassword.createResetPasswordToken("public", up.user.id, "fdi-reset@example.com");
    const token = created.status === "OK" ? created.token : "";
    const res = await request(app)
      .post("/auth/user/password/reset")
      .send({ method: "token", token, formFields: [{ id: "password", value: "password9" }] });
    assert.equal(res.body.status, "OK");
    assert.equal((await EmailPassword.signIn("public", "fdi-reset@example.com", "password9")).status, "OK");
  });
});

describe("password hash import, then sign-in with the original password", () => {
  const importHash = async (uri: string, email: string, passwordHash: string, hashingAlgorithm?: string) => {
    const res = await fetch(`${uri}/public/recipe/user/passwordhash/import`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, passwordHash, hashingAlgorithm }),
    });
    return { status: res.status, text: await res.text() };
  };

  it("bcrypt", async () => {
    const { uri } = await setup();
    const r = await importHash(uri, "bcrypt@example.com", await bcrypt.hash("legacy-pw-1", 4));
    assert.equal(JSON.parse(r.text).didUserAlreadyExist, false);
    assert.equal((await EmailPassword.signIn("public", "bcrypt@example.com", "legacy-pw-1")).status, "OK");
    assert.equal(
      (await EmailPassword.signIn("public", "bcrypt@example.com", "legacy-pw-2")).status,
      "WRONG_CREDENTIALS_ERROR",
    );
  });

  it("argon2", async () => {
    const { uri } = await setup();
    const hash = await argon2.hash("legacy-pw-1", {
      type: argon2.argon2id,
      memoryCost: 1024,
      timeCost: 1,
      parallelism: 1,
    });
    assert.equal(JSON.parse((await importHash(uri, "argon@example.com", hash, "argon2")).text).status, "OK");
    assert.equal((await EmailPassword.signIn("public", "argon@example.com", "legacy-pw-1")).status, "OK");
    assert.equal((await EmailPassword.signIn("public", "argon@example.com", "nope")).status, "WRONG_CREDENTIALS_ERROR");
  });

  it("firebase scrypt needs the app's signer key, at import and at sign-in", async () => {
    const signerKey = randomBytes(64).toString("base64");
    const { uri, appId } = await setup({ firebase_password_hashing_signer_key: signerKey });
    const salt = randomBytes(16).toString("base64");
    const saltSeparator = "Bw==";
    const derived = scryptSync(
      Buffer.from("legacy-pw-1", "ascii"),
      Buffer.concat([Buffer.from(salt, "base64"), Buffer.from(saltSeparator, "base64")]),
      64,
      {
        N: 2 ** 14,
        r: 8,
        p: 1,
        maxmem: 64 * 1024 * 1024,
      },
    );
    const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), Buffer.alloc(16));
    const hash = Buffer.concat([cipher.update(Buffer.from(signerKey, "base64")), cipher.final()]).toString("base64");
    const fbHash = `$f_scrypt$${hash}$${salt}$m=14$r=8$s=${saltSeparator}`;
    assert.equal(JSON.parse((await importHash(uri, "fb@example.com", fbHash, "firebase_scrypt")).text).status, "OK");
    assert.equal((await EmailPassword.signIn("public", "fb@example.com", "legacy-pw-1")).status, "OK");
    assert.equal(
      (await EmailPassword.signIn("public", "fb@example.com", "legacy-pw-2")).status,
      "WRONG_CREDENTIALS_ERROR",
    );

    // Without the key the core answers 500, which the SDK turns into an error.
    const drop = await fetch(`${core.url}/recipe/multitenancy/app/v2`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ appId, coreConfig: { firebase_password_hashing_signer_key: null } }),
    });
    assert.equal((await drop.json()).status, "OK");
    await assert.rejects(
      EmailPassword.signIn("public", "fb@example.com", "legacy-pw-1"),
      /status code: 500 and message: 'firebase_password_hashing_signer_key' cannot be null\n/,
    );
  });
});
