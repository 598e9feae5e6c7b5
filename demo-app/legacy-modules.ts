import { createRequire } from "node:module";
import type { RequestHandler } from "express";

/*
 * express-session, connect-redis and connect-pg-simple, loaded without their type declarations.
 *
 * In your own app write `import session from "express-session"`. This repository type-checks the demo together
 * with every spec in one TypeScript program, and `@types/express-session` (also pulled in by connect-redis'
 * .d.ts) augments `Request.session` for the whole program, which breaks SuperTokens' `verifySession()` handlers
 * in other specs (TS2769). Requiring them with the small types below keeps that augmentation out. The demo's
 * route code reads the SuperTokens session through `sessionOf(req)`, which compiles either way.
 */

const require = createRequire(import.meta.url);

type Callback = (err?: unknown, value?: unknown) => void;

/** An express-session store, as much as the demo and dualSession() use of it. */
export interface SessionStore {
  get(sid: string, callback: Callback): unknown;
  set(sid: string, data: unknown, callback?: Callback): unknown;
  destroy(sid: string, callback?: Callback): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** express-session's `req.session`, as the legacy routes use it. */
export interface LegacySession {
  userId?: string;
  regenerate(callback: (err?: Error) => void): void;
  destroy(callback: (err?: Error) => void): void;
  save(callback: (err?: Error) => void): void;
}

export interface SessionOptions {
  secret: string | string[];
  store?: SessionStore;
  name?: string;
  resave?: boolean;
  saveUninitialized?: boolean;
  cookie?: { httpOnly?: boolean; sameSite?: "lax" | "strict"; secure?: boolean; maxAge?: number };
}

export const session = require("express-session") as (options: SessionOptions) => RequestHandler;

export const RedisStore = (
  require("connect-redis") as {
    RedisStore: new (options: { client: unknown; prefix?: string }) => SessionStore;
  }
).RedisStore;

export interface PgStoreOptions {
  pool: { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> };
  schemaName?: string;
  tableName?: string;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false | number;
}

export const PgStore = (
  require("connect-pg-simple") as (s: unknown) => new (options: PgStoreOptions) => SessionStore & {
    close(): Promise<void>;
  }
)(require("express-session"));

/**
 * passport, loaded untyped for the same reason: `@types/passport` augments every Express `Request` in the
 * program (`user`, `login`, `logout`). The demo runs its own instance (`new Passport()`), not the module's
 * singleton, so two apps in one process (the tests) do not share strategies.
 */
export interface PassportInstance {
  use(name: string, strategy: unknown): PassportInstance;
  initialize(): RequestHandler;
  authenticate(
    name: string,
    options: { session: boolean; [key: string]: unknown },
    callback?: (err: unknown, user: unknown, info: unknown) => void,
  ): RequestHandler;
}

export const Passport = (require("passport") as { Passport: new () => PassportInstance }).Passport;
