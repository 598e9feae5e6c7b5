/**
 * The one door to supertokens-node files outside its public entry points. Nothing else in `lib/` imports
 * `supertokens-node/lib/...`.
 *
 * Why a door: those files are CommonJS with `exports.default = Class`. How such a namespace looks depends on
 * who imports it. Under plain Node ESM `default` is the whole `module.exports` object (the class sits at
 * `default.default`); under CommonJS interop, tsx or a bundler, `default` is the class itself. Each internal
 * is therefore found by its shape, never by assuming one layout, and a missing or reshaped internal throws an
 * error naming the SDK version and the internal instead of silently degrading (a default that quietly trusted
 * no origin once hid here).
 */
import * as combinedJwksModule from "supertokens-node/lib/build/combinedRemoteJWKSet.js";
import * as querierModule from "supertokens-node/lib/build/querier.js";
import * as supertokensModule from "supertokens-node/lib/build/supertokens.js";
import * as versionModule from "supertokens-node/lib/build/version.js";
import { MigrateError } from "./errors.js";
import type { UserContext } from "./user-context.js";

/** What we use of the SDK's core querier: path, params and body as its own recipes pass them. */
export interface SdkQuerier {
  // Each answers the core's JSON as `T`, unchecked: callers test the fields they act on.
  sendGetRequest<T = unknown>(
    path: unknown,
    params: Record<string, string | undefined>,
    userContext: UserContext,
  ): Promise<T>;
  sendPostRequest<T = unknown>(path: unknown, body: Record<string, unknown>, userContext: UserContext): Promise<T>;
  sendPutRequest<T = unknown>(
    path: unknown,
    body: Record<string, unknown>,
    params: Record<string, string>,
    userContext: UserContext,
  ): Promise<T>;
}

/** What we use of the SDK's initialised instance: the app info that names the trusted origins. */
export interface SdkInstance {
  appInfo: {
    apiDomain: { getAsStringDangerous(): string };
    getOrigin(input: { request: unknown; userContext: UserContext }): { getAsStringDangerous(): string };
  };
}

interface SuperTokensClass {
  getInstanceOrThrowError(): SdkInstance;
}
interface QuerierClass {
  getNewInstanceOrThrowError(instance: SdkInstance, recipeId?: string): SdkQuerier;
}

/** A JOSE protected header, as jose passes it to a key set. */
export interface JwsHeader {
  alg?: string;
  kid?: string;
  [key: string]: unknown;
}

/** A key set as jose calls it: the key for a token's protected header, fetching the JWKS when it must. */
export type SdkKeySet = (header: JwsHeader) => Promise<unknown>;

/** The installed supertokens-node version, for error messages. */
export function sdkVersion(): string {
  const found = pick(versionModule, (v) => typeof (v as { version?: unknown }).version === "string");
  return found ? (found as { version: string }).version : "unknown";
}

function internalMissing(internal: string): MigrateError {
  return new MigrateError(
    "ERR_MIGRATE_SDK_INTERNALS",
    `supertokens-node ${sdkVersion()} has no usable ${internal}. This version of supertokens-migrate supports the ` +
      "supertokens-node versions named in its peerDependencies; install one of those.",
    { status: 500 },
  );
}

/** The namespace itself, its `default`, or `default.default`: whichever has the shape. */
function pick(namespace: object, fits: (candidate: object) => boolean): object | undefined {
  const inner = (value: unknown): unknown => (value as { default?: unknown } | undefined)?.default;
  const candidates: unknown[] = [namespace, inner(namespace), inner(inner(namespace))];
  return candidates.find(
    (c): c is object => (typeof c === "object" || typeof c === "function") && c !== null && fits(c),
  );
}

const hasFunction = (name: string) => (candidate: object) =>
  typeof (candidate as Record<string, unknown>)[name] === "function";

/** `lib/build/supertokens.js`'s SuperTokens class. */
function superTokensClass(): SuperTokensClass {
  const found = pick(supertokensModule, hasFunction("getInstanceOrThrowError"));
  if (!found) throw internalMissing("lib/build/supertokens.js SuperTokens.getInstanceOrThrowError");
  return found as SuperTokensClass;
}

/** `lib/build/querier.js`'s Querier class (its request methods are instance properties, checked per instance). */
function querierClass(): QuerierClass {
  const holder = pick(
    querierModule,
    (m) =>
      typeof (m as { Querier?: { getNewInstanceOrThrowError?: unknown } }).Querier?.getNewInstanceOrThrowError ===
      "function",
  );
  if (!holder) throw internalMissing("lib/build/querier.js Querier.getNewInstanceOrThrowError");
  return (holder as { Querier: QuerierClass }).Querier;
}

/**
 * The initialised SDK instance, or undefined before `supertokens.init()` (an expected state: callers answer
 * without it and ask again later). A missing internal throws.
 */
export function sdkInstance(): SdkInstance | undefined {
  const SuperTokens = superTokensClass();
  try {
    return SuperTokens.getInstanceOrThrowError();
  } catch {
    return undefined;
  }
}

/**
 * The SDK's querier for the initialised instance: connection URI, API key, app path prefix and CDI version.
 * `recipeId` sets the `rid` header, which the core needs where two recipes share a path (PUT /recipe/user).
 */
export function sdkQuerier(recipeId?: string): SdkQuerier {
  const Querier = querierClass();
  const querier = Querier.getNewInstanceOrThrowError(superTokensClass().getInstanceOrThrowError(), recipeId);
  for (const method of ["sendGetRequest", "sendPostRequest", "sendPutRequest"] as const) {
    if (typeof querier?.[method] !== "function") throw internalMissing(`lib/build/querier.js Querier#${method}`);
  }
  return querier;
}

/**
 * The origins the SDK's appInfo names (apiDomain, and websiteDomain when it is static), or undefined before
 * init. A per-request `origin` function cannot be evaluated without a request; then apiDomain alone is named.
 */
export function sdkAppOrigins(instance: SdkInstance): string[] {
  const info = instance.appInfo;
  if (typeof info?.apiDomain?.getAsStringDangerous !== "function" || typeof info.getOrigin !== "function") {
    throw internalMissing("SuperTokens instance appInfo (apiDomain, getOrigin)");
  }
  const origins = [info.apiDomain.getAsStringDangerous()];
  try {
    origins.push(info.getOrigin({ request: undefined, userContext: {} }).getAsStringDangerous());
  } catch {
    // a per-request origin function cannot be evaluated here; apiDomain alone is trusted
  }
  return origins;
}

/** What we read of an initialised recipe: its built implementations and its config. */
export interface SdkRecipe {
  recipeInterfaceImpl?: Record<string, unknown>;
  apiImpl?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

/** The initialised recipe `recipeId` ("thirdparty", "passwordless", "accountlinking"...), or undefined. */
export function sdkRecipe(recipeId: string): SdkRecipe | undefined {
  const instance: object | undefined = sdkInstance();
  if (!instance) return undefined;
  const get = (instance as { getRecipeInstance?: unknown }).getRecipeInstance;
  if (typeof get !== "function") throw internalMissing("lib/build/supertokens.js SuperTokens#getRecipeInstance");
  const recipe: unknown = get.call(instance, recipeId);
  return typeof recipe === "object" && recipe !== null ? recipe : undefined;
}

/** `lib/build/combinedRemoteJWKSet.js`'s getCombinedJWKS. */
function combinedJwksGetter(): (querier: unknown, config: unknown) => SdkKeySet {
  const found = pick(combinedJwksModule, hasFunction("getCombinedJWKS"));
  if (!found) throw internalMissing("lib/build/combinedRemoteJWKSet.js getCombinedJWKS");
  return (found as { getCombinedJWKS: (querier: unknown, config: unknown) => SdkKeySet }).getCombinedJWKS;
}

/**
 * The key set the SDK verifies access tokens with: the same object, so the same cache, as Session.getSession's.
 * Built the way the SDK builds it (customFramework.js, getSessionForSSR): the session recipe's querier and config.
 * Calling it with a token's header fetches the JWKS only when the SDK would (none cached, stale, or an unknown kid
 * outside jose's cooldown); a fetch that fails rejects with that failure, not with a JOSE "no matching key".
 */
export function sdkAccessTokenKeySet(): SdkKeySet {
  const instance = superTokensClass().getInstanceOrThrowError() as SdkInstance & {
    getRecipeInstanceOrThrow?: (id: string) => { config?: unknown; getRecipeId?: () => string };
  };
  if (typeof instance.getRecipeInstanceOrThrow !== "function") {
    throw internalMissing("lib/build/supertokens.js SuperTokens#getRecipeInstanceOrThrow");
  }
  const recipe = instance.getRecipeInstanceOrThrow("session");
  if (typeof recipe?.getRecipeId !== "function" || typeof recipe.config !== "object" || recipe.config === null) {
    throw internalMissing("session recipe config and getRecipeId");
  }
  const querier = querierClass().getNewInstanceOrThrowError(instance, recipe.getRecipeId());
  if (typeof (querier as { getAllCoreUrlsForPath?: unknown }).getAllCoreUrlsForPath !== "function") {
    throw internalMissing("lib/build/querier.js Querier#getAllCoreUrlsForPath");
  }
  return combinedJwksGetter()(querier, recipe.config);
}

/**
 * Checks every internal we use, for a start-up self-test and for the test that runs under both module
 * systems. Throws `ERR_MIGRATE_SDK_INTERNALS` naming the SDK version and the internal.
 */
export function checkSdkInternals(): { version: string } {
  superTokensClass();
  querierClass();
  combinedJwksGetter();
  if (sdkInstance()) sdkQuerier();
  if (sdkVersion() === "unknown") throw internalMissing("lib/build/version.js version");
  return { version: sdkVersion() };
}
