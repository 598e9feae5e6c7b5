import { ok, status, type Route, type RouteContext } from "../context.js";
import { badRequest, field, queryParam, type Json } from "../http.js";

/*
 * The UserRoles recipe (CORE api/userroles/*, userroles/UserRoles.java). Roles and their permissions belong to the
 * app (public tenant only); the roles a user holds belong to a tenant. User ids are stored as given, the external id
 * once a mapping exists, and nothing checks that such a user exists: the SDK passes the session's user id.
 */

const rid = "userroles";

/** Roles are trimmed and must not be empty (CreateRoleAPI and the others). */
function roleOf(raw: string): string {
  const role = raw.trim();
  if (role === "") throw badRequest("Field name 'role' cannot be an empty String");
  return role;
}

const bodyRole = (body: Json): string => roleOf(field(body, "role", "string", true));
const queryRole = (query: URLSearchParams): string => roleOf(queryParam(query, "role", true));

/** InputParser.parseArrayOrThrowError(…, "permissions", nullable): each a non-empty string once trimmed. */
function permissionsOf(body: Json): string[] | undefined {
  const raw = field(body, "permissions", "array", false);
  if (raw === undefined) return undefined;
  return raw.map((p) => {
    if (typeof p !== "string") throw badRequest("Field name 'permissions' is invalid in JSON input");
    const permission = p.trim();
    if (permission === "") throw badRequest("Field name 'permissions' cannot contain an empty string");
    return permission;
  });
}

async function createRole({ app, body }: RouteContext) {
  const role = bodyRole(body);
  const permissions = permissionsOf(body) ?? [];
  return ok({ createdNewRole: await app.storage.roles.createRoleOrAddPermissions(role, permissions) });
}

async function addUserRole({ app, body, tenantId }: RouteContext) {
  const userId = field(body, "userId", "string", true);
  const outcome = await app.storage.roles.addUserRole(tenantId, userId, bodyRole(body));
  if (outcome === "UNKNOWN_ROLE") return status("UNKNOWN_ROLE_ERROR");
  return ok({ didUserAlreadyHaveRole: outcome === "EXISTS" });
}

async function removeUserRole({ app, body, tenantId }: RouteContext) {
  const userId = field(body, "userId", "string", true);
  const outcome = await app.storage.roles.removeUserRole(tenantId, userId, bodyRole(body));
  if (outcome === "UNKNOWN_ROLE") return status("UNKNOWN_ROLE_ERROR");
  return ok({ didUserHaveRole: outcome === "OK" });
}

async function userRoles({ app, query, tenantId }: RouteContext) {
  return ok({ roles: await app.storage.roles.userRoles(tenantId, queryParam(query, "userId", true)) });
}

async function roleUsers({ app, query, tenantId }: RouteContext) {
  const users = await app.storage.roles.usersWithRole(tenantId, queryRole(query));
  return users === undefined ? status("UNKNOWN_ROLE_ERROR") : ok({ users });
}

async function rolePermissions({ app, query }: RouteContext) {
  const permissions = await app.storage.roles.getPermissions(queryRole(query));
  return permissions === undefined ? status("UNKNOWN_ROLE_ERROR") : ok({ permissions });
}

async function removePermissions({ app, body }: RouteContext) {
  const role = bodyRole(body);
  // No permissions field removes them all (UserRoles.deletePermissionsFromRole with null).
  const known = await app.storage.roles.removePermissions(role, permissionsOf(body));
  return known ? ok() : status("UNKNOWN_ROLE_ERROR");
}

async function permissionRoles({ app, query }: RouteContext) {
  return ok({ roles: await app.storage.roles.rolesWithPermission(queryParam(query, "permission", true)) });
}

async function deleteRole({ app, body }: RouteContext) {
  return ok({ didRoleExist: await app.storage.roles.deleteRole(bodyRole(body)) });
}

async function allRoles({ app }: RouteContext) {
  return ok({ roles: await app.storage.roles.listRoles() });
}

export const userRolesRoutes: Route[] = [
  { method: "PUT", path: "/recipe/role", scope: "app", rid, handler: createRole },
  { method: "PUT", path: "/recipe/user/role", scope: "tenant", rid, handler: addUserRole },
  { method: "POST", path: "/recipe/user/role/remove", scope: "tenant", rid, handler: removeUserRole },
  { method: "GET", path: "/recipe/user/roles", scope: "tenant", rid, handler: userRoles },
  { method: "GET", path: "/recipe/role/users", scope: "tenant", rid, handler: roleUsers },
  { method: "GET", path: "/recipe/role/permissions", scope: "app", rid, handler: rolePermissions },
  { method: "POST", path: "/recipe/role/permissions/remove", scope: "app", rid, handler: removePermissions },
  { method: "GET", path: "/recipe/permission/roles", scope: "app", rid, handler: permissionRoles },
  { method: "POST", path: "/recipe/role/remove", scope: "app", rid, handler: deleteRole },
  { method: "GET", path: "/recipe/roles", scope: "app", rid, handler: allRoles },
];
