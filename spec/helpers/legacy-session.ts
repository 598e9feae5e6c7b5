import { createRequire } from "node:module";
import type { RequestHandler } from "express";

/*
 * express-session, connect-redis and connect-pg-simple, loaded without their type declarations.
 *
 * Why: `@types/express-session` (also imported by connect-redis' .d.ts) augments `Request.session` for the
 * whole TypeScript program. tsconfig.json type-checks every spec together, and with that augmentation in the
 * program SuperTokens' `verifySession()` handlers stop compiling (TS2769; see environment.md "Type clash").
 * A `require` with the small local types below keeps the augmentation out.
 */

const require = createRequire(import.meta.url);

type Callback = (err?: unknown, value?: unknown) => void;

/** What specs need from an express-session store. Assignable to lib's `LegacyStoreLike`. */
export interface SessionStore {
  get(sid: string, callback: Callback): unknown;
  set(sid: string, data: unknown, callback?: Callback): unknown;
  destroy(sid: string, callback?: Callback): unknown;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface SessionOptions {
  secret: string | string[];
  store?: SessionStore;
  name?: string;
  resave?: boolean;
  saveUninitialized?: boolean;
  unset?: "keep" | "destroy";
}

/** `req.session` and `req.sessionID` as express-session sets them, for route handlers in specs. */
export interface LegacyRequest {
  session: Record<string, unknown>;
  sessionID: string;
}

export const session = require("express-session") as ((options: SessionOptions) => RequestHandler) & {
  MemoryStore: new () => SessionStore & { sessions: Record<string, string> };
};

export const RedisStore = (
  require("connect-redis") as {
    RedisStore: new (options: { client: unknown; prefix?: string }) => SessionStore & {
      clear(): Promise<unknown>;
    };
  }
).RedisStore;

export interface PgStoreOptions {
  pool?: unknown;
  conString?: string;
  schemaName?: string;
  tableName?: string;
  createTableIfMissing?: boolean;
  pruneSessionInterval?: false;
  errorLog?: (...args: unknown[]) => void;
}

export const PgStore = (
  require("connect-pg-simple") as (s: unknown) => new (options: PgStoreOptions) => SessionStore & {
    close(): Promise<void> | void;
  }
)(session);
