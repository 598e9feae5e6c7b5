import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import pg from "pg";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import { createPgLegacyUsers, legacyAuth, PENDING_EMAIL_DOMAIN, type LegacyAuth } from "../../lib/auth/index.js";
import { resolveLegacyAuthOptions } from "../../lib/auth/options.js";
import { LegacyAuthRuntime } from "../../lib/auth/runtime.js";
import { moveUser } from "../../lib/auth/import-user.js";
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
import { createCoreApp } from "../helpers/sdk.js";
import { closedPort, uniqueId } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const PASSWORD = "correct horse battery staple";
const MAP = /^POST \/appid-[^/]+\/recipe\/userid\/map$/;

let core: DevCore;
let proxy: TcpProxy;
let legacy: LegacyTable;
let uri: string;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  // The SDK talks to the core through this proxy, so the core can "go down" while its in-memory data lives on.
  proxy = await startTcpProxy({ host: "127.0.0.1", port: core.port });
  legacy = await createLegacyTable();
});
after(async () => {
  await legacy.drop();
  await proxy.close();
  await core.close();
});
beforeEach(async () => {
  proxy.restore();
  uri = await createCoreApp(proxy.url);
  await legacy.clear();
});

function setup(): AuthApp & { auth: LegacyAuth } {
  const auth = legacyAuth({ ...createPgLegacyUsers({ pool: legacy.pool, table: legacy.table }) });
  return { ...startAuthApp(uri, auth), auth };
}

async function legacyUser(cost = 10) {
  const email = `user-${uniqueId()}@example.com`;
  const passwordHash = await bcrypt.hash(PASSWORD, cost);
  return { id: await legacy.insert({ email, passwordHash }), email, passwordHash };
}

/** Every user of the test's core app, straight from the core's storage. */
async function coreUsers() {
  return appStorage(core, uri).listUsers({ tenantId: "public", order: "ASC", limit: 1000 });
}

async function assertNoHalfUser(user: { id: string; email: string }) {
  const users = await coreUsers();
  assert.deepEqual(
    users.filter((u) => u.email === user.email),
    [],
    "no SuperTokens user has the email",
  );
  assert.equal(await appStorage(core, uri).getMapping(user.id, "EXTERNAL"), undefined, "no mapping for the legacy id");
}

describe("legacyAuth under faults and races", () => {
  describe("when two first sign-ins of one legacy user race", () => {
    it("in one process: both succeed, one SuperTokens user, one mapping, no placeholder left", async () => {
      const { app } = setup();
      const user = await legacyUser();
      const results = await Promise.all(Array.from({ length: 6 }, () => signIn(app, user.email, PASSWORD)));
      for (const r of results) {
        assert.equal(r.status, 200);
        assert.equal(r.userId, user.id);
      }
      const users = await coreUsers();
      assert.equal(users.length, 1);
      assert.equal(users[0].email, user.email);
      assert.equal((await appStorage(core, uri).getMapping(user.id, "EXTERNAL"))?.superTokensUserId, users[0].id);
    });

    it("across processes (no shared lock): the core's unique mapping picks one winner, losers clean up", async () => {
      setup();
      const user = await legacyUser();
      // Separate runtimes stand in for separate processes: each has its own in-process lock.
      const runtimes = Array.from({ length: 5 }, () => {
        const rt = new LegacyAuthRuntime(
          resolveLegacyAuthOptions(createPgLegacyUsers({ pool: legacy.pool, table: legacy.table })),
        );
        return rt;
      });
      const unusedRaw = { createNewRecipeUser: async () => assert.fail("hash imports need no password") };
      const outcomes = await Promise.all(
        runtimes.map((rt) =>
          moveUser(rt.core, unusedRaw, {
            tenantId: "public",
            email: user.email,
            legacyId: user.id,
            credential: { kind: "hash", passwordHash: user.passwordHash, algorithm: "bcrypt" },
          }),
        ),
      );
      assert.equal(
        outcomes.filter((o) => o.status === "MOVED").length,
        1,
        JSON.stringify(outcomes.map((o) => o.status)),
      );
      for (const o of outcomes) assert.ok(["MOVED", "RESUMED", "IN_SUPERTOKENS"].includes(o.status));
      const users = await coreUsers();
      assert.equal(users.length, 1, "the losers' placeholders are gone");
      assert.equal(users[0].email, user.email);
      assert.equal((await EmailPassword.signIn("public", user.email, PASSWORD)).status, "OK");
    });
  });

  describe("when the core fails in the middle of a move", () => {
    it("before the mapping reaches it: the placeholder is rolled back and the next sign-in works", async () => {
      const { app } = setup();
      const user = await legacyUser();
      proxy.failNext(MAP, "drop");
      const failed = await request(app)
        .post("/auth/signin")
        .send(form({ email: user.email, password: PASSWORD }));
      assert.equal(failed.status, 503);
      assert.deepEqual(failed.body, { code: "ERR_MIGRATE_CORE_UNAVAILABLE" });
      assert.equal(failed.headers["retry-after"], "1");
      assert.deepEqual(await coreUsers(), [], "nothing left behind");
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });

    it("after the mapping, then down: the user is unusable until the next attempt finishes the move", async () => {
      const { app, auth } = setup();
      const user = await legacyUser();
      proxy.failNext(MAP, "lose-response", { thenCut: true });
      const failed = await request(app)
        .post("/auth/signin")
        .send(form({ email: user.email, password: PASSWORD }));
      assert.ok(failed.status >= 500);
      proxy.restore();
      // Mapped but still under its pending address: nobody can sign up over it, it counts as existing.
      const [pending] = await coreUsers();
      assert.ok(pending.email?.endsWith(`@${PENDING_EMAIL_DOMAIN}`));
      assert.equal(
        (await EmailPassword.signUp("public", user.email, "attacker password 1")).status,
        "EMAIL_ALREADY_EXISTS_ERROR",
      );
      assert.deepEqual((await request(app).get("/auth/emailpassword/email/exists").query({ email: user.email })).body, {
        status: "OK",
        exists: true,
      });
      assert.deepEqual(await auth.migrationProgress(), {
        moved: 1,
        legacyOnly: 0,
        total: 1,
        byLoginMethod: { emailpassword: 1, thirdparty: 0, passwordless: 0 },
        byThirdPartyProvider: {},
      });
      // The next sign-in resumes: one user, the legacy id, the legacy hash.
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
      const users = await coreUsers();
      assert.equal(users.length, 1);
      assert.equal(users[0].email, user.email);
      assert.equal(users[0].recipeId === "emailpassword" && users[0].passwordHash, user.passwordHash);
    });

    it("after the placeholder, then down: an invisible orphan that finishPendingMigrations removes", async () => {
      const { app, auth } = setup();
      const user = await legacyUser();
      proxy.failNext(MAP, "drop", { thenCut: true });
      const failed = await request(app)
        .post("/auth/signin")
        .send(form({ email: user.email, password: PASSWORD }));
      assert.ok(failed.status >= 500);
      proxy.restore();
      assert.equal((await coreUsers()).length, 1, "the unmapped placeholder could not be rolled back");
      assert.equal(await auth.getUserCount(), 1, "the orphan is nobody: one legacy-only user");
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
      assert.equal((await coreUsers()).length, 2);
      assert.deepEqual(await auth.finishPendingMigrations({ minAgeMs: 0 }), { resumed: 0, removed: 1, left: 0 });
      const users = await coreUsers();
      assert.deepEqual(
        users.map((u) => u.email),
        [user.email],
      );
      assert.equal(await auth.getUserCount(), 1);
    });

    it("finishPendingMigrations completes an interrupted move without a sign-in", async () => {
      const { app, auth } = setup();
      const user = await legacyUser();
      proxy.failNext(MAP, "lose-response", { thenCut: true });
      await request(app)
        .post("/auth/signin")
        .send(form({ email: user.email, password: PASSWORD }));
      proxy.restore();
      assert.deepEqual(await auth.finishPendingMigrations(), { resumed: 1, removed: 0, left: 0 });
      const stUser = await supertokens.getUser(user.id);
      assert.deepEqual(stUser?.emails, [user.email]);
    });
  });

  describe("when the core is down between the reset request and its completion", () => {
    it(
      "the completion fails cleanly, nothing is half-created, the old password still works, and the link works " +
        "later",
      async () => {
        const { app, emails } = setup();
        const user = await legacyUser();
        const requested = await request(app)
          .post("/auth/user/password/reset/token")
          .send(form({ email: user.email }));
        assert.deepEqual(requested.body, { status: "OK" });
        const token = new URL(emails[0].passwordResetLink).searchParams.get("token")!;

        proxy.cut();
        const failed = await request(app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "my new password 1" }), token });
        assert.equal(failed.status, 503);
        assert.deepEqual(failed.body, { code: "ERR_MIGRATE_CORE_UNAVAILABLE" });
        proxy.restore();
        await assertNoHalfUser(user);

        // The old password still works (and moves the user), and the link still completes the reset afterwards.
        assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
        const done = await request(app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "my new password 1" }), token });
        assert.deepEqual(done.body, { status: "OK" });
        assert.equal((await signIn(app, user.email, PASSWORD)).body.status, "WRONG_CREDENTIALS_ERROR");
        assert.equal((await signIn(app, user.email, "my new password 1")).userId, user.id);
      },
    );

    it(
      "a fault inside the completion (after the mapping) counts as completed, and the same link still " + "works",
      async () => {
        const { app, emails } = setup();
        const user = await legacyUser();
        await request(app)
          .post("/auth/user/password/reset/token")
          .send(form({ email: user.email }));
        const token = new URL(emails[0].passwordResetLink).searchParams.get("token")!;
        proxy.failNext(MAP, "lose-response", { thenCut: true });
        const failed = await request(app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "my new password 2" }), token });
        assert.ok(failed.status >= 500);
        proxy.restore();
        // The core created the user with the new password before the fault: the next attempt finishes the move,
        // and SuperTokens then decides with that password. Never a user under a random id, never two users.
        assert.equal(
          (await EmailPassword.verifyCredentials("public", user.email, PASSWORD)).status,
          "WRONG_CREDENTIALS_ERROR",
        );
        assert.equal((await signIn(app, user.email, "my new password 2")).userId, user.id);
        const done = await request(app)
          .post("/auth/user/password/reset")
          .send({ ...form({ password: "my new password 3" }), token });
        assert.deepEqual(done.body, { status: "OK" });
        assert.equal((await signIn(app, user.email, "my new password 3")).userId, user.id);
        assert.equal((await coreUsers()).length, 1);
      },
    );

    it("a reset request while the core is down fails without creating anything", async () => {
      const { app, emails } = setup();
      const user = await legacyUser();
      proxy.cut();
      const failed = await request(app)
        .post("/auth/user/password/reset/token")
        .send(form({ email: user.email }));
      assert.ok(failed.status >= 500);
      proxy.restore();
      assert.equal(emails.length, 0);
      await assertNoHalfUser(user);
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });
  });

  describe("when the core cannot be reached (issue 11, item 9)", () => {
    it(
      "sign-in, sign-up, email-exists and password reset all answer 503 with Retry-After, and " +
        "work again once it is back",
      async () => {
        const { app } = setup();
        const user = await legacyUser();
        const stEmail = `st-${uniqueId()}@example.com`;
        assert.equal((await EmailPassword.signUp("public", stEmail, PASSWORD)).status, "OK");
        const reset = await EmailPassword.createResetPasswordToken(
          "public",
          (await supertokens.listUsersByAccountInfo("public", { email: stEmail }))[0].id,
          stEmail,
        );
        assert.equal(reset.status, "OK");
        proxy.cut();
        const answers = {
          "legacy sign-in": await request(app)
            .post("/auth/signin")
            .send(form({ email: user.email, password: PASSWORD })),
          "SuperTokens sign-in": await request(app)
            .post("/auth/signin")
            .send(form({ email: stEmail, password: PASSWORD })),
          "sign-up": await request(app)
            .post("/auth/signup")
            .send(form({ email: `new-${uniqueId()}@example.com`, password: "a new password 1" })),
          "email-exists": await request(app).get("/auth/emailpassword/email/exists").query({ email: user.email }),
          "reset request": await request(app)
            .post("/auth/user/password/reset/token")
            .send(form({ email: stEmail })),
          "reset completion": await request(app)
            .post("/auth/user/password/reset")
            .send({ ...form({ password: "my new password 1" }), token: reset.status === "OK" ? reset.token : "" }),
        };
        for (const [path, res] of Object.entries(answers)) {
          assert.equal(res.status, 503, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
          assert.equal(res.headers["retry-after"], "1", path);
          assert.deepEqual(res.body, { code: "ERR_MIGRATE_CORE_UNAVAILABLE" }, path);
        }
        proxy.restore();
        assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
        assert.equal((await signIn(app, stEmail, PASSWORD)).body.status, "OK");
      },
    );

    it("a core that goes away in the middle of a sign-up answers 503, not 500", async () => {
      const { app } = setup();
      // Our legacy check passes, then the SDK's own account creation finds the core gone.
      proxy.failNext(/^POST \/appid-[^/]+\/public\/recipe\/signup$/, "drop", { thenCut: true });
      const res = await request(app)
        .post("/auth/signup")
        .send(form({ email: `new-${uniqueId()}@example.com`, password: "a new password 1" }));
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(res.headers["retry-after"], "1");
    });
  });

  describe("when the legacy store is down", () => {
    it("legacy sign-ins and sign-ups answer 503 (failing closed), SuperTokens users sign in unaffected", async () => {
      let down = false;
      const flaky = {
        query: (text: string, values?: unknown[]) =>
          down ? Promise.reject(new Error("connect ECONNREFUSED")) : legacy.pool.query(text, values),
      };
      const auth = legacyAuth({ ...createPgLegacyUsers({ pool: flaky, table: legacy.table }) });
      const { app } = startAuthApp(uri, auth);
      const stEmail = `st-${uniqueId()}@example.com`;
      assert.equal((await EmailPassword.signUp("public", stEmail, PASSWORD)).status, "OK");
      const user = await legacyUser();
      down = true;
      assert.equal((await signIn(app, stEmail, PASSWORD)).body.status, "OK");
      const failed = await request(app)
        .post("/auth/signin")
        .send(form({ email: user.email, password: PASSWORD }));
      assert.equal(failed.status, 503);
      assert.deepEqual(failed.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
      const signUp = await request(app)
        .post("/auth/signup")
        .send(form({ email: user.email, password: "attacker password 1" }));
      assert.equal(signUp.status, 503, "no sign-up while we cannot tell whether the email is a legacy user's");
      down = false;
      assert.equal((await signIn(app, user.email, PASSWORD)).userId, user.id);
    });

    it("a real pg pool that cannot connect maps to ERR_MIGRATE_STORE_UNAVAILABLE", async () => {
      const dead = new pg.Pool({
        connectionString: `postgres://x:y@127.0.0.1:${await closedPort()}/db`,
        connectionTimeoutMillis: 500,
      });
      try {
        const { app } = startAuthApp(uri, legacyAuth({ ...createPgLegacyUsers({ pool: dead, table: "users" }) }));
        const failed = await request(app)
          .post("/auth/signin")
          .send(form({ email: `x-${uniqueId()}@example.com`, password: PASSWORD }));
        assert.equal(failed.status, 503);
        assert.deepEqual(failed.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
      } finally {
        await dead.end();
      }
    });
  });
});
