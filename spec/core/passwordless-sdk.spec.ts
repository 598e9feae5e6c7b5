/**
 * The real supertokens-node Passwordless recipe (recipe functions and its Express APIs) against the dev core, in
 * memory and on PostgreSQL. Codes reach the test through the SDK's own delivery extension point (an emailDelivery /
 * smsDelivery override that records what would have been sent).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, randomUUID } from "node:crypto";
import express from "express";
import request from "supertest";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import supertokens from "supertokens-node";
import Multitenancy from "supertokens-node/recipe/multitenancy";
import Passwordless from "supertokens-node/recipe/passwordless";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { MemoryStorage, PostgresStorage, startDevCore, type CoreStorage, type DevCore } from "../../lib/core/index.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const schema = `stm_passwordless_${uniqueId()}`;
let pool: pg.Pool;
const cores: Record<"memory" | "postgres", DevCore> = {} as never;

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
  cores.memory = await startDevCore();
  cores.postgres = await startDevCore({ storage: await PostgresStorage.create(pool, { schema }) });
});
after(async () => {
  await cores.memory.close();
  await cores.postgres.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

interface Sent {
  to: string;
  userInputCode?: string;
  urlWithLinkCode?: string;
  preAuthSessionId: string;
  codeLifetime: number;
}

type ContactMethod = "EMAIL" | "PHONE" | "EMAIL_OR_PHONE";

/** A fresh app on the core with the SDK pointed at it; `sent` collects every email and SMS the recipe sends. */
async function setup(core: DevCore, contactMethod: ContactMethod = "EMAIL_OR_PHONE", coreConfig = {}) {
  const uri = await createCoreApp(core.url, coreConfig);
  const sent: Sent[] = [];
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      Passwordless.init({
        contactMethod,
        flowType: "USER_INPUT_CODE_AND_MAGIC_LINK",
        emailDelivery: {
          override: (original) => ({
            ...original,
            sendEmail: async (input) => {
              sent.push({ to: input.email, ...input });
            },
          }),
        },
        smsDelivery: {
          override: (original) => ({
            ...original,
            sendSms: async (input) => {
              sent.push({ to: input.phoneNumber, ...input });
            },
          }),
        },
      }),
      Multitenancy.init(),
      Session.init({ getTokenTransferMethod: () => "header" }),
    ],
  });
  return { uri, appId: uri.split("/appid-")[1], sent };
}

function expressApp() {
  const app = express();
  app.use(express.json());
  app.use(middleware());
  app.use(errorHandler());
  return app;
}

async function createCodeOk(input: { email: string } | { phoneNumber: string }, userInputCode?: string) {
  const r = await Passwordless.createCode({
    tenantId: "public",
    ...input,
    ...(userInputCode ? { userInputCode } : {}),
  });
  assert.equal(r.status, "OK");
  return r;
}

/** What a user who typed the code sends: the device and the code, not the link code the SDK also gets back. */
const typed = (c: { preAuthSessionId: string; deviceId: string; userInputCode: string }) => ({
  tenantId: "public",
  preAuthSessionId: c.preAuthSessionId,
  deviceId: c.deviceId,
  userInputCode: c.userInputCode,
});

async function consumeOk(code: { preAuthSessionId: string; deviceId: string; userInputCode: string }) {
  const r = await Passwordless.consumeCode(typed(code));
  assert.equal(r.status, "OK", JSON.stringify(r));
  if (r.status !== "OK") throw new Error("unreachable");
  return r;
}

/** Wait (on the clock, not on an event) until a code created at `timeCreated` is past `lifetime` ms. */
async function pastLifetime(timeCreated: number, lifetime: number) {
  while (Date.now() <= timeCreated + lifetime + 1) await new Promise((r) => setTimeout(r, 2));
}

for (const kind of ["memory", "postgres"] as const) {
  describe(`Passwordless recipe functions on the dev core (${kind} storage)`, () => {
    it("createCode encodes as the core: deviceId base64, preAuthSessionId its sha256, link code an HMAC", async () => {
      const { appId } = await setup(cores[kind]);
      const code = await createCodeOk({ email: "Shape@Example.com" });
      assert.match(code.deviceId, /^[A-Za-z0-9+/]{43}=$/);
      assert.match(code.userInputCode, /^\d{6}$/);
      assert.match(code.codeId, /^[0-9a-f-]{36}$/);
      assert.equal(code.codeLifetime, 900_000);
      const deviceIdBytes = Buffer.from(code.deviceId, "base64");
      assert.equal(code.preAuthSessionId, createHash("sha256").update(deviceIdBytes).digest("base64url"));
      const device = await cores[kind].storage.app(appId).passwordlessCodes.getDevice("public", code.preAuthSessionId);
      assert.ok(device);
      assert.equal(device.email, "shape@example.com");
      const key = Buffer.concat([deviceIdBytes, Buffer.from(device.linkCodeSalt, "base64")]);
      const linkCode = createHmac("sha256", key).update(code.userInputCode).digest("base64url");
      assert.equal(code.linkCode, linkCode);
      const [stored] = await cores[kind].storage
        .app(appId)
        .passwordlessCodes.listCodesOfDevice("public", device.deviceIdHash);
      assert.equal(
        stored.linkCodeHash,
        createHash("sha256").update(Buffer.from(linkCode, "base64url")).digest("base64url") + "=",
      );
    });

    it("lists codes by email, phone, device id and preAuthSessionId; createNewCodeForDevice; revoking", async () => {
      await setup(cores[kind]);
      const first = await createCodeOk({ email: "list@example.com" });
      const other = await createCodeOk({ email: "list@example.com" });
      const second = await Passwordless.createNewCodeForDevice({ tenantId: "public", deviceId: first.deviceId });
      assert.equal(second.status, "OK");
      assert.equal(second.status === "OK" && second.preAuthSessionId, first.preAuthSessionId);

      const byEmail = await Passwordless.listCodesByEmail({ tenantId: "public", email: "LIST@example.com" });
      assert.equal(byEmail.length, 2);
      const byDevice = await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: first.deviceId });
      assert.equal(byDevice?.preAuthSessionId, first.preAuthSessionId);
      assert.equal(byDevice?.email, "list@example.com");
      assert.equal(byDevice?.failedCodeInputAttemptCount, 0);
      assert.deepEqual(
        byDevice?.codes.map((c) => c.codeId).sort(),
        [first.codeId, second.status === "OK" ? second.codeId : ""].sort(),
      );
      assert.equal(byDevice?.codes[0].codeLifetime, 900_000);
      const byPre = await Passwordless.listCodesByPreAuthSessionId({
        tenantId: "public",
        preAuthSessionId: other.preAuthSessionId,
      });
      assert.equal(byPre?.codes[0].codeId, other.codeId);
      assert.equal(
        await Passwordless.listCodesByPreAuthSessionId({ tenantId: "public", preAuthSessionId: "nope" }),
        undefined,
      );

      // One code of two goes alone; the device goes with its last code.
      await Passwordless.revokeCode({ tenantId: "public", codeId: first.codeId });
      assert.equal(
        (await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: first.deviceId }))?.codes.length,
        1,
      );
      await Passwordless.revokeCode({ tenantId: "public", codeId: second.status === "OK" ? second.codeId : "" });
      assert.equal(await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: first.deviceId }), undefined);
      // SDK 24 revokes a whole device by its preAuthSessionId.
      await Passwordless.revokeCode({ tenantId: "public", preAuthSessionId: other.preAuthSessionId });
      assert.deepEqual(await Passwordless.listCodesByEmail({ tenantId: "public", email: "list@example.com" }), []);

      await createCodeOk({ phoneNumber: "+14155552671" });
      await createCodeOk({ phoneNumber: "+14155552671" });
      assert.equal(
        (await Passwordless.listCodesByPhoneNumber({ tenantId: "public", phoneNumber: "+14155552671" })).length,
        2,
      );
      assert.deepEqual(await Passwordless.revokeAllCodes({ tenantId: "public", phoneNumber: "+14155552671" }), {
        status: "OK",
      });
      assert.deepEqual(
        await Passwordless.listCodesByPhoneNumber({ tenantId: "public", phoneNumber: "+14155552671" }),
        [],
      );
    });

    it("consumeCode signs up once, then signs in; the email is verified and its other attempts end", async () => {
      const { appId } = await setup(cores[kind]);
      const code = await createCodeOk({ email: "new@example.com" });
      const pending = await createCodeOk({ email: "new@example.com" });
      const up = await consumeOk(code);
      assert.equal(up.createdNewRecipeUser, true);
      assert.deepEqual(up.user.emails, ["new@example.com"]);
      assert.equal(up.user.loginMethods[0].recipeId, "passwordless");
      assert.equal(up.user.loginMethods[0].verified, true);
      assert.equal(up.recipeUserId.getAsString(), up.user.id);
      assert.equal(up.consumedDevice.preAuthSessionId, code.preAuthSessionId);
      assert.equal(up.consumedDevice.email, "new@example.com");
      assert.equal(up.consumedDevice.failedCodeInputAttemptCount, 0);
      // The other attempt for the same email is gone with this sign-in; so is the used code.
      assert.deepEqual(await Passwordless.consumeCode(typed(pending)), {
        status: "RESTART_FLOW_ERROR",
      });
      assert.deepEqual(await Passwordless.consumeCode(typed(code)), {
        status: "RESTART_FLOW_ERROR",
      });
      assert.equal(await cores[kind].storage.app(appId).isEmailVerified(up.user.id, "new@example.com"), true);

      const again = await consumeOk(await createCodeOk({ email: "NEW@example.com" }));
      assert.equal(again.createdNewRecipeUser, false);
      assert.equal(again.user.id, up.user.id);
      const fetched = await supertokens.getUser(up.user.id);
      assert.deepEqual(
        fetched?.loginMethods.map((lm) => lm.recipeId),
        ["passwordless"],
      );
    });

    it("a link code works once, not in another tenant, not with another preAuthSessionId", async () => {
      const { uri } = await setup(cores[kind]);
      const code = await createCodeOk({ email: "link@example.com" });
      const r = await Passwordless.consumeCode({
        tenantId: "public",
        preAuthSessionId: code.preAuthSessionId,
        linkCode: code.linkCode,
      });
      assert.equal(r.status, "OK");
      assert.deepEqual(
        await Passwordless.consumeCode({
          tenantId: "public",
          preAuthSessionId: code.preAuthSessionId,
          linkCode: code.linkCode,
        }),
        { status: "RESTART_FLOW_ERROR" },
      );

      assert.equal(
        (await Multitenancy.createOrUpdateTenant("t1", { firstFactors: ["otp-email", "link-email"] })).status,
        "OK",
      );
      const inPublic = await createCodeOk({ email: "tenant@example.com" });
      assert.deepEqual(
        await Passwordless.consumeCode({
          tenantId: "t1",
          preAuthSessionId: inPublic.preAuthSessionId,
          linkCode: inPublic.linkCode,
        }),
        { status: "RESTART_FLOW_ERROR" },
      );

      const mismatch = await createCodeOk({ email: "mismatch@example.com" });
      const res = await fetch(`${uri}/public/recipe/signinup/code/consume`, {
        method: "POST",
        headers: { "content-type": "application/json", rid: "passwordless" },
        body: JSON.stringify({ preAuthSessionId: inPublic.preAuthSessionId, linkCode: mismatch.linkCode }),
      });
      assert.equal(res.status, 400);
      assert.equal(await res.text(), "preAuthSessionId and deviceId doesn't match\n");
    });

    it("wrong typed codes count up to passwordless_max_code_input_attempts; the last ends the attempt", async () => {
      await setup(cores[kind], "EMAIL_OR_PHONE", { passwordless_max_code_input_attempts: 3 });
      const code = await createCodeOk({ email: "wrong@example.com" }, "123456");
      const wrong = {
        tenantId: "public",
        preAuthSessionId: code.preAuthSessionId,
        deviceId: code.deviceId,
        userInputCode: "000000",
      };
      assert.deepEqual(await Passwordless.consumeCode(wrong), {
        status: "INCORRECT_USER_INPUT_CODE_ERROR",
        failedCodeInputAttemptCount: 1,
        maximumCodeInputAttempts: 3,
      });
      assert.deepEqual(await Passwordless.checkCode(wrong), {
        status: "INCORRECT_USER_INPUT_CODE_ERROR",
        failedCodeInputAttemptCount: 2,
        maximumCodeInputAttempts: 3,
      });
      assert.equal(
        (await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: code.deviceId }))
          ?.failedCodeInputAttemptCount,
        2,
      );
      assert.deepEqual(await Passwordless.consumeCode(wrong), { status: "RESTART_FLOW_ERROR" });
      assert.equal(await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: code.deviceId }), undefined);

      // A failure before the right code is reported with the consumed device.
      const other = await createCodeOk({ email: "wrong-once@example.com" }, "654321");
      const once = await Passwordless.consumeCode({ ...typed(other), userInputCode: "000000" });
      assert.equal(once.status, "INCORRECT_USER_INPUT_CODE_ERROR");
      assert.equal((await consumeOk(other)).consumedDevice.failedCodeInputAttemptCount, 1);
      // The right code cannot bring the attempt back.
      assert.deepEqual(await Passwordless.consumeCode({ ...wrong, userInputCode: "123456" }), {
        status: "RESTART_FLOW_ERROR",
      });
    });

    it("an expired code: EXPIRED_USER_INPUT_CODE_ERROR typed (counted), RESTART_FLOW_ERROR by link", async () => {
      const lifetime = 50;
      await setup(cores[kind], "EMAIL_OR_PHONE", { passwordless_code_lifetime: lifetime });
      const code = await createCodeOk({ email: "late@example.com" });
      assert.equal(code.codeLifetime, lifetime);
      await pastLifetime(code.timeCreated, lifetime);
      assert.deepEqual(await Passwordless.consumeCode(typed(code)), {
        status: "EXPIRED_USER_INPUT_CODE_ERROR",
        failedCodeInputAttemptCount: 1,
        maximumCodeInputAttempts: 5,
      });
      assert.deepEqual(
        await Passwordless.consumeCode({
          tenantId: "public",
          preAuthSessionId: code.preAuthSessionId,
          linkCode: code.linkCode,
        }),
        { status: "RESTART_FLOW_ERROR" },
      );
    });

    it("createNewCodeForDevice: a repeated userInputCode, an unknown device", async () => {
      await setup(cores[kind]);
      const code = await createCodeOk({ email: "again@example.com" }, "111111");
      assert.deepEqual(
        await Passwordless.createNewCodeForDevice({
          tenantId: "public",
          deviceId: code.deviceId,
          userInputCode: "111111",
        }),
        { status: "USER_INPUT_CODE_ALREADY_USED_ERROR" },
      );
      const unknown = Buffer.alloc(32, 7).toString("base64");
      assert.deepEqual(await Passwordless.createNewCodeForDevice({ tenantId: "public", deviceId: unknown }), {
        status: "RESTART_FLOW_ERROR",
      });
    });

    it("checkCode verifies without consuming; the same code then signs in", async () => {
      await setup(cores[kind]);
      const code = await createCodeOk({ email: "check@example.com" });
      const checked = await Passwordless.checkCode(typed(code));
      assert.equal(checked.status, "OK");
      assert.equal(checked.status === "OK" && checked.consumedDevice.email, "check@example.com");
      assert.equal(
        (await Passwordless.listCodesByDeviceId({ tenantId: "public", deviceId: code.deviceId }))?.codes.length,
        1,
      );
      assert.equal((await consumeOk(code)).createdNewRecipeUser, true);
    });

    it("two concurrent consumes of one code: exactly one signs in", async () => {
      await setup(cores[kind]);
      const code = await createCodeOk({ email: "race@example.com" });
      const results = await Promise.all(Array.from({ length: 6 }, () => Passwordless.consumeCode(typed(code))));
      assert.deepEqual(results.map((r) => r.status).sort(), ["OK", ...Array(5).fill("RESTART_FLOW_ERROR")]);
    });

    it("phone numbers are kept in E.164 as the core normalises them; signInUp by phone", async () => {
      await setup(cores[kind]);
      const code = await createCodeOk({ phoneNumber: " +44 20 7946 0958 " });
      const listed = await Passwordless.listCodesByPhoneNumber({ tenantId: "public", phoneNumber: "+442079460958" });
      assert.equal(listed[0]?.phoneNumber, "+442079460958");
      const up = await consumeOk(code);
      assert.deepEqual(up.user.phoneNumbers, ["+442079460958"]);
      assert.deepEqual(up.user.emails, []);
      const signedIn = await Passwordless.signInUp({ tenantId: "public", phoneNumber: "+442079460958" });
      assert.equal(signedIn.createdNewRecipeUser, false);
      assert.equal(signedIn.user.id, up.user.id);
    });

    it("a phone-only login method is verified; once it gains an unverified email, it is not", async () => {
      await setup(cores[kind]);
      const up = await consumeOk(await createCodeOk({ phoneNumber: "+14155550123" }));
      assert.equal(up.user.loginMethods[0].verified, true);
      assert.equal((await supertokens.getUser(up.user.id))?.loginMethods[0].verified, true);
      const [listed] = await supertokens.listUsersByAccountInfo("public", { phoneNumber: "+14155550123" });
      assert.equal(listed?.loginMethods[0].verified, true);
      const recipeUserId = up.user.loginMethods[0].recipeUserId;
      assert.equal((await Passwordless.updateUser({ recipeUserId, email: "phone-first@example.com" })).status, "OK");
      assert.equal((await supertokens.getUser(up.user.id))?.loginMethods[0].verified, false);
    });

    it("updateUser changes and removes email and phone number, refuses taken ones and clearing both", async () => {
      await setup(cores[kind]);
      const a = await Passwordless.signInUp({ tenantId: "public", email: "a@example.com" });
      const b = await Passwordless.signInUp({ tenantId: "public", phoneNumber: "+14155550100" });
      const pendingForNew = await createCodeOk({ email: "a2@example.com" });

      assert.deepEqual(await Passwordless.updateUser({ recipeUserId: a.recipeUserId, email: "A2@example.com" }), {
        status: "OK",
      });
      assert.deepEqual((await supertokens.getUser(a.user.id))?.emails, ["a2@example.com"]);
      // Codes sent to the new email before the change no longer sign anyone in.
      assert.deepEqual(await Passwordless.consumeCode(typed(pendingForNew)), {
        status: "RESTART_FLOW_ERROR",
      });
      assert.deepEqual(
        await Passwordless.updateUser({ recipeUserId: a.recipeUserId, phoneNumber: "+1 415 555 0101" }),
        {
          status: "OK",
        },
      );
      assert.deepEqual((await supertokens.getUser(a.user.id))?.phoneNumbers, ["+14155550101"]);
      assert.deepEqual(await Passwordless.updateUser({ recipeUserId: b.recipeUserId, email: "a2@example.com" }), {
        status: "EMAIL_ALREADY_EXISTS_ERROR",
      });
      assert.deepEqual(await Passwordless.updateUser({ recipeUserId: b.recipeUserId, phoneNumber: "+14155550101" }), {
        status: "PHONE_NUMBER_ALREADY_EXISTS_ERROR",
      });
      assert.deepEqual(await Passwordless.updateUser({ recipeUserId: a.recipeUserId, email: null }), { status: "OK" });
      assert.deepEqual((await supertokens.getUser(a.user.id))?.emails, []);
      await assert.rejects(
        Passwordless.updateUser({ recipeUserId: a.recipeUserId, phoneNumber: null }),
        /You cannot clear both email and phone number of a user/,
      );
      const unknown = new supertokens.RecipeUserId("00000000-0000-0000-0000-000000000000");
      assert.deepEqual(await Passwordless.updateUser({ recipeUserId: unknown, email: "x@example.com" }), {
        status: "UNKNOWN_USER_ID_ERROR",
      });
      // The user signs in with the new phone number.
      const byPhone = await Passwordless.signInUp({ tenantId: "public", phoneNumber: "+14155550101" });
      assert.equal(byPhone.user.id, a.user.id);
    });

    it("tenants keep their own attempts and users: one email signs up a separate user in each", async () => {
      await setup(cores[kind]);
      const ids = [];
      for (const tenantId of ["t1", "t2"]) {
        assert.equal((await Multitenancy.createOrUpdateTenant(tenantId, { firstFactors: ["otp-email"] })).status, "OK");
        const code = await Passwordless.createCode({ tenantId, email: "both@example.com", userInputCode: "246810" });
        assert.equal(code.status, "OK");
        assert.equal((await Passwordless.listCodesByEmail({ tenantId, email: "both@example.com" })).length, 1);
        const r = await Passwordless.consumeCode({ ...typed(code), tenantId });
        assert.equal(r.status, "OK");
        if (r.status !== "OK") return;
        assert.equal(r.createdNewRecipeUser, true);
        assert.deepEqual(r.user.tenantIds, [tenantId]);
        ids.push(r.user.id);
      }
      assert.notEqual(ids[0], ids[1]);
      assert.deepEqual(await Passwordless.listCodesByEmail({ tenantId: "public", email: "both@example.com" }), []);
    });

    it("with a user id mapping, consume reports the external id as the user and recipe user id", async () => {
      await setup(cores[kind]);
      const up = await Passwordless.signInUp({ tenantId: "public", email: "mapped@example.com" });
      assert.deepEqual(
        await supertokens.createUserIdMapping({ superTokensUserId: up.user.id, externalUserId: "legacy-42" }),
        { status: "OK" },
      );
      const again = await consumeOk(await createCodeOk({ email: "mapped@example.com" }));
      assert.equal(again.user.id, "legacy-42");
      assert.equal(again.recipeUserId.getAsString(), "legacy-42");
      assert.equal(again.user.loginMethods[0].verified, true);
    });
  });

  describe(`Passwordless Express APIs on the dev core (${kind} storage)`, () => {
    it("EMAIL: /signinup/code sends a code, /resend another, /consume signs in with a session", async () => {
      const { sent } = await setup(cores[kind], "EMAIL");
      const app = expressApp();
      const created = await request(app).post("/auth/signinup/code").send({ email: "web@example.com" });
      assert.equal(created.status, 200);
      assert.equal(created.body.status, "OK");
      assert.equal(created.body.flowType, "USER_INPUT_CODE_AND_MAGIC_LINK");
      assert.equal(sent.length, 1);
      assert.equal(sent[0].to, "web@example.com");
      assert.equal(sent[0].preAuthSessionId, created.body.preAuthSessionId);

      const resent = await request(app)
        .post("/auth/signinup/code/resend")
        .send({ deviceId: created.body.deviceId, preAuthSessionId: created.body.preAuthSessionId });
      assert.deepEqual(resent.body, { status: "OK" });
      assert.equal(sent.length, 2);
      assert.notEqual(sent[1].userInputCode, sent[0].userInputCode);

      const before = await request(app).get("/auth/passwordless/email/exists").query({ email: "web@example.com" });
      assert.deepEqual(before.body, { status: "OK", exists: false });
      const consumed = await request(app).post("/auth/signinup/code/consume").send({
        preAuthSessionId: created.body.preAuthSessionId,
        deviceId: created.body.deviceId,
        userInputCode: sent[0].userInputCode,
      });
      assert.equal(consumed.body.status, "OK", JSON.stringify(consumed.body));
      assert.equal(consumed.body.createdNewRecipeUser, true);
      assert.deepEqual(consumed.body.user.emails, ["web@example.com"]);
      assert.ok(consumed.headers["st-access-token"], "a session was created");
      const afterwards = await request(app).get("/auth/passwordless/email/exists").query({ email: "web@example.com" });
      assert.deepEqual(afterwards.body, { status: "OK", exists: true });
    });

    it("EMAIL: the magic link's code signs in; a wrong typed code is counted", async () => {
      const { sent } = await setup(cores[kind], "EMAIL");
      const app = expressApp();
      const created = await request(app).post("/auth/signinup/code").send({ email: "magic@example.com" });
      const wrong = await request(app)
        .post("/auth/signinup/code/consume")
        .send({
          preAuthSessionId: created.body.preAuthSessionId,
          deviceId: created.body.deviceId,
          userInputCode: sent[0].userInputCode === "000000" ? "111111" : "000000",
        });
      assert.deepEqual(wrong.body, {
        status: "INCORRECT_USER_INPUT_CODE_ERROR",
        failedCodeInputAttemptCount: 1,
        maximumCodeInputAttempts: 5,
      });
      const url = new URL(sent[0].urlWithLinkCode!);
      assert.equal(url.searchParams.get("preAuthSessionId"), created.body.preAuthSessionId);
      const linkCode = url.hash.slice(1);
      const consumed = await request(app)
        .post("/auth/signinup/code/consume")
        .send({ preAuthSessionId: created.body.preAuthSessionId, linkCode });
      assert.equal(consumed.body.status, "OK", JSON.stringify(consumed.body));
      assert.ok(consumed.headers["st-access-token"]);
    });

    for (const method of ["PHONE", "EMAIL_OR_PHONE"] as const) {
      it(`${method}: a code by SMS to a phone number written loosely signs in the E.164 number`, async () => {
        const { sent } = await setup(cores[kind], method);
        const app = expressApp();
        const created = await request(app).post("/auth/signinup/code").send({ phoneNumber: "+1 (415) 555-2671" });
        assert.equal(created.body.status, "OK", JSON.stringify(created.body));
        assert.equal(sent[0].to, "+14155552671");
        const consumed = await request(app).post("/auth/signinup/code/consume").send({
          preAuthSessionId: created.body.preAuthSessionId,
          deviceId: created.body.deviceId,
          userInputCode: sent[0].userInputCode,
        });
        assert.equal(consumed.body.status, "OK", JSON.stringify(consumed.body));
        assert.deepEqual(consumed.body.user.phoneNumbers, ["+14155552671"]);
        const exists = await request(app)
          .get("/auth/passwordless/phonenumber/exists")
          .query({ phoneNumber: "+14155552671" });
        assert.deepEqual(exists.body, { status: "OK", exists: true });
      });
    }
  });
}

describe("Passwordless core API input checks", () => {
  it("answers the core's 400s for malformed requests", async () => {
    const uri = await createCoreApp(cores.memory.url);
    const post = (path: string, body: unknown) =>
      fetch(`${uri}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", rid: "passwordless" },
        body: JSON.stringify(body),
      }).then(async (r) => [r.status, await r.text()]);
    assert.deepEqual(
      await post("/public/recipe/signinup/code", { email: "a@example.com", phoneNumber: "+14155550100" }),
      [400, "Please provide exactly one of email, phoneNumber or deviceId\n"],
    );
    assert.deepEqual(await post("/public/recipe/signinup/code", { email: "a@example.com", userInputCode: "" }), [
      400,
      "userInputCode cannot be an empty string.\n",
    ]);
    assert.deepEqual(
      await post("/public/recipe/signinup/code/consume", { preAuthSessionId: "x", linkCode: "y", deviceId: "z" }),
      [400, "Please provide exactly one of linkCode or deviceId+userInputCode\n"],
    );
    assert.deepEqual(
      await post("/public/recipe/signinup/code/consume", {
        preAuthSessionId: "x",
        deviceId: "not base64!",
        userInputCode: "1",
      }),
      [400, "Input encoding error in deviceId\n"],
    );
    assert.deepEqual(await post("/public/recipe/signinup/codes/remove", {}), [
      400,
      "Please provide exactly one of email or phoneNumber\n",
    ]);
    const list = await fetch(`${uri}/public/recipe/signinup/codes?email=a@example.com&phoneNumber=1`);
    assert.equal(list.status, 400);
  });
});

describe("Passwordless on PostgreSQL: the plugin's tables", () => {
  it("keeps attempts in passwordless_devices and passwordless_codes, with the plugin's keys", async () => {
    const { appId } = await setup(cores.postgres);
    const code = await createCodeOk({ email: "rows@example.com" });
    const devices = await pool.query(
      `SELECT app_id, tenant_id, device_id_hash, email, phone_number, failed_attempts
         FROM "${schema}".passwordless_devices WHERE app_id = $1`,
      [appId],
    );
    assert.deepEqual(devices.rows, [
      {
        app_id: appId,
        tenant_id: "public",
        device_id_hash: `${code.preAuthSessionId} `, // CHAR(44) pads the 43-character hash
        email: "rows@example.com",
        phone_number: null,
        failed_attempts: 0,
      },
    ]);
    const codes = await pool.query(`SELECT code_id, created_at FROM "${schema}".passwordless_codes WHERE app_id = $1`, [
      appId,
    ]);
    assert.deepEqual(codes.rows, [{ code_id: code.codeId, created_at: String(code.timeCreated) }]);
    const constraints = await pool.query(
      `SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
         WHERE n.nspname = $1 AND conname LIKE 'passwordless_codes%' OR n.nspname = $1 AND conname LIKE
         'passwordless_devices%' ORDER BY conname`,
      [schema],
    );
    assert.deepEqual(
      constraints.rows.map((r: { conname: string }) => r.conname),
      [
        "passwordless_codes_device_id_hash_fkey",
        "passwordless_codes_link_code_hash_key",
        "passwordless_codes_pkey",
        "passwordless_devices_pkey",
        "passwordless_devices_tenant_id_fkey",
      ],
    );
  });
});

describe("PasswordlessCodeStorage, the same on every backend", () => {
  const backends: { name: string; open(): Promise<{ storage: CoreStorage; close(): Promise<void> }> }[] = [
    { name: "MemoryStorage", open: async () => ({ storage: new MemoryStorage(), close: async () => {} }) },
    {
      name: "PostgresStorage on pg.Pool",
      open: async () => ({ storage: await PostgresStorage.create(pool, { schema }), close: async () => {} }),
    },
    {
      name: "PostgresStorage on PGlite",
      async open() {
        const db = new PGlite();
        return { storage: await PostgresStorage.create(db, { schema: "core" }), close: () => db.close() };
      },
    },
  ];
  const device = (tenantId: string, hash: string, contact: { email: string } | { phoneNumber: string }) => ({
    tenantId,
    deviceIdHash: hash,
    ...contact,
    linkCodeSalt: Buffer.alloc(32, 1).toString("base64"),
    failedAttempts: 0,
  });
  const code = (tenantId: string, hash: string, codeId: string, linkCodeHash: string, createdAt = Date.now()) => ({
    tenantId,
    codeId,
    deviceIdHash: hash,
    linkCodeHash,
    createdAt,
  });

  for (const backend of backends) {
    it(`${backend.name}: collisions, consume, failed attempts, removal`, async () => {
      const { storage, close } = await backend.open();
      try {
        const appId = `a${uniqueId()}`;
        await storage.putApp({ appId, coreConfig: {}, createdAt: Date.now() });
        await storage.putTenant(appId, { tenantId: "public", coreConfig: {} });
        const s = storage.app(appId).passwordlessCodes;
        const id = () => randomUUID();
        const c1 = id();
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d1", { email: "x@example.com" }),
            code("public", "d1", c1, "h1"),
          ),
          "OK",
        );
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d1", { email: "y@example.com" }),
            code("public", "d1", id(), "h9"),
          ),
          "DEVICE_EXISTS",
        );
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d2", { email: "x@example.com" }),
            code("public", "d2", c1, "h2"),
          ),
          "CODE_ID_EXISTS",
        );
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d2", { email: "x@example.com" }),
            code("public", "d2", id(), "h1"),
          ),
          "LINK_CODE_HASH_EXISTS",
        );
        assert.equal(await s.getDevice("public", "d2"), undefined, "a refused device leaves nothing behind");
        assert.equal(await s.createCode(code("public", "nope", id(), "h3")), "UNKNOWN_DEVICE");
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d2", { email: "x@example.com" }),
            code("public", "d2", id(), "h2"),
          ),
          "OK",
        );
        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d3", { phoneNumber: "+14155550100" }),
            code("public", "d3", id(), "h3"),
          ),
          "OK",
        );

        assert.equal(await s.recordFailedAttempt("public", "d3", 1, 5), "CHANGED");
        assert.equal(await s.recordFailedAttempt("public", "d3", 0, 5), "INCREMENTED");
        assert.equal((await s.getDevice("public", "d3"))?.failedAttempts, 1);
        assert.equal(await s.recordFailedAttempt("public", "d3", 1, 2), "DELETED");
        assert.equal(await s.getDevice("public", "d3"), undefined);

        assert.equal(await s.consumeDevice("public", "d1", "h2", 0, 5), undefined, "another device's code");
        assert.equal(await s.consumeDevice("public", "d1", "h1", Date.now() + 60_000, 5), undefined, "expired");
        const consumed = await s.consumeDevice("public", "d1", "h1", 0, 5);
        assert.equal(consumed?.email, "x@example.com");
        assert.deepEqual(await s.listDevicesByEmail("public", "x@example.com"), [], "every device of the email");
        assert.equal(await s.consumeDevice("public", "d1", "h1", 0, 5), undefined, "only once");

        assert.equal(
          await s.createDeviceWithCode(
            device("public", "d4", { email: "z@example.com" }),
            code("public", "d4", "c4a", "h4a", 1),
          ),
          "OK",
        );
        assert.equal(await s.createCode(code("public", "d4", "c4b", "h4b", 2)), "OK");
        assert.deepEqual(
          (await s.listCodesOfDevice("public", "d4")).map((c) => c.codeId),
          ["c4a", "c4b"],
        );
        await s.removeCode("public", "c4a");
        assert.equal((await s.getDevice("public", "d4"))?.email, "z@example.com");
        await s.removeCode("public", "c4b");
        assert.equal(await s.getDevice("public", "d4"), undefined, "the device goes with its last code");
        await s.deleteDevicesByPhoneNumber(["public"], "+14155550100");
      } finally {
        await close();
      }
    });
  }
});
