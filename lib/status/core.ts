import { ConfigError, UnavailableError } from "../errors.js";
import { statusLog } from "./log.js";

/** The core's user as GET /users lists it (CDI 5.3+): the reported id is the external id when one is mapped. */
export interface CoreListedUser {
  id: string;
  loginMethods?: ({ recipeId?: unknown; email?: unknown } | null)[];
}

/**
 * Every email-password user of the app, 500 a page (the core's limit), one page in memory at a time. `base` is
 * the connection URI, with any `/appid-<id>` path. Plain fetch: the CLI does not initialise supertokens-node.
 */
export async function* coreUserPages(base: string, apiKey: string | undefined, timeoutMs: number) {
  let token: string | undefined;
  do {
    const url = new URL(`${base}/public/users`);
    url.searchParams.set("limit", "500");
    url.searchParams.set("includeRecipeIds", "emailpassword");
    if (token !== undefined) url.searchParams.set("paginationToken", token);
    const headers: Record<string, string> = { "cdi-version": "5.4" };
    if (apiKey !== undefined) headers["api-key"] = apiKey;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `status: cannot reach the SuperTokens core at ${base}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const text = await res.text();
    if (res.status === 401)
      throw new ConfigError(
        "ERR_MIGRATE_API_KEY_REFUSED",
        `status: the core at ${base} refused the API key (401). Pass --api-key (or SUPERTOKENS_API_KEY).`,
      );
    let body: { users?: unknown; nextPaginationToken?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (res.status >= 500)
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `status: the core answered GET /users with ${res.status}`,
      );
    if (res.status !== 200 || !Array.isArray(body?.users))
      // An unknown app answers 400 "AppId or tenantId not found"; a server that is no core, 404 or HTML.
      throw new ConfigError(
        "ERR_MIGRATE_UNSUPPORTED_CORE",
        `status: ${base} did not answer GET /users as a SuperTokens core does (${res.status}: ` +
          `${text.trim().slice(0, 200)}).`,
      );
    statusLog("core page of %d users", body.users.length);
    yield body.users as CoreListedUser[];
    token = typeof body.nextPaginationToken === "string" ? body.nextPaginationToken : undefined;
  } while (token !== undefined);
}

export function emailPasswordEmail(user: CoreListedUser): string | undefined {
  const method = user.loginMethods?.find((m) => m?.recipeId === "emailpassword");
  return typeof method?.email === "string" ? method.email : undefined;
}
