import bcrypt from "bcrypt";
import express, { type Request, type Response } from "express";
import type { Queryable } from "./db.js";
import { session, type LegacySession, type SessionStore } from "./legacy-modules.js";
import { notesRepository, parseNoteBody } from "./notes.js";
import type { Story } from "./story.js";
import type { Viewer } from "./views/html.js";
import { adminPage, homePage, loginPage, notesPage, signupPage } from "./views/pages.js";
import { safeNext, staticAssets } from "./web.js";

/** A request after express.urlencoded({ extended: false }): form fields as strings (repeated ones as arrays). */
type FormRequest = Request<Request["params"], unknown, Record<string, string | string[] | undefined>>;

export interface LegacyAppOptions {
  db: Queryable;
  store: SessionStore;
  secret: string;
  describe: { database: string; sessionStore: string; countSessions(): Promise<number> };
  /** The demo guide above every page; the app ticks "signed in on the old system". */
  story?: Story;
}

/** A bcrypt hash of nothing anyone types, so an unknown email costs what a wrong password costs. */
let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= bcrypt.hash("no-such-user", 10));

/**
 * The app as it was before the migration: its own login form, bcrypt hashes in its users table, and
 * express-session keeping `userId` in the store. Nothing here knows about SuperTokens.
 */
export function createLegacyApp({ db, store, secret, describe, story }: LegacyAppOptions): express.Express {
  const app = express();
  const notes = notesRepository(db);
  app.disable("x-powered-by");
  app.use(staticAssets());
  app.use(express.urlencoded({ extended: false }));
  app.use(
    session({ secret, store, resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: "lax" } }),
  );

  const legacySession = (req: Request) => (req as unknown as { session: LegacySession }).session;

  async function viewer(req: Request): Promise<Viewer> {
    const userId = legacySession(req).userId;
    const guide = story?.view(req.originalUrl);
    if (!userId) return { system: "legacy", story: guide };
    const { rows } = await db.query<{ id: string; email: string; name: string }>(
      "SELECT id::text AS id, email, name FROM users WHERE id::text = $1",
      [userId],
    );
    return rows[0]
      ? { system: "legacy", user: { id: rows[0].id, email: rows[0].email, name: rows[0].name }, story: guide }
      : { system: "legacy", story: guide };
  }

  const page =
    (fn: (req: FormRequest, res: Response) => Promise<void>) =>
    (req: FormRequest, res: Response, next: (err?: unknown) => void) => {
      fn(req, res).catch(next);
    };

  app.get(
    "/",
    page(async (req, res) => {
      res.send(homePage(await viewer(req)));
    }),
  );

  app.get(
    "/login",
    page(async (req, res) => {
      const notice = req.query.signedOut ? "You are signed out." : undefined;
      res.send(loginPage(await viewer(req), { next: safeNext(req.query.next), notice }));
    }),
  );

  app.post(
    "/login",
    page(async (req, res) => {
      const email = String(req.body.email ?? "")
        .trim()
        .toLowerCase();
      const password = String(req.body.password ?? "");
      const next = safeNext(req.body.next);
      const { rows } = await db.query<{ id: string; password_hash: string | null }>(
        "SELECT id::text AS id, password_hash FROM users WHERE lower(email) = $1",
        [email],
      );
      const row = rows[0];
      const ok = row?.password_hash
        ? await bcrypt.compare(password, row.password_hash)
        : (await bcrypt.compare(password, await dummyHash()), false);
      if (!ok) {
        res.status(401).send(loginPage(await viewer(req), { error: "Wrong email or password.", email, next }));
        return;
      }
      const s = legacySession(req);
      // A new session id at sign-in (session fixation), then the user id: what dualSession() reads later.
      await new Promise<void>((resolve, reject) => s.regenerate((err) => (err ? reject(err) : resolve())));
      legacySession(req).userId = row.id;
      await new Promise<void>((resolve, reject) => legacySession(req).save((err) => (err ? reject(err) : resolve())));
      story?.mark("legacy-sign-in");
      res.redirect(303, next);
    }),
  );

  app.get(
    "/signup",
    page(async (req, res) => {
      res.send(signupPage(await viewer(req), {}));
    }),
  );

  app.post(
    "/signup",
    page(async (req, res) => {
      const email = String(req.body.email ?? "")
        .trim()
        .toLowerCase();
      const password = String(req.body.password ?? "");
      if (!/^[^@\s]+@[^@\s]+$/.test(email) || password.length < 8) {
        res
          .status(400)
          .send(
            signupPage(await viewer(req), { email, error: "Enter an email and a password of 8 characters or more." }),
          );
        return;
      }
      const hash = await bcrypt.hash(password, 10);
      const inserted = await db.query<{ id: string }>(
        "INSERT INTO users (email, password_hash, name) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING " +
          "RETURNING id::text AS id",
        [email, hash, email.split("@")[0]],
      );
      if (inserted.rows.length === 0) {
        res
          .status(409)
          .send(signupPage(await viewer(req), { email, error: "This email already has an account. Sign in instead." }));
        return;
      }
      await new Promise<void>((resolve, reject) =>
        legacySession(req).regenerate((err) => (err ? reject(err) : resolve())),
      );
      legacySession(req).userId = inserted.rows[0].id;
      story?.mark("legacy-sign-in"); // a new account signed in on the old system: the same story from here
      res.redirect(303, "/notes");
    }),
  );

  app.post("/logout", (req, res, next) => {
    legacySession(req).destroy((err) => (err ? next(err) : res.redirect(303, "/login?signedOut=1")));
  });

  app.get(
    "/notes",
    page(async (req, res) => {
      const v = await viewer(req);
      if (!v.user) return res.redirect(303, "/login?next=/notes");
      res.send(notesPage(v, await notes.list(v.user.id)));
    }),
  );

  app.post(
    "/notes",
    page(async (req, res) => {
      const userId = legacySession(req).userId;
      if (!userId) return res.redirect(303, "/login?next=/notes");
      const body = parseNoteBody(req.body.body);
      if (body) await notes.add(userId, body);
      res.redirect(303, "/notes");
    }),
  );

  app.post(
    "/notes/:id/delete",
    page(async (req, res) => {
      const userId = legacySession(req).userId;
      if (!userId) return res.redirect(303, "/login?next=/notes");
      await notes.remove(userId, Number(req.params.id));
      res.redirect(303, "/notes");
    }),
  );

  app.get(
    "/admin",
    page(async (req, res) => {
      const [v, sessions] = await Promise.all([viewer(req), describe.countSessions()]);
      res.send(
        adminPage(v, {
          database: describe.database,
          sessionStore: describe.sessionStore,
          legacySessionsInStore: sessions,
        }),
      );
    }),
  );

  return app;
}
