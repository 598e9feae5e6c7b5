import { CompactSet } from "./compact-set.js";
import type { CoreClient } from "./core-http-client.js";
import { importLog } from "./log.js";
import { isPendingEmail } from "./pending.js";

/**
 * What SuperTokens already holds: the email-password users of the public tenant, by reported id (the external id
 * when mapped) and by email, as hashes (compact-set.ts): a million users take about 35 MB instead of a few hundred.
 */
export interface ExistingUsers {
  /** undefined: no such user; "pending": a user a killed per-user run left under its placeholder email. */
  byId(id: string): "complete" | "pending" | undefined;
  hasEmail(email: string): boolean;
  /** Users under a placeholder email: none, and the import need not derive any placeholder. */
  pending: number;
  size: number;
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
  // The flag of an id: its user holds a placeholder email.
  const ids = new CompactSet();
  const emails = new CompactSet();
  let pending = 0;
  let token: string | undefined;
  do {
    const page = await client.ok<{ users: CoreUser[]; nextPaginationToken?: string }>("GET", "/public/users", {
      query: { limit: "500", includeRecipeIds: "emailpassword,thirdparty", paginationToken: token },
    });
    for (const user of page.users) {
      const email = emailPasswordEmail(user);
      if (email === undefined) {
        // A ThirdParty user (imported from a row with an identity and no hash): its id is taken, its email is not.
        ids.add(user.id, false);
        continue;
      }
      const placeholder = isPendingEmail(email);
      if (placeholder) pending++;
      ids.add(user.id, placeholder);
      emails.add(email);
    }
    token = page.nextPaginationToken;
  } while (token !== undefined);
  importLog(
    "target holds %d email-password users (%d kB of hashes)",
    ids.size,
    Math.round((ids.bytes + emails.bytes) / 1024),
  );
  return {
    byId: (id) => {
      const flag = ids.flag(id);
      return flag === undefined ? undefined : flag ? "pending" : "complete";
    },
    hasEmail: (email) => emails.has(email),
    pending,
    size: ids.size,
  };
}
