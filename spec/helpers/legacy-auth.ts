/**
 * Fixtures for legacyAuth specs: a legacy users table in the real PostgreSQL (one per spec file), and an Express
 * app with the real SDK (EmailPassword with legacyAuth's override, Session) against a dev core app.
 */
import express, { type NextFunction, type Request, type Response } from "express";
import pg from "pg";
import request from "supertest";
import supertokens from "supertokens-node";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import AccountLinking from "supertokens-node/recipe/accountlinking";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import type { LegacyAuth } from "../../lib/auth/index.js";
import type { DevCore } from "../../lib/core/index.js";
import { appInfo, resetSdk } from "./sdk.js";
import { requireEnv, uniqueId } from "./services.js";

export interface LegacyTable {
  pool: pg.Pool;
  table: string;
  insert(row: { email: string; passwordHash: string | null; id?: number }): Promise<string>;
  remove(id: string): Promise<void>;
  clear(): Promise<void>;
  drop(): Promise<void>;
}

/** A fresh `legacy_users_<random>` table: serial id, email, password_hash, as most legacy apps have it. */
export async function createLegacyTable(): Promise<LegacyTable> {
  const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 5 });
  const table = `legacy_users_${uniqueId()}`;
  await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, email text NOT NULL, password_hash text)`);
  return {
    pool,
    table,
    async insert(row) {
      const { rows } =
        row.id === undefined
          ? await pool.query(`INSERT INTO ${table} (email, password_hash) VALUES ($1, $2) RETURNING id::text AS id`, [
              row.email,
              row.passwordHash,
            ])
          : await pool.query(
              `INSERT INTO ${table} (id, email, password_hash) VALUES ($1, $2, $3) RETURNING id::text AS id`,
              [row.id, row.email, row.passwordHash],
            );
      return rows[0].id as string;
    },
    async remove(id) {
      await pool.query(`DELETE FROM ${table} WHERE id = $1`, [id]);
    },
    async clear() {
      await pool.query(`DELETE FROM ${table}`);
    },
    async drop() {
      await pool.query(`DROP TABLE IF EXISTS ${table}`);
      await pool.end();
    },
  };
}

export interface AuthApp {
  app: express.Express;
  /** Every email the SDK would have sent. */
  emails: Array<{ type: string; user: { id: string; email: string }; passwordResetLink: string; tenantId: string }>;
}

/**
 * (Re)initialises the SDK for one test: EmailPassword with `auth` as its override, header-based sessions, and
 * EmailVerification (optional mode) when asked, and the test's own `routes`.
 */
export function startAuthApp(
  connectionURI: string,
  auth: LegacyAuth,
  options: { emailVerification?: boolean; routes?: (app: express.Express) => void } = {},
): AuthApp {
  resetSdk();
  const emails: AuthApp["emails"] = [];
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI },
    appInfo,
    recipeList: [
      EmailPassword.init({
        override: auth,
        emailDelivery: {
          override: (original) => ({
            ...original,
            sendEmail: async (input) => {
              emails.push(input);
            },
          }),
        },
      }),
      Session.init({ getTokenTransferMethod: () => "header" }),
      ...(options.emailVerification ? [EmailVerification.init({ mode: "OPTIONAL" })] : []),
    ],
  });
  const app = express();
  app.use(middleware());
  app.get("/me", verifySession(), (req: Request, res: Response) => {
    res.json({ userId: (req as unknown as { session: { getUserId(): string } }).session.getUserId() });
  });
  // The test's own routes, before the error handlers so that what they throw is answered as the app's would be.
  options.routes?.(app);
  app.use(errorHandler());
  // As the README tells apps to: our errors carry their HTTP status and a stable code.
  app.use(
    (
      err: { status?: number; code?: string; retryAfter?: number },
      _req: Request,
      res: Response,
      _next: NextFunction,
    ) => {
      if (err.retryAfter !== undefined) res.setHeader("Retry-After", String(err.retryAfter));
      if (process.env.SPEC_DEBUG_ERRORS) console.error(err);
      res.status(err.status ?? 500).json({ code: err.code ?? "INTERNAL" });
    },
  );
  return { app, emails };
}

export const form = (fields: Record<string, string>) => ({
  formFields: Object.entries(fields).map(([id, value]) => ({ id, value })),
});

/** POST /auth/signin; `userId` is what the new session reports (via GET /me), when the sign-in succeeded. */
export async function signIn(
  app: express.Express,
  email: string,
  password: string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server's JSON, asserted field by field
): Promise<{ status: number; body: any; userId?: string }> {
  const res = await request(app).post("/auth/signin").send(form({ email, password }));
  if (res.status !== 200 || res.body.status !== "OK") return { status: res.status, body: res.body };
  const me = await request(app).get("/me").set("Authorization", `Bearer ${res.headers["st-access-token"]}`);
  return { status: res.status, body: res.body, userId: me.body.userId };
}

/** The dev core's storage of the app behind a connection URI from createCoreApp. */
export function appStorage(core: DevCore, connectionURI: string) {
  const appId = /\/appid-([^/]+)$/.exec(connectionURI)![1];
  return core.storage.app(appId);
}

/** Automatic account linking that requires verified emails, or nothing: the `accountLinking` option of the specs. */
export function accountLinkingRecipe(on: boolean | undefined) {
  return on
    ? [
        AccountLinking.init({
          shouldDoAutomaticAccountLinking: async () => ({
            shouldAutomaticallyLink: true,
            shouldRequireVerification: true,
          }),
        }),
      ]
    : [];
}

/**
 * The app behind the SDK's APIs for the ThirdParty and Passwordless specs: `/me` (the session's user id), `/notes`
 * (the legacy app's notes of that id, from `notesTable`), and errors as status + code with `Retry-After` kept.
 */
export function notesApp(pool: pg.Pool, notesTable: string): express.Express {
  const app = express();
  app.use(middleware());
  const session = verifySession({ overrideGlobalClaimValidators: () => [] });
  const userId = (req: Request) => (req as unknown as { session: SessionContainer }).session.getUserId();
  app.get("/me", session, (req: Request, res: Response) => res.json({ userId: userId(req) }));
  app.get("/notes", session, async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { rows } = await pool.query(`SELECT body FROM ${notesTable} WHERE user_id = $1`, [userId(req)]);
      res.json(rows.map((r: { body: string }) => r.body));
    } catch (err) {
      next(err);
    }
  });
  app.use(errorHandler());
  app.use(
    (err: { status?: number; code?: string; retryAfter?: number }, _req: Request, res: Response, _n: NextFunction) => {
      if (err.retryAfter !== undefined) res.setHeader("Retry-After", String(err.retryAfter));
      if (process.env.SPEC_DEBUG_ERRORS) console.error(err);
      res.status(err.status ?? 500).json({ code: err.code ?? "INTERNAL" });
    },
  );
  return app;
}
