/**
 * The UserRoles recipe's storage: roles and their permissions per app, and the roles each user holds per tenant.
 * User ids are taken as given (the external id once a mapping exists), as the core keeps them; nothing checks that
 * a user with the id exists.
 */
export interface RoleStorage {
  /** Create the role when missing and add the permissions it lacks; true when the role was created. */
  createRoleOrAddPermissions(role: string, permissions: string[]): Promise<boolean>;
  roleExists(role: string): Promise<boolean>;
  listRoles(): Promise<string[]>;
  /** Delete the role, its permissions and every user's hold on it (in every tenant); true when it existed. */
  deleteRole(role: string): Promise<boolean>;
  /** The role's permissions, or undefined when the role does not exist. */
  getPermissions(role: string): Promise<string[] | undefined>;
  /** Remove these permissions (all of them when undefined); false when the role does not exist. */
  removePermissions(role: string, permissions: string[] | undefined): Promise<boolean>;
  rolesWithPermission(permission: string): Promise<string[]>;

  /** Give a user a role in a tenant: "EXISTS" when they held it already. */
  addUserRole(tenantId: string, userId: string, role: string): Promise<"OK" | "EXISTS" | "UNKNOWN_ROLE">;
  /** "NOT_HELD" when the role exists and the user did not hold it in the tenant. */
  removeUserRole(tenantId: string, userId: string, role: string): Promise<"OK" | "NOT_HELD" | "UNKNOWN_ROLE">;
  userRoles(tenantId: string, userId: string): Promise<string[]>;
  /** Users holding the role in the tenant, or undefined when the role does not exist. */
  usersWithRole(tenantId: string, role: string): Promise<string[] | undefined>;
  /** Whether the user holds any role in any tenant of the app (user id mapping counts that as "in use"). */
  hasUserRoles(userId: string): Promise<boolean>;
  /** Drop every role the user holds, in every tenant of the app (the user is deleted). */
  deleteUserRoles(userId: string): Promise<void>;
}
