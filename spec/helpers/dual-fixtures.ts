/**
 * Fixtures shared by the dualSession specs: a real HTTP listener (parallel requests need one server, not one
 * per supertest call), counting store wrappers, the legacy sid inside a jar, and debug-output capture.
 */
import http from "node:http";
import { format } from "node:util";
import type { AddressInfo } from "node:net";
import createDebug from "debug";
import express from "express";
import Session, { type SessionContainer } from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import type { RequestListener } from "node:http";
import { dualSession, type DualSessionOptions } from "../../lib/session/index.js";
import { readLegacySid } from "../../lib/session/legacy-cookie.js";
import type { CookieJar } from "./cookies.js";
import { session as expressSession, type SessionStore } from "./legacy-session.js";
import { SECRET } from "./dual-app.js";

/**
 * Listen on a free loopback port; `close()` also drops keep-alive sockets so the process can exit.
 * `maxHeaderSize` raises Node's 16 KiB request-header limit, so that oversized Cookie headers reach the app.
 */
export async function serve(
  app: RequestListener,
  options: { maxHeaderSize?: number } = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer({ maxHeaderSize: options.maxHeaderSize }, app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The legacy session id a jar's `connect.sid` names (verified with the test secret). */
export function sidOf(jar: CookieJar, secrets: string[] = [SECRET], name = "connect.sid"): string {
  const read = readLegacySid(`${name}=${jar.get(name) ?? ""}`, name, secrets);
  if (read.status !== "OK") throw new Error(`jar holds no verifiable ${name}`);
  return read.sid;
}

export interface StoreCalls {
  get: number;
  destroy: number;
}

/** Counts the calls dualSession makes on a store; the store itself is used unchanged. */
export function countCalls<S extends SessionStore>(store: S): { store: S; calls: StoreCalls } {
  const calls: StoreCalls = { get: 0, destroy: 0 };
  const get = store.get.bind(store);
  const destroy = store.destroy.bind(store);
  store.get = (sid, cb) => {
    calls.get++;
    return get(sid, cb);
  };
  store.destroy = (sid, cb) => {
    calls.destroy++;
    return destroy(sid, cb);
  };
  return { store, calls };
}

/** Every line `supertokens-migrate:*` debug loggers print while capturing, formatted as they would be. */
export function captureDebug(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const previousNamespaces = createDebug.disable();
  const previousLog = createDebug.log;
  createDebug.enable("supertokens-migrate,supertokens-migrate:*");
  // Children made with `.extend()` copy their parent's own `log` (unset), so they fall back to createDebug.log.
  createDebug.log = (...args: unknown[]) => {
    lines.push(format(...args));
  };
  return {
    lines,
    stop() {
      createDebug.log = previousLog;
      createDebug.disable();
      if (previousNamespaces) createDebug.enable(previousNamespaces);
    },
  };
}

export const sessionsOf = (userId: string) => Session.getAllSessionHandlesForUser(userId);

/** Set-Cookie lines of a response, as a list. */
export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers["set-cookie"];
  return Array.isArray(raw) ? (raw as string[]) : typeof raw === "string" ? [raw] : [];
}

/** Polls `cond` on each turn of the event loop; for effects that finish after the response (retirement). */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface FullAppOptions {
  /** Run the app on this Express (default: Express 5). */
  express?: typeof express;
  /** Mount express-session on the whole app, before or after dualSession. */
  expressSession?: {
    where: "before" | "after";
    store: SessionStore;
    unset?: "keep" | "destroy";
    secret?: string | string[];
  };
  /** Options for the `/verify` routes' verifySession(), to compare with dualSession under the same options. */
  verify?: Parameters<typeof verifySession>[0];
}

/**
 * The migrated app, with more routes than dual-app's `migratedApp`:
 * - `/api/*` behind dualSession: `GET|POST /api/me`, `GET /api/optional` (sessionRequired: false routes),
 *   `POST /api/legacy-note` (writes express-session data through `req.legacySession`), `GET /api/merge`
 *   (updates the access token payload);
 * - `/verify/me` behind plain verifySession(), to compare answers;
 * - `/legacy/cart` (GET, POST): a route that only uses express-session, as untouched legacy code would.
 */
export function fullApp(options: DualSessionOptions, opts: FullAppOptions = {}) {
  const ex = opts.express ?? express;
  const app = ex();
  app.use(middleware());
  const es = opts.expressSession;
  const legacyMw = es
    ? expressSession({
        secret: es.secret ?? SECRET,
        store: es.store,
        resave: false,
        saveUninitialized: false,
        ...(es.unset ? { unset: es.unset } : {}),
      })
    : undefined;
  if (legacyMw && es!.where === "before") app.use(legacyMw);
  const mw = dualSession(options);
  app.use("/api", mw);
  if (legacyMw && es!.where === "after") app.use(legacyMw);

  const st = (req: unknown) => (req as { session?: SessionContainer }).session;
  const me = (req: express.Request, res: express.Response) => {
    const s = st(req)!;
    res.json({ userId: s.getUserId(), handle: s.getHandle(), payload: s.getAccessTokenPayload() });
  };
  app.get("/api/me", me);
  app.post("/api/me", me);
  app.get("/api/optional", (req, res) => {
    const s = st(req);
    res.json({ session: s === undefined ? null : { userId: s.getUserId(), handle: s.getHandle() } });
  });
  app.post("/api/legacy-note", (req, res) => {
    const legacy = (req as unknown as { legacySession?: Record<string, unknown> }).legacySession;
    if (legacy) legacy.note = req.query.note;
    res.json({ userId: st(req)!.getUserId(), wrote: legacy !== undefined });
  });
  app.get("/api/merge", async (req, res, next) => {
    try {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the specs send one plain string
      await st(req)!.mergeIntoAccessTokenPayload({ merged: String(req.query.value) });
      res.json({ userId: st(req)!.getUserId() });
    } catch (err) {
      next(err);
    }
  });
  app.get("/verify/me", verifySession(opts.verify), me);
  app.post("/verify/me", verifySession(opts.verify), me);
  app.get("/legacy/cart", (req, res) => {
    const s = (req as unknown as { session?: Record<string, unknown> }).session;
    res.json({ cart: s?.cart ?? null, userId: s?.userId ?? null });
  });
  app.post("/legacy/cart", (req, res) => {
    const s = (req as unknown as { session: Record<string, unknown> }).session;
    // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the specs send one plain string
    s.cart = [...((s.cart as string[] | undefined) ?? []), String(req.query.item)];
    res.json({ cart: s.cart });
  });
  app.use(errorHandler());
  app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ message: err.message });
  });
  return { app, mw };
}
