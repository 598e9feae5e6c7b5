/**
 * CDI versions this dev core answers; supertokens-node 24 asks for 5.4. Older CDIs mint token versions we do not
 * emulate.
 */
export const supportedCdiVersions = ["4.0", "5.0", "5.1", "5.2", "5.3", "5.4"];
export const atLeastCdi4 = (v: string): boolean => Number(v.split(".")[0]) >= 4;

/** App and tenant ids (lower-cased); these tenant ids would shadow API paths. */
export const idPattern = /^[a-z0-9-]+$/;
export const reservedTenantIds: ReadonlySet<string> = new Set(["recipe", "config", "users", "hello"]);

import type { CoreConfig } from "./config.js";
import type { Json } from "./http.js";
import type { KeyRing } from "./keys.js";
import type { AppStorage, CoreStorage } from "./storage/types.js";

/** Everything a route needs to know about the app a request addresses. */
export interface AppContext {
  appId: string;
  storage: AppStorage;
  keys: KeyRing;
  config(): CoreConfig;
}

export interface RouteContext {
  app: AppContext;
  /** "public" when the path names no tenant. */
  tenantId: string;
  method: string;
  query: URLSearchParams;
  body: Json;
  cdiVersion: string;
  rid: string | undefined;
  now: number;
  core: CoreHandle;
}

/** What routes may ask of the running core beyond their own app. */
export interface CoreHandle {
  storage: CoreStorage;
  baseConfig: Record<string, unknown>;
  /** Drop cached contexts after an app's config or existence changed. */
  forgetApp(appId: string): void;
  appContext(appId: string): Promise<AppContext | undefined>;
}

export interface RouteResult {
  body: unknown;
  headers?: Record<string, string>;
  /** text/plain body for /hello */
  text?: string;
}

export type Scope =
  /** Public tenant only (403 otherwise): the core's app-specific APIs. */
  | "app"
  /** Any tenant; the default is public. */
  | "tenant"
  /** Public app and public tenant only: app management. */
  | "base";

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  scope: Scope;
  /** When several handlers share a path the core picks by rid (RecipeRouter); undefined matches any. */
  rid?: string;
  /** /hello and the JWKS skip the api-key and cdi-version checks. */
  open?: boolean;
  handler(ctx: RouteContext): Promise<RouteResult> | RouteResult;
}

export const ok = (body: Json = {}): RouteResult => ({ body: { status: "OK", ...body } });
export const status = (s: string, rest: Json = {}): RouteResult => ({ body: { status: s, ...rest } });
