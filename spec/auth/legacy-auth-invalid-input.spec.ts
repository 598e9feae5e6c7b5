/**
 * Issue 11, item 7: input the legacy database rejects as invalid (a NUL byte, a character its encoding cannot hold, a
 * value too long for it: SQLSTATE class 22) is invalid input, answered as such. Only a store that cannot be reached
 * answers 503, so nobody can fake an outage by typing a NUL into the email field.
 */
import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { format } from "node:util";
import bcrypt from "bcrypt";
import createDebug from "debug";
import express, { type NextFunction, type Request, type Response } from "express";
import pg from "pg";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import type { SessionContainer } from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { createPgLegacyUsers, legacyAuth, type LegacyAuthOptions } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createLegacyTable, form, signIn, startAuthApp, type LegacyTable } from "../helpers/legacy-auth.js";
import { createCoreApp } from "../helpers/sdk.js";

/** What SuperTokens throws for a form field it refuses. */
type FieldError = { type?: string; payload?: { id?: string; error?: string }[] };
import { requireEnv, uniqueId } from "../helpers/services.js";

const debugLines: string[] = [];
createDebug.enable("supertokens-migrate:*");
createDebug.log = (...args: unknown[]) => debugLines.push(format(...args));

const PASSWORD = "correct horse battery staple 1";
const INVALID_EMAIL = { status: "FIELD_ERROR", formFields: [{ id: "email", error: "Email is invalid" }] };

let core: DevCore;
let legacy: LegacyTable;
let uri: string;
/** A legacy database in LATIN1, as many old apps have: it cannot hold an emoji. */
let latin: { pool: pg.Pool; name: string; admin: pg.Pool };

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  legacy = await createLegacyTable();
  const admin = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 1 });
  const name = `legacy_latin1_${uniqueId()}`;
  await admin.query(`CREATE DATABASE ${name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  const url = new URL(requireEnv("DATABASE_URL"));
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  await pool.query("CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, password_hash text)");
  // A legacy lookup through a stored function whose variable is varchar(254), as some old schemas do: an over-long
  // email is refused by the database with SQLSTATE 22001.
  await pool.query(`CREATE FUNCTION find_user(e text) RETURNS SETOF users LANGUAGE plpgsql AS $$
    DECLARE v varchar(254) := e;
    BEGIN RETURN QUERY SELECT * FROM users WHERE lower(btrim(email)) = lower(btrim(v)) LIMIT 2; END $$`);
  latin = { pool, name, admin };
});
after(async () => {
  await latin.pool.end();
  await latin.admin.query(`DROP DATABASE IF EXISTS ${latin.name}`);
  await latin.admin.end();
  await legacy.drop();
  await core.close();
});
beforeEach(async () => {
  uri = await createCoreApp(core.url);
  await legacy.clear();
});

function setup(
  store: Pick<LegacyAuthOptions, "findUserByEmail" | "findUserById"> = createPgLegacyUsers({
    pool: legacy.pool,
    table: legacy.table,
  }),
) {
  return startAuthApp(uri, legacyAuth({ ...store }), { routes: changeEmailRoute });
}

/** A session-protected change-email API, as SuperTokens' docs give it. */
function changeEmailRoute(app: express.Express) {
  app.post(
    "/change-email",
    express.json(),
    verifySession(),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const session = (req as unknown as { session: SessionContainer }).session;
        res.json(
          await EmailPassword.updateEmailOrPassword({ recipeUserId: session.getRecipeUserId(), email: req.body.email }),
        );
      } catch (err) {
        next(err);
      }
    },
  );
}

/** Every path that looks an email up in the legacy store, with one email; none may answer 503. */
async function assertAnsweredAsInvalid(app: express.Express, emails: { type: string }[], email: string) {
  const signInRes = await request(app)
    .post("/auth/signin")
    .send(form({ email, password: PASSWORD }));
  assert.equal(signInRes.status, 200, `sign-in: ${signInRes.status} ${JSON.stringify(signInRes.body)}`);
  assert.deepEqual(signInRes.body, { status: "WRONG_CREDENTIALS_ERROR" });

  const signUpRes = await request(app)
    .post("/auth/signup")
    .send(form({ email, password: PASSWORD }));
  assert.equal(signUpRes.status, 200, `sign-up: ${signUpRes.status} ${JSON.stringify(signUpRes.body)}`);
  assert.deepEqual(signUpRes.body, INVALID_EMAIL);

  const exists = await request(app).get("/auth/emailpassword/email/exists").query({ email });
  assert.equal(exists.status, 200, `email exists: ${exists.status} ${JSON.stringify(exists.body)}`);
  assert.deepEqual(exists.body, { status: "OK", exists: false });

  const sentBefore = emails.length;
  const reset = await request(app).post("/auth/user/password/reset/token").send(form({ email }));
  assert.equal(reset.status, 200, `reset: ${reset.status} ${JSON.stringify(reset.body)}`);
  assert.deepEqual(reset.body, { status: "OK" });
  assert.equal(emails.length, sentBefore, "no reset email");

  const owner = `owner-${uniqueId()}@example.com`;
  const signedUp = await request(app)
    .post("/auth/signup")
    .send(form({ email: owner, password: PASSWORD }));
  assert.equal(signedUp.body.status, "OK");
  const change = await request(app)
    .post("/change-email")
    .set("Authorization", `Bearer ${signedUp.headers["st-access-token"]}`)
    .send({ email });
  assert.equal(change.status, 200, `email change: ${change.status} ${JSON.stringify(change.body)}`);
  assert.deepEqual(change.body, INVALID_EMAIL);
  assert.deepEqual((await supertokens.getUser(signedUp.body.user.id))?.emails, [owner]);
}

describe("legacyAuth: input the legacy database rejects as invalid", () => {
  it("a NUL byte in the email (PostgreSQL 22021) is invalid input on every path, never a 503", async () => {
    const { app, emails } = setup();
    debugLines.length = 0;
    await assertAnsweredAsInvalid(app, emails, `nul\u0000-${uniqueId()}@example.com`);
    assert.ok(
      debugLines.some((l) => /supertokens-migrate:auth .*rejected .* as invalid input \(SQLSTATE 22021\)/.test(l)),
      debugLines.join("\n"),
    );
  });

  it(
    "an email a LATIN1 legacy database cannot hold (22P05) is invalid input, and its users " + "still sign in",
    async () => {
      const store = createPgLegacyUsers({ pool: latin.pool, table: "users" });
      const { app, emails } = setup(store);
      await assertAnsweredAsInvalid(app, emails, `smile-\u{1F600}-${uniqueId()}@example.com`);
      const email = `café-${uniqueId()}@example.com`;
      const { rows } = await latin.pool.query(
        "INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id::text AS id",
        [email, await bcrypt.hash(PASSWORD, 4)],
      );
      assert.equal((await signIn(app, email, PASSWORD)).userId, rows[0].id);
    },
  );

  it("an email too long for the legacy database (22001) is invalid input", async () => {
    const byFunction = createPgLegacyUsers({ pool: latin.pool, table: "users" });
    const { app, emails } = setup({
      findUserByEmail: async (email) => {
        const { rows } = await latin.pool.query("SELECT id::text AS id, email, password_hash FROM find_user($1)", [
          email,
        ]);
        return rows.map((r) => ({ id: r.id, email: r.email, passwordHash: r.password_hash }));
      },
      findUserById: byFunction.findUserById,
    });
    await assertAnsweredAsInvalid(app, emails, `${"x".repeat(300)}@example.com`);
  });

  it("the programmatic sign-up and email change throw SuperTokens' field error, not UnavailableError", async () => {
    setup();
    const email = `nul\u0000-${uniqueId()}@example.com`;
    await assert.rejects(
      EmailPassword.signUp("public", email, PASSWORD),
      (err: FieldError) => err.type === "FIELD_ERROR" && err.payload?.[0]?.id === "email",
    );
    const owner = await EmailPassword.signUp("public", `owner-${uniqueId()}@example.com`, PASSWORD);
    assert.equal(owner.status, "OK");
    await assert.rejects(
      EmailPassword.updateEmailOrPassword({
        recipeUserId: owner.status === "OK" ? owner.recipeUserId : (undefined as never),
        email,
      }),
      (err: FieldError) => err.type === "FIELD_ERROR" && err.payload?.[0]?.error === "Email is invalid",
    );
    assert.equal((await EmailPassword.verifyCredentials("public", email, PASSWORD)).status, "WRONG_CREDENTIALS_ERROR");
  });

  it("a store that cannot be reached still answers 503 on the same paths", async () => {
    const down = {
      query: () => Promise.reject(Object.assign(new Error("Connection terminated unexpectedly"), { code: "57P01" })),
    };
    const { app } = setup(createPgLegacyUsers({ pool: down, table: "users" }));
    const email = `user-${uniqueId()}@example.com`;
    const answers = {
      signIn: await request(app)
        .post("/auth/signin")
        .send(form({ email, password: PASSWORD })),
      signUp: await request(app)
        .post("/auth/signup")
        .send(form({ email, password: PASSWORD })),
      emailExists: await request(app).get("/auth/emailpassword/email/exists").query({ email }),
      reset: await request(app).post("/auth/user/password/reset/token").send(form({ email })),
    };
    for (const [path, res] of Object.entries(answers)) {
      assert.equal(res.status, 503, `${path}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.deepEqual(res.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
    }
  });
});
