/**
 * Shared fixtures for driving the real supertokens-node SDK against the dev core. supertokens.init is
 * process-global, so every test that initialises it calls resetSdk() first; the SDK only allows that with
 * TEST_MODE=testing, which this module sets on import.
 */
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { ProviderInput } from "supertokens-node/recipe/thirdparty/types";

process.env.TEST_MODE = "testing";
const require = createRequire(import.meta.url);

const recipeModules = [
  "accountlinking",
  "session",
  "emailpassword",
  "emailverification",
  "usermetadata",
  "multitenancy",
  "jwt",
  "openid",
  "oauth2provider",
  "userroles",
  "thirdparty",
  "passwordless",
  "dashboard",
  "totp",
  "multifactorauth",
  "webauthn",
];

/** Forget every SDK singleton so the next supertokens.init starts clean. */
export function resetSdk(): void {
  for (const name of recipeModules) {
    try {
      require(`supertokens-node/lib/build/recipe/${name}/recipe.js`).default.reset();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    }
  }
  require("supertokens-node/lib/build/supertokens.js").default.reset();
  require("supertokens-node/lib/build/processState.js").ProcessState.getInstance().reset();
}

/** Create an isolated app on the core, as supertokens-node's own tests do; returns its connection URI. */
export async function createCoreApp(
  coreUrl: string,
  coreConfig: Record<string, unknown> = {},
  apiKey?: string,
): Promise<string> {
  const appId = `t${randomUUID()}`;
  const res = await fetch(`${coreUrl}/recipe/multitenancy/app/v2`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...(apiKey ? { "api-key": apiKey } : {}) },
    body: JSON.stringify({ appId, coreConfig }),
  });
  const body = (await res.json()) as { status: string; createdNew: boolean };
  if (res.status !== 200 || body.status !== "OK" || body.createdNew !== true) {
    throw new Error(`app creation failed: ${res.status} ${JSON.stringify(body)}`);
  }
  return `${coreUrl}/appid-${appId}`;
}

export const appInfo = {
  appName: "supertokens-migrate tests",
  apiDomain: "http://localhost:3001",
  websiteDomain: "http://localhost:3000",
  apiBasePath: "/auth",
};

/** What a fixed-data provider's user info says about whoever signs in next. */
export interface ProviderProfile {
  id: string;
  email: string;
  verified: boolean;
}

/**
 * A ThirdParty provider whose token exchange and user info are the SDK's own override points answering fixed data:
 * `profile()` is read at each sign-in, so a spec changes who signs in next. Its endpoints are never called.
 */
export function fixedDataProvider(thirdPartyId: string, profile: () => ProviderProfile): ProviderInput {
  return {
    config: {
      thirdPartyId,
      name: thirdPartyId.charAt(0).toUpperCase() + thirdPartyId.slice(1),
      clients: [{ clientId: `${thirdPartyId}-client`, clientSecret: `${thirdPartyId}-secret` }],
      authorizationEndpoint: "http://127.0.0.1:9/authorize",
      tokenEndpoint: "http://127.0.0.1:9/token",
    },
    override: (original) => {
      if (original.type !== "oauth2") return original;
      original.exchangeAuthCodeForOAuthTokens = async () => ({ access_token: `${thirdPartyId}-access-token` });
      original.getUserInfo = async () => {
        const who = profile();
        return {
          thirdPartyUserId: who.id,
          email: { id: who.email, isVerified: who.verified },
          rawUserInfoFromProvider: {},
        };
      };
      return original;
    },
  };
}
