import type { CoreClient } from "./core-http-client.js";
import { importLog } from "./log.js";

/** What SuperTokens already holds: the email-password users of the public tenant, by reported id and by email. */
export interface ExistingUsers {
  /** Reported id (the external id when mapped) → email. */
  byId: Map<string, string>;
  /** Email → reported id. */
  byEmail: Map<string, string>;
}

/** What the import reads of a core user JSON (CDI 5.3+): its id and its login methods. */
export interface CoreUser {
  id: string;
  loginMethods?: ({ recipeId?: unknown; recipeUserId?: string; email?: unknown } | null)[];
}

/** The email-password login method of a core user JSON (CDI 5.3+). */
export function emailPasswordEmail(user: CoreUser | undefined): string | undefined {
  const lm = user?.loginMethods?.find((m) => m?.recipeId === "emailpassword");
  return typeof lm?.email === "string" ? lm.email : undefined;
}

/**
 * Every user of the target, 500 per request (GET /users, the core's page limit). One pass costs N/500 requests,
 * far less than two lookups per imported user; races with sign-ups during the run are settled by the core
 * itself (bulk import fails on an existing email, and per-user mode reveals the email last).
 */
export async function listExisting(client: CoreClient): Promise<ExistingUsers> {
  const byId = new Map<string, string>();
  const byEmail = new Map<string, string>();
  let token: string | undefined;
  do {
    const page = await client.ok<{ users: CoreUser[]; nextPaginationToken?: string }>("GET", "/public/users", {
      query: { limit: "500", includeRecipeIds: "emailpassword", paginationToken: token },
    });
    for (const user of page.users) {
      const email = emailPasswordEmail(user);
      if (email === undefined) continue;
      byId.set(user.id, email);
      byEmail.set(email, user.id);
    }
    token = page.nextPaginationToken;
  } while (token !== undefined);
  importLog("target holds %d email-password users", byId.size);
  return { byId, byEmail };
}
