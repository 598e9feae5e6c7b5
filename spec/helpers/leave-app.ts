/**
 * The app of the leave specs: one that has left SuperTokens for express-session (on Redis), with
 * leaveSuperTokens() in front of /app. Its SuperTokens side is only what the way back needs: a sign-in that
 * creates a real SuperTokens session (the users still holding one), and beside it a route that checks
 * SuperTokens tokens against the core (checkDatabase), to see whether the old tokens still work after the move.
 */
import express from "express";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import type { createClient } from "redis";
import { leaveSuperTokens, type LeaveSuperTokensOptions } from "../../lib/leave/index.js";
import { session as expressSession, type LegacyRequest, type SessionStore } from "./legacy-session.js";

export interface LeavingApp {
  app: express.Express;
  /**
   * A SuperTokens-only app on the same SDK: GET /st/me checks SuperTokens tokens against the core
   * (checkDatabase). Apart from `app` because verifySession and express-session both own `req.session`.
   */
  stApp: express.Express;
  /** The user id of every createSession call, in order. */
  created: string[];
  /** Every onConverted event, in order. */
  converted: { userId: string; sessionHandle: string; revoked: boolean }[];
  /** The user id of every run of POST /app/transfer (an unsafe route of the new system), in order. */
  transfers: string[];
}

/** express-session's store, as it sits on `req.sessionStore`: `load` gives a Session for a stored sid. */
type StoreWithLoad = { load(sid: string, callback: (err?: Error, session?: unknown) => void): void };

type SavableSession = Record<string, unknown> & {
  regenerate(cb: (e?: Error) => void): void;
  save(cb: (e?: Error) => void): void;
};

/**
 * `options` go to leaveSuperTokens() as they are; `afterCreate` runs once createSession's save has been
 * acknowledged by the store, before createSession resolves.
 */
export function leavingApp(
  store: SessionStore,
  options: Partial<LeaveSuperTokensOptions> & { afterCreate?: () => void } = {},
): LeavingApp {
  const created: string[] = [];
  const converted: LeavingApp["converted"] = [];
  const transfers: string[] = [];
  const { afterCreate, ...leaveOptions } = options;
  const app = express();
  app.use(expressSession({ secret: "new-system", store, resave: false, saveUninitialized: false }));
  app.use(middleware());
  app.post("/st-login/:id", async (req, res) => {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.params.id));
    res.json({ ok: true });
  });
  // The new system's own sign-in.
  app.post("/new-login/:id", (req, res) => {
    (req as unknown as LegacyRequest).session.userId = req.params.id;
    res.json({ ok: true });
  });
  app.use(
    "/app",
    leaveSuperTokens({
      hasSession: (req) => typeof (req as LegacyRequest).session.userId === "string",
      // As the README shows it.
      createSession: (req, _res, userId) =>
        new Promise<string>((resolve, reject) => {
          created.push(userId);
          const r = req as { session: SavableSession };
          r.session.regenerate((err) => {
            if (err) return reject(err);
            r.session.userId = userId;
            r.session.save((e) => {
              if (e) return reject(e);
              afterCreate?.();
              resolve((req as { sessionID: string }).sessionID);
            });
          });
        }),
      joinSession: (req, _res, sid) =>
        new Promise<void>((resolve, reject) => {
          const r = req as { sessionID: string; session: unknown; sessionStore: StoreWithLoad };
          r.sessionStore.load(sid as string, (err, loaded) => {
            if (err) return reject(err);
            if (loaded) {
              r.sessionID = sid as string;
              r.session = loaded;
            }
            resolve();
          });
        }),
      onConverted: (event) => converted.push(event),
      ...leaveOptions,
    }),
  );
  app.get("/app/me", (req, res) => {
    const r = req as unknown as LegacyRequest;
    if (typeof r.session.userId !== "string") return res.status(401).json({ message: "not signed in" });
    res.json({ userId: r.session.userId, sid: r.sessionID });
  });
  app.post("/app/transfer", (req, res) => {
    const r = req as unknown as LegacyRequest;
    if (typeof r.session.userId !== "string") return res.status(401).json({ message: "not signed in" });
    transfers.push(r.session.userId);
    res.json({ transferred: true, userId: r.session.userId });
  });
  app.get("/app/public", (_req, res) => {
    res.json({ public: true });
  });
  app.use(errorHandler());
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    // express-session reports a failed save from its end-of-response hook, after the answer has gone out.
    if (res.headersSent) return;
    res.status(500).json({ message: err.message });
  });
  const stApp = express();
  stApp.use(middleware());
  stApp.get("/st/me", verifySession({ checkDatabase: true }), (req, res) => {
    res.json({ userId: (req as unknown as { session: Session.SessionContainer }).session.getUserId() });
  });
  stApp.use(errorHandler());
  return { app, stApp, created, converted, transfers };
}

/** The new system's sessions in Redis under `prefix`: sid -> stored session. */
export async function newSessions(
  redis: ReturnType<typeof createClient>,
  prefix: string,
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  for (const key of await redis.keys(`${prefix}*`)) {
    const raw = await redis.get(key);
    if (raw !== null) found.set(key.slice(prefix.length), JSON.parse(raw) as Record<string, unknown>);
  }
  return found;
}

/** The Set-Cookie lines of a response, by cookie name (the last one wins). */
export function setCookies(res: { headers: Record<string, unknown> }): Map<string, string> {
  const raw = res.headers["set-cookie"];
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === "string" ? [raw] : [];
  return new Map(list.map((line) => [line.slice(0, line.indexOf("=")), line]));
}

/** A Set-Cookie line that deletes its cookie: empty value and an expiry in the past. */
export function isClearing(line: string | undefined): boolean {
  if (line === undefined) return false;
  const value = line.slice(line.indexOf("=") + 1, line.indexOf(";"));
  const expires = /;\s*expires=([^;]+)/i.exec(line)?.[1];
  return value === "" && expires !== undefined && Date.parse(expires) <= Date.now();
}

/** The sid inside express-session's signed cookie (`s:<sid>.<signature>`, URL-encoded). */
export function sidOf(cookieValue: string | undefined): string | undefined {
  if (cookieValue === undefined) return undefined;
  const decoded = decodeURIComponent(cookieValue);
  return decoded.startsWith("s:") ? decoded.slice(2, decoded.lastIndexOf(".")) : undefined;
}
