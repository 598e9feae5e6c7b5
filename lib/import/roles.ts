import type { CoreClient } from "./core-http-client.js";
import { importLog } from "./log.js";

/** Roles this process created (or found) in each core: PUT /recipe/role once per role and run. */
const known = new WeakMap<CoreClient, Set<string>>();

/**
 * Create the roles the core may lack (PUT /recipe/role creates or leaves as is): the core's bulk import refuses a
 * user whose role does not exist, and its per-user API answers UNKNOWN_ROLE_ERROR.
 */
export async function ensureRoles(client: CoreClient, roles: Iterable<string>): Promise<void> {
  let done = known.get(client);
  if (!done) known.set(client, (done = new Set()));
  for (const role of roles) {
    if (done.has(role)) continue;
    const r = await client.ok<{ createdNewRole?: boolean }>("PUT", "/recipe/role", {
      rid: "userroles",
      body: { role, permissions: [] },
    });
    if (r.createdNewRole) importLog("created role %o in the core", role);
    done.add(role);
  }
}

/** Per-user mode: give the user (its legacy id) each role in the public tenant; a failure's detail, or undefined. */
export async function grantUserRoles(
  client: CoreClient,
  userId: string,
  roles: readonly string[],
): Promise<string | undefined> {
  await ensureRoles(client, roles);
  for (const role of roles) {
    const r = await client.ok<{ status: string }>("PUT", "/public/recipe/user/role", {
      rid: "userroles",
      body: { userId, role },
    });
    if (r.status !== "OK") return `user/role ${role}: ${r.status}`;
  }
  return undefined;
}
