/**
 * Legacy roles through dualSession: the request that migrates a legacy session gives the user their roles as
 * SuperTokens UserRoles before the session is created, so that very request passes
 * `UserRoleClaim.validators.includes("admin")`. Real parts: express-session on Redis (connect-redis), the SDK over
 * HTTP against the dev core, the legacy users table in PostgreSQL.
 */
import { after, afterEach, before, beforeEach, describe, it, mock } from "node:test";
import assert from "node:assert/strict";
import express, { type NextFunction, type Request, type Response } from "express";
import pg from "pg";
import { createClient } from "redis";
import request from "supertest";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import Session from "supertokens-node/recipe/session";
import UserRoles from "supertokens-node/recipe/userroles";
import { createPgLegacyUsers } from "../../lib/auth/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { dualSession, type DualSessionOptions } from "../../lib/session/index.js";
import { CookieJar } from "../helpers/cookies.js";
import { RedisStore, session as expressSession } from "../helpers/legacy-session.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const SECRET = "roles-legacy-secret";
let core: DevCore;
let redis: ReturnType<typeof createClient>;
let pool: pg.Pool;
const table = `legacy_roles_${uniqueId()}`;

before(async () => {
  core = await startDevCore();
  redis = createClient({ url: requireEnv("REDIS_URL") });
  await redis.connect();
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 3 });
  await pool.query(
    `CREATE TABLE ${table} (id text PRIMARY KEY, email text NOT NULL, password_hash text, roles text[])`,
  );
});
after(async () => {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.end();
  await redis.quit();
  await core.close();
});

function store() {
  return new RedisStore({ client: redis, prefix: `roles-${uniqueId()}:` });
}

/** The old app's login: express-session on Redis, with the user's id and (as many apps keep it) their role. */
async function legacyLogin(s: ReturnType<typeof store>, userId: string, role?: string): Promise<CookieJar> {
  const app = express();
  app.use(expressSession({ secret: SECRET, store: s, resave: false, saveUninitialized: false }));
  app.post("/login", (req, res) => {
    const data = (req as unknown as { session: Record<string, unknown> }).session;
    data.userId = userId;
    if (role !== undefined) data.role = role;
    res.json({ ok: true });
  });
  const res = await request(app).post("/login").expect(200);
  return new CookieJar().update(res);
}

/** The migrated app: UserRoles and Session, dualSession demanding "admin" on /admin, and /me for anyone. */
async function migratedApp(options: Omit<DualSessionOptions, "store" | "secret">, s: ReturnType<typeof store>) {
  const uri = await createCoreApp(core.url);
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [UserRoles.init(), Session.init({ getTokenTransferMethod: () => "cookie" })],
  });
  const app = express();
  app.use(middleware());
  const base = { store: s, secret: SECRET, ...options };
  const adminOnly = dualSession({
    ...base,
    overrideGlobalClaimValidators: (globals: unknown[]) => [
      ...globals,
      UserRoles.UserRoleClaim.validators.includes("admin"),
    ],
  });
  const anyone = dualSession(base);
  const show = (req: Request, res: Response) => {
    const s = (req as unknown as { session: Session.SessionContainer }).session;
    res.json({ userId: s.getUserId(), roles: (s.getAccessTokenPayload()["st-role"] as { v: string[] }).v });
  };
  app.get("/admin", adminOnly, show);
  app.get("/me", anyone, show);
  app.use(errorHandler());
  app.use(
    (err: { status?: number; code?: string; retryAfter?: number }, _q: Request, res: Response, _n: NextFunction) => {
      if (err.retryAfter !== undefined) res.setHeader("Retry-After", String(err.retryAfter));
      res.status(err.status ?? 500).json({ code: err.code ?? "INTERNAL" });
    },
  );
  return { app, adminOnly, anyone };
}

let errors: ReturnType<typeof mock.method>;
beforeEach(() => {
  errors = mock.method(console, "error", () => undefined);
});
afterEach(() => errors.mock.restore());

describe("dualSession and legacy roles", () => {
  it("a legacy admin passes UserRoleClaim.validators.includes('admin') on the request that migrates", async () => {
    const s = store();
    const { app, adminOnly } = await migratedApp({ getRoles: (legacy) => legacy.role as string | undefined }, s);
    const jar = await legacyLogin(s, "admin-1", "admin");
    const res = await request(app).get("/admin").set("Cookie", jar.header("/admin")).expect(200);
    assert.deepEqual(res.body, { userId: "admin-1", roles: ["admin"] });
    assert.ok(res.headers["set-cookie"]?.toString().includes("sAccessToken="), "the migrating response has tokens");
    assert.deepEqual(adminOnly.stats().roles, { granted: 1, created: 1, unknown: 0, invalid: 0 });
    assert.deepEqual(await UserRoles.getRolesForUser("public", "admin-1"), { status: "OK", roles: ["admin"] });
    assert.equal(errors.mock.callCount(), 0);
  });

  it("a legacy user without the role is refused by the claim on the migrating request, not signed out", async () => {
    const s = store();
    const { app } = await migratedApp({ getRoles: (legacy) => legacy.role as string | undefined }, s);
    const jar = await legacyLogin(s, "clerk-1", "clerk");
    const res = await request(app).get("/admin").set("Cookie", jar.header("/admin")).expect(403);
    assert.equal(res.body.message, "invalid claim");
    // Their own pages work, with their own role.
    jar.update(res);
    const me = await request(app).get("/me").set("Cookie", jar.header("/me")).expect(200);
    assert.deepEqual(me.body, { userId: "clerk-1", roles: ["clerk"] });
  });

  it("takes roles from the app's users table (a text[] column through createPgLegacyUsers)", async () => {
    const id = `u${uniqueId()}`;
    await pool.query(`INSERT INTO ${table} (id, email, roles) VALUES ($1, $2, $3)`, [
      id,
      `${id}@example.com`,
      ["admin", "support"],
    ]);
    const users = createPgLegacyUsers({ pool, table, columns: { roles: "roles" } });
    const s = store();
    const { app } = await migratedApp({ getRoles: async (_l, userId) => (await users.findUserById(userId))?.roles }, s);
    const jar = await legacyLogin(s, id);
    const res = await request(app).get("/admin").set("Cookie", jar.header("/admin")).expect(200);
    assert.deepEqual(res.body, { userId: id, roles: ["admin", "support"] });
  });

  it("leaves out a role the core does not know (createRoles: false), reports it, and still migrates", async () => {
    const s = store();
    const { app, anyone } = await migratedApp({ getRoles: () => ["ghost", ""], createRoles: false }, s);
    const jar = await legacyLogin(s, "ghost-1");
    const res = await request(app).get("/me").set("Cookie", jar.header("/me")).expect(200);
    assert.deepEqual(res.body, { userId: "ghost-1", roles: [] });
    assert.deepEqual(anyone.stats().roles, { granted: 0, created: 0, unknown: 1, invalid: 0 });
    assert.equal(anyone.stats().migrated, 1);
    const said = errors.mock.calls.map((c) => String(c.arguments[0]));
    assert.equal(said.length, 1);
    assert.match(said[0], /"ghost" does not exist in the SuperTokens core/);
  });

  it("a failing getRoles answers 503 and keeps the legacy session; the retry migrates with roles", async () => {
    const s = store();
    let down = true;
    const { app } = await migratedApp(
      {
        getRoles: () => {
          if (down) throw new Error("users database down");
          return "admin";
        },
      },
      s,
    );
    const jar = await legacyLogin(s, "admin-2");
    const failed = await request(app).get("/admin").set("Cookie", jar.header("/admin")).expect(503);
    assert.equal(failed.headers["retry-after"], "1");
    assert.equal(failed.body.code, "ERR_MIGRATE_STORE_UNAVAILABLE");
    assert.deepEqual(await Session.getAllSessionHandlesForUser("admin-2"), []);
    down = false;
    const res = await request(app).get("/admin").set("Cookie", jar.header("/admin")).expect(200);
    assert.deepEqual(res.body, { userId: "admin-2", roles: ["admin"] });
  });
});
