/**
 * Legacy roles through legacyAuth: a legacy user's first sign-in gives them their roles as SuperTokens UserRoles
 * before the session is created, so the first access token already passes `UserRoleClaim.validators.includes(...)`.
 * Real parts: the SDK over HTTP against the dev core, the legacy table in PostgreSQL.
 */
import { after, afterEach, before, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import express, { type NextFunction, type Request, type Response } from "express";
import pg from "pg";
import request from "supertest";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import UserRoles from "supertokens-node/recipe/userroles";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { createPgLegacyUsers, legacyAuth, type LegacyAuth, type LegacyAuthOptions } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { form } from "../helpers/legacy-auth.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

let core: DevCore;
let pool: pg.Pool;
const tables: string[] = [];
const password = "correct horse 1";
let hash: string;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 5 });
  hash = await bcrypt.hash(password, 10);
});
after(async () => {
  for (const t of tables) await pool.query(`DROP TABLE IF EXISTS ${t}`);
  await pool.end();
  await core.close();
});

/** A legacy users table whose `roles` column has the given SQL type, with these users in it. */
async function legacyTable(rolesType: string, users: Array<{ email: string; roles: unknown }>) {
  const table = `legacy_roles_${uniqueId()}`;
  tables.push(table);
  await pool.query(
    `CREATE TABLE ${table} (id serial PRIMARY KEY, email text NOT NULL, password_hash text, roles ${rolesType})`,
  );
  const ids: string[] = [];
  for (const u of users) {
    const value = rolesType.startsWith("json") ? JSON.stringify(u.roles) : u.roles;
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO ${table} (email, password_hash, roles) VALUES ($1, $2, $3) RETURNING id::text AS id`,
      [u.email, hash, value],
    );
    ids.push(rows[0].id);
  }
  return { table, ids };
}

/** The SDK with EmailPassword (legacyAuth's override), UserRoles and Session, and a route that demands "admin". */
async function start(options: LegacyAuthOptions, roles: { init?: boolean } = {}) {
  const uri = await createCoreApp(core.url);
  const auth: LegacyAuth = legacyAuth(options);
  resetSdk();
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init({ override: auth }),
      ...(roles.init === false ? [] : [UserRoles.init()]),
      Session.init({ getTokenTransferMethod: () => "header" }),
    ],
  });
  const app = express();
  app.use(middleware());
  app.get(
    "/admin",
    verifySession({
      overrideGlobalClaimValidators: (globals) => [...globals, UserRoles.UserRoleClaim.validators.includes("admin")],
    }),
    (req: Request, res: Response) => {
      res.json({ userId: (req as unknown as { session: Session.SessionContainer }).session.getUserId() });
    },
  );
  app.use(errorHandler());
  app.use((err: { status?: number; code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ code: err.code ?? "INTERNAL" });
  });
  return { app, auth, uri };
}

async function signIn(app: express.Express, email: string) {
  const res = await request(app).post("/auth/signin").send(form({ email, password }));
  const token = res.headers["st-access-token"] as string | undefined;
  const payload = token
    ? (JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as Record<string, { v: string[] }>)
    : undefined;
  return { res, token, payload };
}

let errors: ReturnType<typeof mock.method>;
beforeEach(() => {
  errors = mock.method(console, "error", () => undefined);
});
afterEach(() => errors.mock.restore());

describe("legacyAuth and legacy roles", () => {
  for (const [type, stored] of [
    ["text", "admin, editor"],
    ["text[]", ["admin", "editor"]],
    ["jsonb", ["admin", "editor"]],
  ] as const) {
    it(`gives a legacy admin their roles (${type}) before the first session; the first token passes`, async () => {
      const email = `admin-${uniqueId()}@example.com`;
      const { table, ids } = await legacyTable(type, [{ email, roles: stored }]);
      const { app, auth } = await start({ ...createPgLegacyUsers({ pool, table, columns: { roles: "roles" } }) });

      const first = await signIn(app, email);
      assert.equal(first.res.status, 200);
      assert.equal(first.res.body.status, "OK");
      assert.equal(first.res.body.user.id, ids[0]);
      assert.deepEqual(first.payload?.["st-role"].v, ["admin", "editor"]);
      await request(app).get("/admin").set("authorization", `Bearer ${first.token}`).expect(200, { userId: ids[0] });

      // Under the legacy id, in the core; created on demand.
      assert.deepEqual((await UserRoles.getRolesForUser("public", ids[0])).roles.sort(), ["admin", "editor"]);
      assert.deepEqual(auth.stats().roles, { granted: 2, created: 2, unknown: 0, invalid: 0 });
      // A later sign-in is SuperTokens' own: no second grant.
      const second = await signIn(app, email);
      assert.deepEqual(second.payload?.["st-role"].v, ["admin", "editor"]);
      assert.equal(auth.stats().roles.granted, 2);
      assert.equal(errors.mock.callCount(), 0);
    });
  }

  it("a user without roles signs in, and the admin route refuses them", async () => {
    const email = `plain-${uniqueId()}@example.com`;
    const { table } = await legacyTable("text", [{ email, roles: null }]);
    const { app, auth } = await start({ ...createPgLegacyUsers({ pool, table, columns: { roles: "roles" } }) });
    const first = await signIn(app, email);
    assert.equal(first.res.body.status, "OK");
    assert.deepEqual(first.payload?.["st-role"].v, []);
    await request(app).get("/admin").set("authorization", `Bearer ${first.token}`).expect(403);
    assert.deepEqual(auth.stats().roles, { granted: 0, created: 0, unknown: 0, invalid: 0 });
  });

  it("takes roles from getRoles(legacyUser), which sees the row", async () => {
    const email = `fn-${uniqueId()}@example.com`;
    const { table, ids } = await legacyTable("text", [{ email, roles: "ignored" }]);
    const seen: unknown[] = [];
    const { app } = await start({
      ...createPgLegacyUsers({ pool, table }),
      getRoles: async (user) => {
        seen.push(user);
        return Number(user.id) > 0 ? ["admin", "billing"] : [];
      },
    });
    const first = await signIn(app, email);
    assert.deepEqual(first.payload?.["st-role"].v, ["admin", "billing"]);
    await request(app).get("/admin").set("authorization", `Bearer ${first.token}`).expect(200);
    assert.equal(seen.length, 1);
    assert.equal((seen[0] as { id: string }).id, ids[0]);
  });

  it("leaves out unknown roles (createRoles: false) and non-roles; the sign-in goes on", async () => {
    const emails = [`u1-${uniqueId()}@example.com`, `u2-${uniqueId()}@example.com`];
    const { table, ids } = await legacyTable("text", [
      { email: emails[0], roles: "admin,ghost" },
      { email: emails[1], roles: "ghost" },
    ]);
    const { app, auth } = await start({
      ...createPgLegacyUsers({ pool, table, columns: { roles: "roles" } }),
      createRoles: false,
      // What a hand-written function may give: a number and an over-long name are no roles.
      getRoles: (user) => [...String(user.roles).split(","), 42, "x".repeat(300)] as unknown as string[],
    });
    await UserRoles.createNewRoleOrAddPermissions("admin", []);

    const first = await signIn(app, emails[0]);
    assert.equal(first.res.body.status, "OK");
    assert.deepEqual(first.payload?.["st-role"].v, ["admin"]);
    const second = await signIn(app, emails[1]);
    assert.equal(second.res.body.status, "OK");
    assert.equal(second.res.body.user.id, ids[1]);
    assert.deepEqual(second.payload?.["st-role"].v, []);

    assert.deepEqual(auth.stats().roles, { granted: 1, created: 0, unknown: 2, invalid: 4 });
    assert.deepEqual((await UserRoles.getAllRoles()).roles, ["admin"]);
    // Said once each, however many users: what was left out, and what to do.
    const lines = errors.mock.calls.map((c) => String(c.arguments[0]));
    assert.equal(lines.filter((l) => l.includes("does not exist in the SuperTokens core")).length, 1);
    assert.equal(lines.filter((l) => l.includes("cannot be SuperTokens roles")).length, 1);
    assert.match(lines.join("\n"), /createRoles: true/);
  });

  it("a failing getRoles answers 503; the next sign-in finishes the move, roles included", async () => {
    const email = `retry-${uniqueId()}@example.com`;
    const { table, ids } = await legacyTable("text", [{ email, roles: "admin" }]);
    let down = true;
    const { app } = await start({
      ...createPgLegacyUsers({ pool, table, columns: { roles: "roles" } }),
      getRoles: async (user) => {
        if (down) throw new Error("roles service down");
        return user.roles;
      },
    });
    const failed = await signIn(app, email);
    assert.equal(failed.res.status, 503);
    assert.deepEqual(failed.res.body, { code: "ERR_MIGRATE_STORE_UNAVAILABLE" });
    down = false;
    const retried = await signIn(app, email);
    assert.equal(retried.res.body.status, "OK");
    assert.equal(retried.res.body.user.id, ids[0]);
    assert.deepEqual(retried.payload?.["st-role"].v, ["admin"]);
  });

  it("without UserRoles.init, a user with roles fails loudly with ERR_MIGRATE_SDK_NOT_INITIALISED", async () => {
    const email = `noinit-${uniqueId()}@example.com`;
    const { table } = await legacyTable("text", [{ email, roles: "admin" }]);
    const { app } = await start(
      { ...createPgLegacyUsers({ pool, table, columns: { roles: "roles" } }) },
      { init: false },
    );
    const res = await signIn(app, email);
    assert.equal(res.res.status, 500);
    assert.deepEqual(res.res.body, { code: "ERR_MIGRATE_SDK_NOT_INITIALISED" });
  });
});
