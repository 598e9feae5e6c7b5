/**
 * The real supertokens-node SDK against a dev core whose storage is PostgresStorage on a real PostgreSQL: the
 * recipes work, the rows land in the SuperTokens core's own table layout, and everything survives a restart.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import pg from "pg";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session from "supertokens-node/recipe/session";
import UserMetadata from "supertokens-node/recipe/usermetadata";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { CookieJar } from "../helpers/cookies.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const schema = `stm_pgcore_${uniqueId()}`;
const coreConfig = { bcrypt_log_rounds: 4 };
let pool: pg.Pool;
let core: DevCore;

async function startCore(db: pg.Pool) {
  return startDevCore({ config: coreConfig, storage: await PostgresStorage.create(db, { schema }) });
}

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
  core = await startCore(pool);
});
after(async () => {
  await core.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
});

const rows = async (sql: string, params: unknown[] = []) =>
  (await pool.query(sql.replaceAll("S.", `"${schema}".`), params)).rows;

function init(connectionURI: string, sessionConfig: Parameters<typeof Session.init>[0] = {}) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      EmailVerification.init({ mode: "OPTIONAL" }),
      UserMetadata.init(),
      Session.init({ getTokenTransferMethod: () => "cookie", ...sessionConfig }),
    ],
  });
  const app = express();
  app.use(middleware());
  app.post("/login/:userId", async (req, res) => {
    const session = await Session.createNewSession(
      req,
      res,
      "public",
      supertokens.convertToRecipeUserId(req.params.userId),
    );
    res.json({ handle: session.getHandle() });
  });
  app.get("/me", verifySession(), (req, res) => {
    res.json({ userId: (req as unknown as { session: Session.SessionContainer }).session.getUserId() });
  });
  app.use(errorHandler());
  return app;
}

async function login(app: express.Express, userId: string) {
  const res = await request(app).post(`/login/${userId}`);
  assert.equal(res.status, 200);
  return { jar: new CookieJar().update(res), handle: res.body.handle as string };
}
const me = (app: express.Express, jar: CookieJar) => request(app).get("/me").set("Cookie", jar.header("/me"));
const refresh = (app: express.Express, jar: CookieJar) =>
  request(app).post("/auth/session/refresh").set("Cookie", jar.header("/auth/session/refresh"));
const kidOf = (jar: CookieJar) =>
  JSON.parse(Buffer.from(jar.get("sAccessToken")!.split(".")[0], "base64url").toString()).kid as string;

async function signUp(email: string, password: string) {
  const r = await EmailPassword.signUp("public", email, password);
  if (r.status !== "OK") throw new Error(`sign-up failed: ${r.status}`);
  return r.user;
}

/** A fresh core app on the shared core; returns the express app and the app id. */
async function setup(config: Record<string, unknown> = {}) {
  const uri = await createCoreApp(core.url, config);
  return { app: init(uri), appId: uri.split("/appid-")[1] };
}

describe("dev core on PostgresStorage: recipes through the SDK", () => {
  it("signs up and in; a duplicate email and a wrong password are refused", async () => {
    await setup();
    const u = await signUp("Pat@Example.com", "secret-1");
    assert.equal((await EmailPassword.signIn("public", "pat@example.com", "secret-1")).status, "OK");
    assert.equal(
      (await EmailPassword.signIn("public", "pat@example.com", "secret-2")).status,
      "WRONG_CREDENTIALS_ERROR",
    );
    assert.equal(
      (await EmailPassword.signUp("public", "PAT@example.com", "x-secret")).status,
      "EMAIL_ALREADY_EXISTS_ERROR",
    );
    assert.equal((await supertokens.getUser(u.id))?.emails[0], "pat@example.com");
  });

  it("creates, verifies and refreshes sessions; replaying a rotated refresh token is theft", async () => {
    const { app } = await setup();
    const u = await signUp("session@example.com", "secret-s1");
    const { jar, handle } = await login(app, u.id);
    assert.equal((await me(app, jar)).status, 200);
    const stolen = jar.clone();
    const r1 = await refresh(app, jar);
    assert.equal(r1.status, 200);
    jar.update(r1);
    const after = await me(app, jar);
    assert.equal(after.status, 200);
    jar.update(after);
    const theft = await refresh(app, stolen);
    assert.equal(theft.status, 401);
    assert.equal(theft.body.message, "token theft detected");
    assert.equal(await Session.getSessionInformation(handle), undefined);
  });

  it("creates and consumes password-reset tokens once; the core stores only their hash", async () => {
    const { appId } = await setup();
    const u = await signUp("reset@example.com", "old-secret");
    const created = await EmailPassword.createResetPasswordToken("public", u.id, "reset@example.com");
    assert.equal(created.status, "OK");
    const token = created.status === "OK" ? created.token : "";
    const stored = await rows(
      `SELECT token, email, user_id::text AS user_id FROM S.emailpassword_pswd_reset_tokens WHERE app_id = $1`,
      [appId],
    );
    assert.equal(stored.length, 1);
    assert.notEqual(stored[0].token, token);
    assert.equal(stored[0].email, "reset@example.com");
    assert.deepEqual(await EmailPassword.resetPasswordUsingToken("public", token, "new-secret-1"), { status: "OK" });
    assert.deepEqual(await EmailPassword.resetPasswordUsingToken("public", token, "newer-secret-1"), {
      status: "RESET_PASSWORD_INVALID_TOKEN_ERROR",
    });
    assert.equal((await EmailPassword.signIn("public", "reset@example.com", "new-secret-1")).status, "OK");
  });

  it(
    "maps user ids, keeps metadata and email verification under the external id; deleting the user " + "cascades",
    async () => {
      const { appId } = await setup();
      const u = await signUp("mapped@example.com", "secret-m");
      const ev = await EmailVerification.createEmailVerificationToken(
        "public",
        supertokens.convertToRecipeUserId(u.id),
      );
      assert.equal(ev.status, "OK");
      assert.equal(
        (await EmailVerification.verifyEmailUsingToken("public", ev.status === "OK" ? ev.token : "")).status,
        "OK",
      );
      assert.deepEqual(
        await supertokens.createUserIdMapping({ superTokensUserId: u.id, externalUserId: "legacy-42" }),
        {
          status: "OK",
        },
      );
      const signIn = await EmailPassword.signIn("public", "mapped@example.com", "secret-m");
      assert.equal(signIn.status === "OK" && signIn.user.id, "legacy-42");
      assert.equal(signIn.status === "OK" && signIn.user.loginMethods[0].verified, true);
      await UserMetadata.updateUserMetadata("legacy-42", { plan: "pro" });
      assert.deepEqual((await UserMetadata.getUserMetadata("legacy-42")).metadata, { plan: "pro" });
      assert.deepEqual(
        await rows(`SELECT user_id FROM S.emailverification_verified_emails WHERE app_id = $1`, [appId]),
        [{ user_id: "legacy-42" }],
      );
      await EmailPassword.createResetPasswordToken("public", "legacy-42", "mapped@example.com");

      await supertokens.deleteUser("legacy-42");
      assert.equal(await supertokens.getUser("legacy-42"), undefined);
      for (const table of [
        "userid_mapping",
        "emailpassword_users",
        "emailpassword_pswd_reset_tokens",
        "user_metadata",
        "emailverification_verified_emails",
      ]) {
        assert.deepEqual(await rows(`SELECT 1 FROM S.${table} WHERE app_id = $1`, [appId]), [], table);
      }
    },
  );

  it("writes the core's table layout: users, tenants, sessions, keys and configs", async () => {
    const { app, appId } = await setup({ access_token_validity: 120 });
    const u = await signUp("layout@example.com", "secret-l");
    const { handle } = await login(app, u.id);
    assert.deepEqual(
      await rows(
        `SELECT user_id::text AS id, recipe_id, primary_or_recipe_user_id::text AS p FROM S.app_id_to_user_id WHERE ` +
          `app_id = $1`,
        [appId],
      ),
      [{ id: u.id, recipe_id: "emailpassword", p: u.id }],
    );
    assert.deepEqual(
      await rows(`SELECT tenant_id, recipe_id FROM S.all_auth_recipe_users WHERE app_id = $1`, [appId]),
      [{ tenant_id: "public", recipe_id: "emailpassword" }],
    );
    const [ep] = await rows(`SELECT email, password_hash FROM S.emailpassword_users WHERE app_id = $1`, [appId]);
    assert.equal(ep.email, "layout@example.com");
    assert.match(ep.password_hash, /^\$2[ab]\$04\$/);
    assert.deepEqual(
      await rows(`SELECT tenant_id, email FROM S.emailpassword_user_to_tenant WHERE app_id = $1`, [appId]),
      [{ tenant_id: "public", email: "layout@example.com" }],
    );
    const [s] = await rows(`SELECT * FROM S.session_info WHERE app_id = $1`, [appId]);
    assert.equal(s.session_handle, handle);
    assert.equal(s.user_id, u.id);
    assert.match(s.refresh_token_hash_2, /^[0-9a-f]{64}$/);
    assert.equal(s.use_static_key, false);
    const [key] = await rows(
      `SELECT created_at_time, value FROM S.session_access_token_signing_keys WHERE app_id = $1`,
      [appId],
    );
    assert.match(key.value, /^[A-Za-z0-9+/]+=*\|[A-Za-z0-9+/]+=*$/);
    assert.equal(
      kidOf(new CookieJar().set("sAccessToken", (await login(app, u.id)).jar.get("sAccessToken")!)),
      `d-${key.created_at_time}`,
    );
    assert.equal(
      (await rows(`SELECT 1 FROM S.key_value WHERE app_id = $1 AND name = 'refresh_token_key'`, [appId])).length,
      1,
    );
    const [cfg] = await rows(`SELECT core_config FROM S.tenant_configs WHERE app_id = $1 AND tenant_id = 'public'`, [
      appId,
    ]);
    assert.deepEqual(JSON.parse(cfg.core_config), { access_token_validity: 120 });
    // The app and its public tenant share that row, as in the core.
    assert.deepEqual((await core.storage.getTenant(appId, "public"))?.coreConfig, { access_token_validity: 120 });
  });

  it("rotates dynamic signing keys into the database; tokens signed with the older key still verify", async () => {
    const { app, appId } = await setup({ access_token_dynamic_signing_key_update_interval: "0.0005" });
    const u = await signUp("rotating@example.com", "secret-k1");
    const first = await login(app, u.id);
    const firstKid = kidOf(first.jar);
    let second = await login(app, u.id);
    const deadline = Date.now() + 10_000;
    while (kidOf(second.jar) === firstKid && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      second = await login(app, u.id);
    }
    assert.notEqual(kidOf(second.jar), firstKid);
    assert.equal((await me(app, first.jar)).status, 200);
    assert.equal((await me(app, second.jar)).status, 200);
    const kids = (
      await rows(`SELECT 'd-' || created_at_time AS kid FROM S.session_access_token_signing_keys WHERE app_id = $1`, [
        appId,
      ])
    ).map((r) => r.kid);
    assert.ok(kids.includes(firstKid) && kids.includes(kidOf(second.jar)), `${kids.join(",")} holds both kids`);
  });
});

describe("dev core on PostgresStorage: restart", () => {
  it("after a restart on the same schema the user signs in, and existing tokens verify and refresh", async () => {
    const poolA = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
    const coreA = await startCore(poolA);
    const uriA = await createCoreApp(coreA.url, { access_token_validity: 300 });
    const appId = uriA.split("/appid-")[1];
    let app = init(uriA);
    const u = await signUp("restart@example.com", "secret-r");
    const dynamic = await login(app, u.id);
    const statik = await login(init(uriA, { useDynamicAccessTokenSigningKey: false }), u.id);
    assert.match(kidOf(statik.jar), /^s-/);
    await coreA.close();
    await poolA.end();

    const poolB = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
    const coreB = await startCore(poolB);
    try {
      app = init(`${coreB.url}/appid-${appId}`);
      assert.equal((await EmailPassword.signIn("public", "restart@example.com", "secret-r")).status, "OK");
      const verified = await me(app, dynamic.jar);
      assert.equal(verified.status, 200);
      assert.equal(verified.body.userId, u.id);
      const refreshed = await refresh(app, dynamic.jar);
      assert.equal(refreshed.status, 200);
      dynamic.jar.update(refreshed);
      assert.equal((await me(app, dynamic.jar)).status, 200);
      // The static key (jwt_signing_keys) survives too.
      const staticApp = init(`${coreB.url}/appid-${appId}`, { useDynamicAccessTokenSigningKey: false });
      assert.equal((await me(staticApp, statik.jar)).status, 200);
      assert.equal((await refresh(staticApp, statik.jar)).status, 200);
    } finally {
      await coreB.close();
      await poolB.end();
    }
  });
});
