import bcrypt from "bcrypt";
import express, { type NextFunction, type Request, type Response } from "express";
import * as oidc from "openid-client";
import { Strategy as OidcStrategy } from "openid-client/passport";
import { ACME, LEGACY_CALLBACK_PATH, signInWithProvider, type ProviderSignIn } from "./acme.js";
import type { Queryable } from "./db.js";
import { Passport, session, type LegacySession, type SessionStore } from "./legacy-modules.js";
import { notesRepository, parseNoteBody } from "./notes.js";
import { listUsers, roleOf } from "./roles.js";
import type { Story } from "./story.js";
import type { Viewer } from "./views/html.js";
import { adminPage, errorPage, homePage, loginPage, notesPage, signupPage, usersPage } from "./views/pages.js";
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
  /**
   * "Sign in with Acme": the provider as openid-client discovered it, and this app's origin (the callback URL
   * registered at Acme is built from it). Without it the login page has no Acme button.
   */
  acme?: { config: oidc.Configuration; origin: string; log?: (line: string) => void };
}

/** A bcrypt hash of nothing anyone types, so an unknown email costs what a wrong password costs. */
let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= bcrypt.hash("no-such-user", 10));

/**
 * The app as it was before the migration: its own login form, bcrypt hashes in its users table, and
 * express-session keeping `userId` in the store. Nothing here knows about SuperTokens.
 */
export function createLegacyApp({ db, store, secret, describe, story, acme }: LegacyAppOptions): express.Express {
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
      res.send(loginPage(await viewer(req), { next: safeNext(req.query.next), notice, acme: Boolean(acme) }));
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
        res
          .status(401)
          .send(loginPage(await viewer(req), { error: "Wrong email or password.", email, next, acme: Boolean(acme) }));
        return;
      }
      await signIn(req, row.id);
      res.redirect(303, next);
    }),
  );

  /** A new session id at sign-in (session fixation), then the user id: what dualSession() reads later. */
  async function signIn(req: Request, userId: string): Promise<void> {
    const s = legacySession(req);
    await new Promise<void>((resolve, reject) => s.regenerate((err) => (err ? reject(err) : resolve())));
    legacySession(req).userId = userId;
    await new Promise<void>((resolve, reject) => legacySession(req).save((err) => (err ? reject(err) : resolve())));
    story?.mark("legacy-sign-in");
  }

  if (acme) mountAcme(acme);

  /**
   * "Sign in with Acme" as a passport app has it: openid-client's OpenID Connect strategy (authorization code with
   * PKCE; its state lives in express-session until the callback), the provider's userinfo, and the app's own rule
   * for provider identities (signInWithProvider). passport only authenticates here (`session: false`): the app
   * keeps `req.session.userId`, exactly as its password form does.
   */
  function mountAcme(settings: NonNullable<LegacyAppOptions["acme"]>): void {
    const passport = new Passport();
    /** passport's verify step: who the person is at Acme, and which user of this app that makes them. */
    const verifyAcme = (
      tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
      verified: (err: unknown, user?: unknown, info?: unknown) => void,
    ): void => {
      const sub = tokens.claims()?.sub;
      if (!sub) return verified(new Error("Acme answered without an ID token"));
      oidc
        .fetchUserInfo(settings.config, tokens.access_token, sub)
        .then((info) =>
          signInWithProvider(db, ACME, {
            sub,
            email: typeof info.email === "string" ? info.email : undefined,
            emailVerified: info.email_verified === true,
            name: typeof info.name === "string" ? info.name : undefined,
          }),
        )
        .then(
          (result) => (result.status === "OK" ? verified(null, result) : verified(null, false, result)),
          (err: unknown) => verified(err),
        );
    };
    passport.use(
      ACME,
      new OidcStrategy(
        {
          name: ACME,
          config: settings.config,
          scope: "openid email profile",
          callbackURL: `${settings.origin}${LEGACY_CALLBACK_PATH}`,
        },
        verifyAcme,
      ),
    );

    app.get("/auth/acme", passport.authenticate(ACME, { session: false }));

    const refused = async (req: Request, res: Response, status: number, error: string) =>
      res.status(status).send(loginPage(await viewer(req), { error, next: "/notes", acme: true }));

    app.get(LEGACY_CALLBACK_PATH, (req: Request, res: Response, next: NextFunction) => {
      passport.authenticate(ACME, { session: false }, (err, user, info) => {
        const done = async () => {
          if (err) {
            settings.log?.(`Sign in with Acme failed: ${err instanceof Error ? err.message : "unknown error"}`);
            // Acme unreachable (fetch failed) is an outage; anything else is a broken or replayed callback.
            if (err instanceof TypeError) {
              res.setHeader("Retry-After", "5");
              return refused(req, res, 503, "Acme cannot be reached right now. Try again in a few seconds.");
            }
            return refused(req, res, 400, "Signing in with Acme failed. Please start again.");
          }
          const outcome = (user || info) as ProviderSignIn | { message?: string } | undefined;
          if (outcome && "status" in outcome && outcome.status === "OK") {
            settings.log?.(
              `user ${outcome.userId} signed in with Acme` +
                (outcome.created ? " (new account)" : outcome.linked ? " (Acme linked by verified email)" : ""),
            );
            await signIn(req, outcome.userId);
            return res.redirect(303, "/notes");
          }
          if (outcome && "status" in outcome && outcome.status === "EMAIL_NOT_VERIFIED")
            return refused(
              req,
              res,
              403,
              `Acme has not verified ${outcome.email}, and an account here already uses it. Sign in with your ` +
                "password instead.",
            );
          if (outcome && "status" in outcome && outcome.status === "NO_EMAIL")
            return refused(req, res, 403, "Acme did not share an email address, which this app needs.");
          // passport's fail(): the user cancelled at Acme, or the callback came without the state this browser
          // started with (an old tab, another browser).
          const message = outcome && "message" in outcome ? outcome.message : "not signed in";
          settings.log?.(`Sign in with Acme did not complete: ${message}`);
          return refused(req, res, 401, "Signing in with Acme did not complete. Please try again.");
        };
        done().catch(next);
      })(req, res, next);
    });
  }

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

  app.get(
    "/admin/users",
    page(async (req, res) => {
      const v = await viewer(req);
      if (!v.user) return res.redirect(303, "/login?next=/admin/users");
      if ((await roleOf(db, v.user.id)) !== "admin") {
        res.status(403).send(errorPage(v, 403, "Only admins can see the user list."));
        return;
      }
      res.send(usersPage(v, await listUsers(db)));
    }),
  );

  return app;
}
