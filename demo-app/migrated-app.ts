import express, { type NextFunction, type Request, type Response } from "express";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Session from "supertokens-node/recipe/session";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import UserRoles from "supertokens-node/recipe/userroles";
import { errorHandler, middleware } from "supertokens-node/framework/express";
// In your app: from "supertokens-migrate" (and "supertokens-migrate/dev-core" in core.ts).
import {
  createPgLegacyUsers,
  dualSession,
  legacyAuth,
  sessionOf,
  type DualSessionMiddleware,
  type LegacyAuth,
} from "../lib/index.js";
import { ACME, ACME_CLIENT, SUPERTOKENS_CALLBACK_PATH } from "./acme.js";
import type { CoreConnection } from "./core.js";
import type { Queryable } from "./db.js";
import type { SessionStore } from "./legacy-modules.js";
import { notesRepository, parseNoteBody } from "./notes.js";
import type { Outbox } from "./outbox.js";
import { listUsers } from "./roles.js";
import type { Story } from "./story.js";
import type { Viewer } from "./views/html.js";
import {
  adminPage,
  errorPage,
  forgotPasswordPage,
  homePage,
  loginPage,
  notesPage,
  outboxPage,
  refreshPage,
  resetPasswordPage,
  signupPage,
  thirdPartyCallbackPage,
  usersPage,
} from "./views/pages.js";
import { safeNext, staticAssets, superTokensWebBundles } from "./web.js";

export interface MigratedAppOptions {
  db: Queryable;
  /** The legacy app's session store and secret: dualSession() reads the sessions it holds. */
  store: SessionStore;
  secret: string;
  /** This app's origin, e.g. http://127.0.0.1:3000: SuperTokens' apiDomain and websiteDomain. */
  origin: string;
  core: CoreConnection;
  outbox: Outbox;
  log: (line: string) => void;
  describe: { database: string; sessionStore: string; countSessions(): Promise<number> };
  /** The demo guide above every page; the app ticks the steps after the switch. */
  story?: Story;
  /**
   * "Sign in with Acme" through SuperTokens' ThirdParty recipe: the same provider and client the legacy app used,
   * as a custom OpenID Connect provider found through its discovery document. Without it, no ThirdParty.
   */
  acme?: { discoveryUrl: string };
}

export interface MigratedApp {
  app: express.Express;
  sessions: DualSessionMiddleware;
  legacy: LegacyAuth;
}

const LEGACY_COOKIE = "connect.sid";
/** How long a conversion waits for its page to show the banner (one that happened on an API call never does). */
const CONVERSION_MEMORY_MS = 60_000;

/** Was `name` set or cleared by this response so far (dualSession puts its cookies on before the route runs)? */
function cookieOnResponse(res: Response, name: string): "set" | "cleared" | undefined {
  const raw = res.getHeader("set-cookie");
  const lines = Array.isArray(raw) ? raw : typeof raw === "string" ? [raw] : [];
  const line = lines.find((l) => l.startsWith(`${name}=`));
  if (!line) return undefined;
  return /^[^=]+=;|expires=Thu, 01 Jan 1970/i.test(line) ? "cleared" : "set";
}

/** A full page load in a browser, as opposed to the SDK's fetch calls (which refresh and retry by themselves). */
function isPageNavigation(
  method: string,
  accept: string | undefined,
  fetchMode: string | undefined,
  url: string,
): boolean {
  if (method.toUpperCase() !== "GET" || url.startsWith("/api/") || url.startsWith("/auth/")) return false;
  return fetchMode === "navigate" || (accept ?? "").includes("text/html");
}

/**
 * The app with the migration on: SuperTokens EmailPassword and Session, with
 * - `legacyAuth()` as EmailPassword's override: people still only in the `users` table sign in with their old
 *   password (and are moved, keeping their id), cannot have their email signed up by someone else, and can
 *   reset a forgotten password;
 * - `dualSession()` in front of every page and API route: a request that carries only the legacy express-session
 *   cookie is served with a new SuperTokens session for the same user id.
 *
 * Pages stay server-rendered. When a page navigation arrives with an expired access token, dualSession() answers
 * "try refresh token" as verifySession() would; a browser navigation cannot be retried the way the SDK retries a
 * fetch, so `onTryRefreshToken` answers navigations with a small page on which supertokens-web-js refreshes the
 * session and reloads (SuperTokens' own advice for server-side rendering). Fetches get the usual 401 JSON.
 */
export function createMigratedApp(options: MigratedAppOptions): MigratedApp {
  const { db, store, secret, origin, core, outbox, log, describe, story, acme } = options;
  const notes = notesRepository(db);

  // The legacy users table, with its `role` column: legacyAuth() and dualSession() give each user their role as
  // a SuperTokens UserRole when they move, so the admin check below can read the session's roles claim.
  const legacyUsers = createPgLegacyUsers({ pool: db, table: "users", columns: { roles: "role" } });
  const legacy = legacyAuth({
    ...legacyUsers,
    // The legacy app's provider logins: a legacy user's first "Sign in with Acme" through SuperTokens lands on
    // their legacy id, found by the identity the legacy app stored (thirdPartyId "acme" is its provider name).
    async findUserByThirdParty(thirdPartyId, thirdPartyUserId) {
      const { rows } = await db.query<{ id: string; email: string; password_hash: string | null; verified: boolean }>(
        "SELECT u.id::text AS id, u.email, u.password_hash, i.email_verified AND lower(i.email) = lower(u.email) " +
          "AS verified FROM legacy_identities i JOIN users u ON u.id = i.user_id " +
          "WHERE i.provider = $1 AND i.provider_user_id = $2",
        [thirdPartyId, thirdPartyUserId],
      );
      const row = rows[0];
      return row && { id: row.id, email: row.email, passwordHash: row.password_hash, emailVerified: row.verified };
    },
    // The seeded hashes' cost: an unknown email then costs what a wrong password costs.
    dummyHash: "$2b$10$",
    onUserMigrated: (event) => {
      log(
        `user ${event.userId} (${event.email}) moved to SuperTokens on ` +
          `${event.via}${event.hashImported ? ", legacy hash imported" : ""}`,
      );
      if (event.via === "signIn") story?.mark("old-password-sign-in");
    },
    override: {
      // The demo guide's "sign-up refused" step: a sign-up answered "already exists" for an email that only the
      // legacy table holds. An override on top of legacyAuth's sees its finished answer.
      apis: (original) => ({
        ...original,
        async signUpPOST(input) {
          const result = await original.signUpPOST!(input);
          if (story && result.status === "EMAIL_ALREADY_EXISTS_ERROR") {
            const email = input.formFields.find((f) => f.id === "email")?.value;
            const owner = typeof email === "string" ? await legacy.getUserByEmail(email) : undefined;
            if (owner?.source === "legacy") story.mark("sign-up-refused");
          }
          return result;
        },
      }),
    },
  });

  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: core.connectionURI, apiKey: core.apiKey },
    appInfo: {
      appName: "Notes demo",
      apiDomain: origin,
      websiteDomain: origin,
      apiBasePath: "/auth",
      websiteBasePath: "/account",
    },
    recipeList: [
      EmailPassword.init({
        override: legacy,
        emailDelivery: {
          override: (original) => ({
            ...original,
            async sendEmail(input) {
              outbox.add({ to: input.user.email, subject: "Reset your Notes password", link: input.passwordResetLink });
            },
          }),
        },
      }),
      ...(acme
        ? [
            ThirdParty.init({
              signInAndUpFeature: {
                providers: [
                  {
                    config: {
                      thirdPartyId: ACME,
                      name: "Acme",
                      clients: [{ ...ACME_CLIENT, scope: ["openid", "email", "profile"] }],
                      oidcDiscoveryEndpoint: acme.discoveryUrl,
                    },
                  },
                ],
              },
              override: legacy.thirdParty,
            }),
          ]
        : []),
      UserRoles.init(),
      Session.init({
        // A browser app: new sessions travel in cookies unless the client asks for headers. The SDK's default
        // answers a request without an `st-auth-mode` header (every page navigation) with header tokens,
        // which a browser drops; a session dualSession() creates on a page load would then be lost.
        getTokenTransferMethod: ({ req, forCreateNewSession }) =>
          !forCreateNewSession ? "any" : req.getHeaderValue("st-auth-mode") === "header" ? "header" : "cookie",
        errorHandlers: {
          async onTryRefreshToken(message, request, response) {
            const url = request.getOriginalURL();
            if (
              isPageNavigation(
                request.getMethod(),
                request.getHeaderValue("accept"),
                request.getHeaderValue("sec-fetch-mode"),
                url,
              )
            ) {
              response.setStatusCode(401);
              response.sendHTMLResponse(refreshPage({ system: "supertokens" }));
              return;
            }
            // SuperTokens' own answer, which supertokens-web-js recognises.
            response.setStatusCode(401);
            response.sendJSONResponse({ message: "try refresh token" });
          },
        },
      }),
    ],
  });

  // SuperTokens session handles dualSession() just created from a legacy session, until a page shows "your old
  // session was converted" for it (once). onMigration runs inside the middleware, before the route; the handle
  // ties its event to the request whose session has that handle. A request of the same browser given the same
  // session again within the grace window ("reused") shows no second banner.
  const converted = new Map<string, number>();
  const rememberConversion = (handle: string | undefined) => {
    if (!handle) return;
    const now = Date.now();
    for (const [h, until] of converted) if (until < now) converted.delete(h);
    converted.set(handle, now + CONVERSION_MEMORY_MS);
  };

  // One instance for pages and API alike: one grace window and one retirement per legacy session.
  const sessions = dualSession({
    store,
    secret,
    name: LEGACY_COOKIE,
    sessionRequired: false,
    // The role travels with the session: given as a UserRole before the SuperTokens session is created, so the
    // converting response's access token already carries the roles claim.
    getRoles: async (_legacy, userId) => (await legacyUsers.findUserById(userId))?.roles,
    onMigration: (e) => {
      if (e.type === "migrated") rememberConversion(e.sessionHandle);
      if (e.type === "migrated") story?.mark("still-signed-in");
      if (e.type === "retired") story?.mark("legacy-cookie-retired");
      if (e.type === "migrated" || e.type === "retired")
        log(`legacy session ${e.type}${e.userId ? ` for user ${e.userId}` : ""}${e.reason ? ` (${e.reason})` : ""}`);
    },
  });

  const app = express();
  app.disable("x-powered-by");
  app.use(staticAssets());
  app.use(superTokensWebBundles());
  app.use(middleware());
  app.use(express.json({ limit: "16kb" }));
  app.use(sessions);

  async function viewer(req: Request, res: Response): Promise<Viewer> {
    const session = sessionOf(req);
    const hadLegacyCookie = (req.headers.cookie ?? "").split(/;\s*/).some((c) => c.startsWith(`${LEGACY_COOKIE}=`));
    const base: Viewer = {
      system: "supertokens",
      // Converted on this very request: dualSession() reported this session's handle as migrated, and this
      // response is the one that hands the browser its first SuperTokens tokens in place of the legacy cookie.
      convertedNow:
        Boolean(session) &&
        hadLegacyCookie &&
        cookieOnResponse(res, "sAccessToken") === "set" &&
        converted.delete(session!.getHandle()),
      legacyRetiredNow: Boolean(session) && cookieOnResponse(res, LEGACY_COOKIE) === "cleared",
    };
    // The store's destroy may finish after this page is drawn; the cleared cookie already tells the story.
    if (base.legacyRetiredNow) story?.mark("legacy-cookie-retired");
    base.story = story?.view(req.originalUrl);
    if (!session) return base;
    const userId = session.getUserId();
    // The user may still live only in the legacy table: dualSession() moves sessions, not accounts.
    const user = await legacy.getUserById(userId);
    return { ...base, user: { id: userId, email: user?.email ?? "(unknown user)", account: user?.source } };
  }

  const page =
    (fn: (req: Request, res: Response) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) => {
      res.setHeader("Cache-Control", "no-store");
      fn(req, res).catch(next);
    };

  app.get(
    "/",
    page(async (req, res) => res.send(homePage(await viewer(req, res)))),
  );

  app.get(
    "/login",
    page(async (req, res) => {
      const notice = req.query.signedOut
        ? "You are signed out."
        : req.query.reset
          ? "Your password is changed. Sign in with the new one."
          : undefined;
      res.send(loginPage(await viewer(req, res), { next: safeNext(req.query.next), notice, acme: Boolean(acme) }));
    }),
  );
  app.get(
    "/signup",
    page(async (req, res) => res.send(signupPage(await viewer(req, res), {}))),
  );
  app.get(
    "/forgot-password",
    page(async (req, res) => res.send(forgotPasswordPage(await viewer(req, res)))),
  );
  // Where SuperTokens' reset emails point: websiteDomain + websiteBasePath + /reset-password?token=...
  // Where Acme sends the browser back (SUPERTOKENS_CALLBACK_PATH): app.js finishes the sign-in with
  // supertokens-web-js, which posts the code and its PKCE verifier to /auth/signinup.
  if (acme)
    app.get(
      SUPERTOKENS_CALLBACK_PATH,
      page(async (req, res) => res.send(thirdPartyCallbackPage(await viewer(req, res), "Acme"))),
    );
  app.get(
    "/account/reset-password",
    page(async (req, res) => res.send(resetPasswordPage(await viewer(req, res)))),
  );

  app.get(
    "/notes",
    page(async (req, res) => {
      const v = await viewer(req, res);
      if (!v.user) return res.redirect(303, "/login?next=/notes");
      res.send(notesPage(v, await notes.list(v.user.id)));
    }),
  );

  app.get(
    "/admin",
    page(async (req, res) => {
      story?.mark("progress");
      const [v, progress, superTokensUsers, legacySessions] = await Promise.all([
        viewer(req, res),
        legacy.migrationProgress(),
        supertokens.getUserCount(),
        describe.countSessions(),
      ]);
      res.send(
        adminPage(v, {
          users: { ...progress, superTokensUsers },
          sessions: sessions.stats(),
          legacySessionsInStore: legacySessions,
          database: describe.database,
          sessionStore: describe.sessionStore,
          core: core.description,
        }),
      );
    }),
  );

  // The admin check after the migration: SuperTokens' roles claim in the access token (UserRoles), which
  // dualSession() and legacyAuth() filled from the legacy `role` column when the user or their session moved.
  app.get(
    "/admin/users",
    page(async (req, res) => {
      const v = await viewer(req, res);
      const session = sessionOf(req);
      if (!v.user || !session) return res.redirect(303, "/login?next=/admin/users");
      const roles = await session.getClaimValue(UserRoles.UserRoleClaim);
      if (!roles?.includes("admin"))
        return res.status(403).send(errorPage(v, 403, "Only admins can see the user list."));
      res.send(usersPage(v, await listUsers(db)));
    }),
  );

  app.get(
    "/outbox",
    page(async (req, res) => res.send(outboxPage(await viewer(req, res), outbox.list()))),
  );

  // The API the pages call through supertokens-web-js's fetch.
  const requireSession = (req: Request, _res: Response, next: NextFunction) => {
    if (sessionOf(req)) return next();
    next(
      new Session.Error({ type: Session.Error.UNAUTHORISED, message: "no session", payload: { clearTokens: false } }),
    );
  };
  const userIdOf = (req: Request) => sessionOf(req)!.getUserId();

  app.get(
    "/api/me",
    requireSession,
    page(async (req, res) => {
      const userId = userIdOf(req);
      const user = await legacy.getUserById(userId);
      res.json({ userId, email: user?.email, system: "supertokens", account: user?.source });
    }),
  );
  app.get(
    "/api/notes",
    requireSession,
    page(async (req, res) => res.json({ notes: await notes.list(userIdOf(req)) })),
  );
  app.post(
    "/api/notes",
    requireSession,
    page(async (req, res) => {
      const body = parseNoteBody((req.body as { body?: unknown } | undefined)?.body);
      if (!body) return res.status(400).json({ message: "A note needs some text (at most 2000 characters)." });
      await notes.add(userIdOf(req), body);
      res.status(201).json({ status: "OK" });
    }),
  );
  app.delete(
    "/api/notes/:id",
    requireSession,
    page(async (req, res) => {
      await notes.remove(userIdOf(req), Number(req.params.id));
      res.json({ status: "OK" });
    }),
  );

  app.use(errorHandler());
  app.use((req: Request, res: Response) => {
    res.status(404).send(errorPage({ system: "supertokens" }, 404, `Nothing at ${req.path}.`));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    log(`error on ${req.method} ${req.path}: ${(err as Error)?.message ?? String(err)}`);
    if (res.headersSent) return res.destroy();
    // The package's errors say how to answer: 503 with Retry-After when the core or the legacy store is down.
    const { status: given, retryAfter } = err as { status?: unknown; retryAfter?: unknown };
    const status = given === 503 ? 503 : 500;
    if (status === 503) res.setHeader("Retry-After", String(typeof retryAfter === "number" ? retryAfter : 1));
    const message =
      status === 503 ? "The service is unavailable for a moment. Please try again." : "Something went wrong.";
    if (req.path.startsWith("/api/") || req.path.startsWith("/auth/")) return res.status(status).json({ message });
    res
      .status(status)
      .send(
        errorPage(
          { system: "supertokens" },
          status,
          status === 503 ? message : "Something went wrong. Please try again.",
        ),
      );
  });

  return { app, sessions, legacy };
}
