import { ConfigError, UnavailableError } from "../errors.js";
import { statusLog } from "./log.js";

/** The core's user as GET /users lists it (CDI 5.3+): the reported id is the external id when one is mapped. */
export interface CoreListedUser {
  id: string;
  loginMethods?: ({ recipeId?: unknown; email?: unknown } | null)[];
}

/** Users per GET /users: the core's largest page. */
export const CORE_PAGE_SIZE = 500;

/**
 * One GET on the core with the status's error mapping: unreachable or 5xx is an outage (503), 401 a refused API key,
 * anything that is not a core's JSON a ConfigError.
 */
async function coreGet(
  base: string,
  path: string,
  params: Record<string, string>,
  apiKey: string | undefined,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const url = new URL(`${base}${path}`);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const headers: Record<string, string> = { "cdi-version": "5.4" };
  if (apiKey !== undefined) headers["api-key"] = apiKey;
  let res: Response;
  let text: string;
  // A timer cleared with the answer, not AbortSignal.timeout: that one lives (with the request it aborts) until its
  // deadline, so a fast walk through thousands of pages held a minute's worth of them in memory.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    timeoutMs,
  );
  try {
    res = await fetch(url, { headers, signal: deadline.signal });
    text = await res.text();
  } catch (err) {
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      `status: cannot reach the SuperTokens core at ${base}: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    clearTimeout(timer);
  }
  if (res.status === 401)
    throw new ConfigError(
      "ERR_MIGRATE_API_KEY_REFUSED",
      `status: the core at ${base} refused the API key (401). Pass --api-key (or SUPERTOKENS_API_KEY).`,
    );
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = undefined;
  }
  if (res.status >= 500)
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      `status: the core answered GET ${path} with ${res.status}`,
    );
  if (res.status !== 200 || typeof body !== "object" || body === null)
    // An unknown app answers 400 "AppId or tenantId not found"; a server that is no core, 404 or HTML.
    throw new ConfigError(
      "ERR_MIGRATE_UNSUPPORTED_CORE",
      `status: ${base} did not answer GET ${path} as a SuperTokens core does (${res.status}: ` +
        `${text.trim().slice(0, 200)}).`,
    );
  return body;
}

/** How many email-password users the core holds (GET /users/count), for the progress; undefined if it cannot say. */
export async function coreUserCount(base: string, apiKey: string | undefined, timeoutMs: number) {
  const body = await coreGet(base, "/public/users/count", { includeRecipeIds: "emailpassword" }, apiKey, timeoutMs);
  return typeof body.count === "number" ? body.count : undefined;
}

interface CorePage {
  users: CoreListedUser[];
  next: string | undefined;
}

async function corePage(
  base: string,
  apiKey: string | undefined,
  timeoutMs: number,
  token: string | undefined,
): Promise<CorePage> {
  const params: Record<string, string> = { limit: String(CORE_PAGE_SIZE), includeRecipeIds: "emailpassword" };
  if (token !== undefined) params.paginationToken = token;
  const body = await coreGet(base, "/public/users", params, apiKey, timeoutMs);
  if (!Array.isArray(body.users))
    throw new ConfigError(
      "ERR_MIGRATE_UNSUPPORTED_CORE",
      `status: ${base} did not answer GET /users as a SuperTokens core does (no users array).`,
    );
  statusLog("core page of %d users", body.users.length);
  return {
    users: body.users as CoreListedUser[],
    next: typeof body.nextPaginationToken === "string" ? body.nextPaginationToken : undefined,
  };
}

/**
 * Every email-password user of the app, CORE_PAGE_SIZE a page, in the core's order. `base` is the connection URI,
 * with any `/appid-<id>` path. Plain fetch: the CLI does not initialise supertokens-node. The next page is asked for
 * as soon as its token is known, while the caller works on this one: at most two pages are in memory.
 */
export async function* coreUserPages(base: string, apiKey: string | undefined, timeoutMs: number) {
  let pending: Promise<CorePage> | undefined = corePage(base, apiKey, timeoutMs, undefined);
  while (pending !== undefined) {
    const page: CorePage = await pending;
    pending = page.next === undefined ? undefined : corePage(base, apiKey, timeoutMs, page.next);
    // A prefetch that fails while the caller is busy is reported when it is awaited, not as an unhandled rejection.
    pending?.catch(() => {});
    yield page.users;
  }
}

export function emailPasswordEmail(user: CoreListedUser): string | undefined {
  const method = user.loginMethods?.find((m) => m?.recipeId === "emailpassword");
  return typeof method?.email === "string" ? method.email : undefined;
}
