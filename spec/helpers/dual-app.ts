/**
 * A two-faced test app: the legacy login (express-session) that produces real legacy cookies, and the
 * migrated app (SuperTokens + dualSession) that must keep those users signed in.
 */
import express from "express";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import request from "supertest";
import { dualSession, type DualSessionOptions } from "../../lib/session/index.js";
import { appInfo, resetSdk } from "./sdk.js";
import { session as expressSession, type SessionStore } from "./legacy-session.js";
import { CookieJar } from "./cookies.js";

export const SECRET = "legacy-secret-1";

/** The old app: POST /login/:id stores `userId` (or passport's layout) in express-session. */
export function legacyApp(
  store: SessionStore,
  opts: { secret?: string | string[]; layout?: "userId" | "passport" | "anonymous" } = {},
) {
  const app = express();
  app.use(expressSession({ secret: opts.secret ?? SECRET, store, resave: false, saveUninitialized: false }));
  app.post("/login/:id", (req, res) => {
    const s = (req as unknown as { session: Record<string, unknown> }).session;
    if (opts.layout === "passport") s.passport = { user: req.params.id };
    else if (opts.layout === "anonymous") s.cart = ["book"];
    else s.userId = req.params.id;
    res.json({ ok: true });
  });
  return app;
}

export async function legacyLogin(
  store: SessionStore,
  userId: string,
  opts: Parameters<typeof legacyApp>[1] = {},
): Promise<CookieJar> {
  const res = await request(legacyApp(store, opts)).post(`/login/${userId}`);
  if (res.status !== 200) throw new Error(`legacy login failed: ${res.status}`);
  return new CookieJar().update(res);
}

export function initSuperTokens(connectionURI: string, sessionConfig: Parameters<typeof Session.init>[0] = {}) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI },
    appInfo,
    recipeList: [Session.init({ getTokenTransferMethod: () => "cookie", ...sessionConfig })],
  });
}

/** The migrated app. `expressApp` lets a test run it on Express 4. */
export function migratedApp(
  options: DualSessionOptions,
  opts: { express?: typeof express; mountExpressSession?: "before" | "after"; store?: SessionStore } = {},
) {
  const ex = opts.express ?? express;
  const app = ex();
  app.use(middleware());
  const legacyMw = opts.store
    ? expressSession({ secret: SECRET, store: opts.store, resave: false, saveUninitialized: false })
    : undefined;
  if (legacyMw && opts.mountExpressSession === "before") app.use(legacyMw);
  const mw = dualSession(options);
  app.use("/api", mw);
  if (legacyMw && opts.mountExpressSession === "after") app.use(legacyMw);
  app.get("/api/me", (req, res) => {
    const s = (req as unknown as { session: Session.SessionContainer }).session;
    res.json({ userId: s.getUserId(), handle: s.getHandle(), payload: s.getAccessTokenPayload() });
  });
  app.post("/api/me", (req, res) => {
    const s = (req as unknown as { session: Session.SessionContainer }).session;
    res.json({ userId: s.getUserId() });
  });
  app.use(errorHandler());
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ message: err.message });
  });
  return { app, mw };
}
