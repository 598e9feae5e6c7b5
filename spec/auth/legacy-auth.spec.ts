import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { format } from "node:util";
import bcrypt from "bcrypt";
import createDebug from "debug";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import {
  createPgLegacyUsers,
  legacyAuth,
  type LegacyAuth,
  type LegacyAuthOptions,
  type UserMigratedEvent,
} from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import {
  appStorage,
  createLegacyTable,
  form,
  signIn,
  startAuthApp,
  type AuthApp,
  type LegacyTable,
} from "../helpers/legacy-auth.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";

// Every debug line of the file, to check the decisions are logged and that no secret ever is (T19).
const debugLines: string[] = [];
createDebug.enable("supertokens-migrate:*");
createDebug.log = (...args: unknown[]) => debugLines.push(format(...args));

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

const PASSWORD = "correct horse battery staple";
const email = () => `user-${uniqueId()}@example.com`;

function setup(extra: Partial<LegacyAuthOptions> = {}): AuthApp & { auth: LegacyAuth; lookups: string[] } {
  const store = createPgLegacyUsers({ pool: legacy.pool, table: legacy.table });
  const lookups: string[] = [];
  const auth = legacyAuth({
    ...store,
    findUserByEmail: async (address, tenantId) => {
      lookups.push(address);
      return store.findUserByEmail(address, tenantId);
    },
    ...extra,
  });
  return { ...startAuthApp(uri, auth), auth, lookups };
}

async function legacyUser(address = email(), password = PASSWORD, cost = 10) {
  const passwordHash = await bcrypt.hash(password, cost);
  const id = await legacy.insert({ email: address, passwordHash });
  return { id, email: address, passwordHash };
}

describe("legacyAuth", () => {
  describe("when a legacy user signs in for the first time", () => {
    it("moves them into SuperTokens under their legacy id, with their legacy hash unchanged", async () => {
      const { app } = setup();
      const user = await legacyUser();
      const res = await signIn(app, user.email, PASSWORD);
      assert.equal(res.body.status, "OK");
      assert.equal(res.body.user.id, user.id);
      assert.equal(res.userId, user.id, "the session reports the legacy id");

      const stUser = await supertokens.getUser(user.id);
      assert.ok(stUser);
      assert.deepEqual(stUser.emails, [user.email]);
      assert.equal(stUser.loginMethods[0].recipeUserId.getAsString(), user.id);
      const mapping = await supertokens.getUserIdMapping({ userId: user.id, userIdType: "EXTERNAL" });
      assert.equal(mapping.status, "OK");
      const [stored] = await appStorage(core, uri).findUsersByEmail(user.email, "public");
      assert.equal(stored.passwordHash, user.passwordHash, "imported byte for byte: no second hash, no weaker cost");

      // From now on SuperTokens alone decides: it works with the legacy row gone.
      await legacy.remove(user.id);
      const again = await signIn(app, user.email, PASSWORD);
      assert.equal(again.userId, user.id);
    });

    it("accepts the email in another case and with spaces, and stores it normalised", async () => {
      const { app } = setup();
      const user = await legacyUser(`Mixed.Case-${uniqueId()}@Example.com`);
      const res = await signIn(app, `  ${user.email.toUpperCase()} `, PASSWORD);
      assert.equal(res.userId, user.id);
      assert.deepEqual((await supertokens.getUser(user.id))!.emails, [user.email.toLowerCase()]);
    });

    it("works through the programmatic EmailPassword.signIn and verifyCredentials too", async () => {
      setup();
      const user = await legacyUser();
      const checked = await EmailPassword.verifyCredentials("public", user.email, PASSWORD);
      assert.equal(checked.status, "OK");
      const other = await legacyUser();
      const res = await EmailPassword.signIn("public", other.email, PASSWORD);
      assert.equal(res.status, "OK");
      assert.equal(res.status === "OK" && res.user.id, other.id);
      assert.equal(res.status === "OK" && res.recipeUserId.getAsString(), other.id);
      assert.equal((await EmailPassword.signIn("public", other.email, "nope")).status, "WRONG_CREDENTIALS_ERROR");
    });

    it("calls onUserMigrated once, without password or hash", async () => {
      const events: UserMigratedEvent[] = [];
      const { app } = setup({ onUserMigrated: (e) => void events.push(e) });
      const user = await legacyUser();
      await signIn(app, user.email, PASSWORD);
      await signIn(app, user.email, PASSWORD);
      assert.equal(events.length, 1);
      assert.equal(events[0].userId, user.id);
      assert.equal(events[0].via, "signIn");
      assert.equal(events[0].hashImported, true);
      assert.ok(!JSON.stringify(events[0]).includes(user.passwordHash));
    });

    it("still answers OK when onUserMigrated throws (the user is already moved)", async () => {
      const { app } = setup({ onUserMigrated: () => Promise.reject(new Error("hook down")) });
      const user = await legacyUser();
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });

    it("answers WRONG_CREDENTIALS_ERROR for a wrong password and moves nothing", async () => {
      const { app } = setup();
      const user = await legacyUser();
      const res = await signIn(app, user.email, "wrong password");
      assert.deepEqual(res.body, { status: "WRONG_CREDENTIALS_ERROR" });
      assert.equal(await supertokens.getUser(user.id), undefined);
      assert.equal(await supertokens.getUserCount(), 0);
    });
  });

  describe("when SuperTokens already has the user", () => {
    it("decides alone: the legacy table is not consulted", async () => {
      const { app, lookups } = setup();
      const address = email();
      const created = await EmailPassword.signUp("public", address, PASSWORD);
      assert.equal(created.status, "OK");
      lookups.length = 0;
      assert.equal((await signIn(app, address, PASSWORD)).body.status, "OK");
      assert.equal((await signIn(app, address, "wrong")).body.status, "WRONG_CREDENTIALS_ERROR");
      assert.deepEqual(lookups, []);
    });

    it("never overwrites a password changed in SuperTokens with the legacy one", async () => {
      const { app } = setup();
      const user = await legacyUser();
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
      const changed = await EmailPassword.updateEmailOrPassword({
        recipeUserId: supertokens.convertToRecipeUserId(user.id),
        password: "a brand new password 1",
      });
      assert.equal(changed.status, "OK");
      // The legacy row still holds the old hash; a later attempt with the old password must not revive it.
      assert.equal((await signIn(app, user.email, PASSWORD)).body.status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await EmailPassword.signIn("public", user.email, PASSWORD)).status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await signIn(app, user.email, "a brand new password 1")).userId, user.id);
      const [stored] = await appStorage(core, uri).findUsersByEmail(user.email, "public");
      assert.notEqual(stored.passwordHash, user.passwordHash);
    });

    it("does not import the stale row again after the user changed their email in SuperTokens", async () => {
      const { app } = setup();
      const user = await legacyUser();
      await signIn(app, user.email, PASSWORD);
      const renamed = email();
      await EmailPassword.updateEmailOrPassword({
        recipeUserId: supertokens.convertToRecipeUserId(user.id),
        email: renamed,
      });
      assert.deepEqual((await signIn(app, user.email, PASSWORD)).body, { status: "WRONG_CREDENTIALS_ERROR" });
      assert.equal((await signIn(app, renamed, PASSWORD)).userId, user.id);
      assert.equal(await supertokens.getUserCount(), 1);
    });
  });

  describe("when the email is unknown or the password wrong", () => {
    it("answers the same body and headers, in the same time (medians within 10 %)", async (t) => {
      const { app } = setup();
      const user = await legacyUser(email(), PASSWORD, 10);
      const attempt = async (address: string, password: string) => {
        const start = performance.now();
        const res = await request(app)
          .post("/auth/signin")
          .send(form({ email: address, password }));
        return { ms: performance.now() - start, res };
      };
      // Warm up both paths (the dummy hash, connections, JIT).
      for (let i = 0; i < 3; i++) {
        await attempt(user.email, "warm-up");
        await attempt(email(), "warm-up");
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      // 20 pairs, interleaved and alternating which class goes first, so drift in machine load hits both alike.
      // The suite shares its machine with other work, so a noisy round may be re-measured twice; a real gap of
      // 10 % or more fails every round.
      const round = async () => {
        const wrong: number[] = [];
        const unknown: number[] = [];
        const responses: request.Response[] = [];
        for (let i = 0; i < 20; i++) {
          const runWrong = () => attempt(user.email, `wrong-${i}`);
          const runUnknown = () => attempt(email(), `wrong-${i}`);
          let a, b;
          if (i % 2 === 0) {
            a = await runWrong();
            b = await runUnknown();
          } else {
            b = await runUnknown();
            a = await runWrong();
          }
          wrong.push(a.ms);
          unknown.push(b.ms);
          responses.splice(0, 2, a.res, b.res);
        }
        return { mw: median(wrong), mu: median(unknown), wrongRes: responses[0], unknownRes: responses[1] };
      };
      const within = (r: { mw: number; mu: number }) => Math.abs(r.mw - r.mu) <= 0.1 * Math.max(r.mw, r.mu);
      let result = await round();
      t.diagnostic(`median wrong password ${result.mw.toFixed(1)} ms, unknown email ${result.mu.toFixed(1)} ms`);
      for (let retry = 0; retry < 2 && !within(result); retry++) {
        result = await round();
        t.diagnostic(
          `re-measured: median wrong password ${result.mw.toFixed(1)} ms, unknown email ${result.mu.toFixed(1)} ms`,
        );
      }
      const { mw, mu, wrongRes, unknownRes } = result;
      assert.equal(wrongRes.status, unknownRes.status);
      assert.deepEqual(wrongRes.body, { status: "WRONG_CREDENTIALS_ERROR" });
      assert.deepEqual(unknownRes.body, wrongRes.body);
      const headers = (r: request.Response) =>
        Object.fromEntries(Object.entries(r.headers).filter(([k]) => k !== "date"));
      assert.deepEqual(headers(unknownRes), headers(wrongRes));
      assert.ok(within(result), `medians: wrong password ${mw.toFixed(1)} ms, unknown email ${mu.toFixed(1)} ms`);
      assert.ok(mu > 20, `an unknown email must pay for a cost-10 bcrypt (median ${mu.toFixed(1)} ms)`);
    });
  });

  describe("when someone signs up with an email that exists only in the legacy table", () => {
    it("refuses through the API with SuperTokens' own field error, whatever the case or spaces", async () => {
      const { app } = setup();
      const user = await legacyUser();
      for (const variant of [user.email, user.email.toUpperCase(), `  ${user.email} `]) {
        const res = await request(app)
          .post("/auth/signup")
          .send(form({ email: variant, password: "attacker password 1" }));
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, {
          status: "FIELD_ERROR",
          formFields: [{ id: "email", error: "This email already exists. Please sign in instead." }],
        });
      }
      assert.equal(await supertokens.getUserCount(), 0, "no account created");
      // The owner still signs in with the legacy password and keeps the legacy id.
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });

    it("refuses the programmatic EmailPassword.signUp with EMAIL_ALREADY_EXISTS_ERROR", async () => {
      setup();
      const user = await legacyUser();
      assert.equal(
        (await EmailPassword.signUp("public", user.email, "attacker password 1")).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      assert.equal(await supertokens.getUserCount(), 0);
    });

    it("answers as SuperTokens does for an email it has (byte-identical)", async () => {
      const { app } = setup();
      const user = await legacyUser();
      const taken = email();
      await EmailPassword.signUp("public", taken, PASSWORD);
      const a = await request(app)
        .post("/auth/signup")
        .send(form({ email: user.email, password: "attacker password 1" }));
      const b = await request(app)
        .post("/auth/signup")
        .send(form({ email: taken, password: "attacker password 1" }));
      assert.equal(a.text, b.text);
    });

    it("still lets a new email sign up", async () => {
      const { app } = setup();
      const res = await request(app)
        .post("/auth/signup")
        .send(form({ email: email(), password: "new user password 1" }));
      assert.equal(res.body.status, "OK");
    });
  });

  describe("when several legacy rows share an email after normalisation", () => {
    it("moves none of them, refuses sign-up, reports the email as existing, and sends no reset email", async () => {
      const ctx = setup();
      const address = email();
      await legacyUser(address);
      await legacyUser(address.toUpperCase());
      assert.deepEqual((await signIn(ctx.app, address, PASSWORD)).body, { status: "WRONG_CREDENTIALS_ERROR" });
      assert.equal(
        (await EmailPassword.signUp("public", address, "attacker password 1")).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      assert.deepEqual(
        (await request(ctx.app).get("/auth/emailpassword/email/exists").query({ email: address })).body,
        { status: "OK", exists: true },
      );
      const reset = await request(ctx.app)
        .post("/auth/user/password/reset/token")
        .send(form({ email: address }));
      assert.deepEqual(reset.body, { status: "OK" });
      assert.equal(ctx.emails.length, 0);
      assert.equal(await supertokens.getUserCount(), 0);
      assert.ok(debugLines.some((l) => /2 rows for .* after normalisation; refusing/.test(l)));
    });
  });

  describe("the reserved pending-address domain", () => {
    it("can be neither signed up nor signed in with", async () => {
      const { app } = setup();
      const reserved = `${uniqueId()}@pending.supertokens-migrate.invalid`;
      const res = await request(app)
        .post("/auth/signup")
        .send(form({ email: reserved, password: "some password 1" }));
      assert.equal(res.body.status, "FIELD_ERROR");
      assert.equal((await signIn(app, reserved, "some password 1")).body.status, "WRONG_CREDENTIALS_ERROR");
    });
  });

  describe("the email-exists API", () => {
    it("answers true for legacy-only and SuperTokens emails, false for unknown ones, on both paths", async () => {
      const { app } = setup();
      const user = await legacyUser();
      const stEmail = email();
      await EmailPassword.signUp("public", stEmail, PASSWORD);
      for (const path of ["/auth/emailpassword/email/exists", "/auth/signup/email/exists"]) {
        const exists = async (address: string) => (await request(app).get(path).query({ email: address })).body;
        assert.deepEqual(await exists(user.email), { status: "OK", exists: true });
        assert.deepEqual(await exists(user.email.toUpperCase()), { status: "OK", exists: true });
        assert.deepEqual(await exists(stEmail), { status: "OK", exists: true });
        assert.deepEqual(await exists(email()), { status: "OK", exists: false });
      }
    });
  });

  describe("password reset for a legacy-only user", () => {
    async function requestReset(ctx: AuthApp, address: string) {
      const res = await request(ctx.app)
        .post("/auth/user/password/reset/token")
        .send(form({ email: address }));
      assert.deepEqual(res.body, { status: "OK" });
      return res;
    }
    const tokenOf = (link: string) => new URL(link).searchParams.get("token")!;

    it(
      "sends the email, changes nothing until the link is used, then moves them with the new password and legacy " +
        "id",
      async () => {
        const events: UserMigratedEvent[] = [];
        const ctx = setup({ onUserMigrated: (e) => void events.push(e) });
        const user = await legacyUser();
        await requestReset(ctx, user.email);
        assert.equal(ctx.emails.length, 1);
        const sent = ctx.emails[0];
        assert.equal(sent.type, "PASSWORD_RESET");
        assert.equal(sent.user.id, user.id);
        assert.equal(sent.user.email, user.email);
        assert.match(
          sent.passwordResetLink,
          /^http:\/\/localhost:3000\/auth\/reset-password\?token=stm1\.[^&]+&tenantId=public$/,
        );
        // No account state change before a valid token (T15).
        assert.equal(await supertokens.getUserCount(), 0);
        assert.equal(
          (await supertokens.getUserIdMapping({ userId: user.id, userIdType: "EXTERNAL" })).status,
          "UNKNOWN_MAPPING_ERROR",
        );

        const done = await request(ctx.app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "my new password 1" }), token: tokenOf(sent.passwordResetLink) });
        assert.deepEqual(done.body, { status: "OK" });
        assert.equal((await signIn(ctx.app, user.email, PASSWORD)).body.status, "WRONG_CREDENTIALS_ERROR");
        assert.equal((await signIn(ctx.app, user.email, "my new password 1")).userId, user.id);
        assert.deepEqual(
          events.map((e) => [e.via, e.userId, e.hashImported]),
          [["passwordReset", user.id, false]],
        );

        // Single use.
        const reuse = await request(ctx.app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "another password 1" }), token: tokenOf(sent.passwordResetLink) });
        assert.deepEqual(reuse.body, { status: "RESET_PASSWORD_INVALID_TOKEN_ERROR" });
      },
    );

    it("keeps the old password working until the reset completes, then applies the reset", async () => {
      const ctx = setup();
      const user = await legacyUser();
      await requestReset(ctx, user.email);
      // The old password still works (and moves the user) while the link is outstanding.
      assert.equal((await signIn(ctx.app, user.email, PASSWORD)).userId, user.id);
      const done = await request(ctx.app)
        .post("/auth/user/password/reset")
        .send({ ...form({ password: "my new password 2" }), token: tokenOf(ctx.emails[0].passwordResetLink) });
      assert.deepEqual(done.body, { status: "OK" });
      assert.equal((await signIn(ctx.app, user.email, PASSWORD)).body.status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await signIn(ctx.app, user.email, "my new password 2")).userId, user.id);
      assert.equal(await supertokens.getUserCount(), 1);
    });

    it("refuses forged, tampered and other-tenant tokens, and applies the password policy", async () => {
      const ctx = setup();
      const user = await legacyUser();
      await requestReset(ctx, user.email);
      const token = tokenOf(ctx.emails[0].passwordResetLink);
      const reset = (t: string, password = "good password 1") =>
        request(ctx.app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password }), token: t });
      const [prefix, id, secret] = token.split(".");
      const flipped = secret.slice(0, -1) + (secret.endsWith("A") ? "B" : "A");
      for (const bad of [
        `${prefix}.${id}.${flipped}`,
        `stm1.${"A".repeat(22)}.${"B".repeat(43)}`,
        "stm1.garbage",
        `${token}x`,
      ]) {
        assert.deepEqual((await reset(bad)).body, { status: "RESET_PASSWORD_INVALID_TOKEN_ERROR" }, bad.slice(0, 12));
      }
      const weak = await reset(token, "short");
      assert.equal(weak.body.status, "FIELD_ERROR");
      assert.equal(await supertokens.getUserCount(), 0);
      assert.deepEqual((await reset(token)).body, { status: "OK" });
    });

    it("marks the email verified on completion when the app uses EmailVerification, as SuperTokens does", async () => {
      const store = createPgLegacyUsers({ pool: legacy.pool, table: legacy.table });
      const ctx = startAuthApp(uri, legacyAuth({ ...store }), { emailVerification: true });
      const user = await legacyUser();
      await requestReset(ctx, user.email);
      await request(ctx.app)
        .post("/auth/user/password/reset")
        .send({ ...form({ password: "my new password 4" }), token: tokenOf(ctx.emails[0].passwordResetLink) });
      assert.equal(
        await EmailVerification.isEmailVerified(supertokens.convertToRecipeUserId(user.id), user.email),
        true,
      );
    });

    it("answers OK and sends nothing for unknown emails; SuperTokens users get SuperTokens' own token", async () => {
      const ctx = setup();
      await requestReset(ctx, email());
      assert.equal(ctx.emails.length, 0);
      const stEmail = email();
      await EmailPassword.signUp("public", stEmail, PASSWORD);
      await requestReset(ctx, stEmail);
      assert.equal(ctx.emails.length, 1);
      assert.doesNotMatch(ctx.emails[0].passwordResetLink, /token=stm1\./);
    });
  });

  describe("helpers over both stores", () => {
    it("find users by id and email in either store, without ever returning a hash", async () => {
      const { app, auth } = setup();
      const moved = await legacyUser();
      const waiting = await legacyUser();
      await signIn(app, moved.email, PASSWORD);
      const native = email();
      const created = await EmailPassword.signUp("public", native, PASSWORD);
      const nativeId = created.status === "OK" ? created.user.id : "";

      assert.equal((await auth.getUserById(moved.id))?.source, "supertokens");
      assert.deepEqual(await auth.getUserById(waiting.id), { source: "legacy", id: waiting.id, email: waiting.email });
      assert.equal((await auth.getUserById(nativeId))?.source, "supertokens");
      assert.equal(await auth.getUserById("999999"), undefined);
      assert.equal(await auth.getUserById("not-a-number"), undefined);

      assert.equal((await auth.getUserByEmail(moved.email.toUpperCase()))?.id, moved.id);
      assert.deepEqual(await auth.getUserByEmail(waiting.email), {
        source: "legacy",
        id: waiting.id,
        email: waiting.email,
      });
      assert.equal((await auth.getUserByEmail(native))?.id, nativeId);
      assert.equal(await auth.getUserByEmail(email()), undefined);
      assert.ok(!JSON.stringify(await auth.getUserById(waiting.id)).includes("$2"));
    });

    it("count each user once and report migration progress", async () => {
      const { app, auth } = setup();
      const users = [await legacyUser(), await legacyUser(), await legacyUser()];
      assert.deepEqual(await auth.migrationProgress(), {
        moved: 0,
        legacyOnly: 3,
        total: 3,
        byLoginMethod: { emailpassword: 0, thirdparty: 0, passwordless: 0 },
        byThirdPartyProvider: {},
      });
      assert.equal(await auth.getUserCount(), 3);
      await signIn(app, users[0].email, PASSWORD);
      await EmailPassword.signUp("public", email(), PASSWORD);
      assert.deepEqual(
        await auth.migrationProgress(),
        {
          moved: 1,
          legacyOnly: 2,
          total: 3,
          byLoginMethod: { emailpassword: 1, thirdparty: 0, passwordless: 0 },
          byThirdPartyProvider: {},
        },
        "the native sign-up is in SuperTokens but moved nobody",
      );
      assert.equal(await auth.getUserCount(), 4, "1 moved + 1 native + 2 legacy-only");
    });

    it("without countLegacyUsers, counting fails with ERR_MIGRATE_MISSING_OPTION", async () => {
      const store = createPgLegacyUsers({ pool: legacy.pool, table: legacy.table });
      const auth = legacyAuth({ findUserByEmail: store.findUserByEmail, findUserById: store.findUserById });
      startAuthApp(uri, auth);
      await assert.rejects(auth.migrationProgress(), { code: "ERR_MIGRATE_MISSING_OPTION" });
    });
  });

  describe("composition with the app's own overrides", () => {
    it(
      "applies the app's overrides on top: they see legacy sign-ins and refused sign-ups as SuperTokens " + "answers",
      async () => {
        const seen: string[] = [];
        const { app } = setup({
          override: {
            functions: (original) => ({
              ...original,
              async signIn(input) {
                const res = await original.signIn(input);
                seen.push(`signIn:${res.status}:${res.status === "OK" ? res.user.id : ""}`);
                return res;
              },
              async signUp(input) {
                const res = await original.signUp(input);
                seen.push(`signUp:${res.status}`);
                return res;
              },
            }),
            apis: (original) => ({
              ...original,
              async signInPOST(input) {
                const res = await original.signInPOST!(input);
                seen.push(`signInPOST:${res.status}`);
                return res;
              },
            }),
          },
        });
        const user = await legacyUser();
        assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
        await request(app)
          .post("/auth/signup")
          .send(form({ email: (await legacyUser()).email, password: "attacker password 1" }));
        assert.deepEqual(seen, [`signIn:OK:${user.id}`, "signInPOST:OK", "signUp:EMAIL_ALREADY_EXISTS_ERROR"]);
      },
    );
  });

  describe("tenants", () => {
    it("stays out of tenants the legacy table does not cover", async () => {
      const { app, lookups } = setup({ tenantIds: ["other"] });
      const user = await legacyUser();
      assert.equal((await signIn(app, user.email, PASSWORD)).body.status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await EmailPassword.signUp("public", user.email, PASSWORD)).status, "OK");
      assert.deepEqual(lookups, []);
    });
  });

  describe("options", () => {
    it("fail at creation, naming the closest valid key or the missing one", () => {
      const store = createPgLegacyUsers({ pool: legacy.pool, table: legacy.table });
      assert.throws(
        () => legacyAuth({ ...store, findUserByEmial: store.findUserByEmail } as never),
        (err: NodeJS.ErrnoException) => {
          assert.equal(err.code, "ERR_MIGRATE_UNKNOWN_OPTION");
          assert.match(err.message, /`findUserByEmial`.*Did you mean `findUserByEmail`/);
          return true;
        },
      );
      assert.throws(() => legacyAuth({ findUserByEmail: store.findUserByEmail }), {
        code: "ERR_MIGRATE_MISSING_OPTION",
        message: /`findUserById` is required/,
      });
      assert.throws(() => legacyAuth({ ...store, tenantIds: [] }), {
        code: "ERR_MIGRATE_INVALID_OPTION",
        message: /tenantIds/,
      });
      assert.throws(() => legacyAuth({ ...store, override: { function: () => ({}) } as never }), {
        code: "ERR_MIGRATE_UNKNOWN_OPTION",
        message: /Did you mean `functions`/,
      });
      assert.throws(() => legacyAuth({ ...store, verifiers: { md5: {} as never } }), {
        code: "ERR_MIGRATE_INVALID_OPTION",
        message: /verifiers\.md5/,
      });
      assert.throws(() => legacyAuth(undefined as never), { code: "ERR_MIGRATE_MISSING_OPTION" });
      assert.throws(() => legacyAuth("users" as never), { code: "ERR_MIGRATE_INVALID_OPTION" });
    });

    it("make EmailPassword.init fail when legacyAuth is passed without being called", () => {
      resetSdk();
      assert.throws(
        () =>
          supertokens.init({
            supertokens: { connectionURI: uri },
            appInfo,
            recipeList: [EmailPassword.init({ override: legacyAuth as never })],
          }),
        { code: "ERR_MIGRATE_FACTORY_NOT_CALLED", message: /without being called: call legacyAuth\(/ },
      );
    });
  });

  describe("logging", () => {
    it("logs each decision and never a password, hash, reset token or full email", async () => {
      const ctx = setup();
      const user = await legacyUser(`canary-${uniqueId()}@example.com`, "Canary-Password-123");
      debugLines.length = 0;
      await signIn(ctx.app, user.email, "Canary-Wrong-456");
      await signIn(ctx.app, `unknown-${uniqueId()}@example.com`, "Canary-Wrong-789");
      await request(ctx.app)
        .post("/auth/signup")
        .send(form({ email: user.email, password: "Canary-Signup-000" }));
      await request(ctx.app)
        .post("/auth/user/password/reset/token")
        .send(form({ email: user.email }));
      const token = new URL(ctx.emails[0].passwordResetLink).searchParams.get("token")!;
      await request(ctx.app)
        .post("/auth/user/password/reset")
        .send({ ...form({ password: "Canary-New-111" }), token });
      await signIn(ctx.app, user.email, "Canary-New-111");
      const ours = debugLines.filter((l) => l.includes("supertokens-migrate:auth"));
      assert.ok(ours.some((l) => /password does not match; wrong credentials/.test(l)));
      assert.ok(ours.some((l) => /in neither store/.test(l)));
      assert.ok(ours.some((l) => /sign-up for .* refused/.test(l)));
      assert.ok(ours.some((l) => /legacy-identity token issued/.test(l)));
      for (const line of ours) {
        for (const secret of [
          "Canary-Password-123",
          "Canary-Wrong",
          "Canary-Signup",
          "Canary-New",
          user.passwordHash,
          token,
          token.split(".")[2],
          user.email,
        ]) {
          assert.ok(!line.includes(secret), `a debug line leaks a secret: ${line}`);
        }
        assert.doesNotMatch(line, /\$2[abxy]\$\d\d\$/);
      }
    });
  });
});
