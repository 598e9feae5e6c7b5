import type { RoleStorage } from "./roles.js";

/** RoleStorage in memory; like MemoryStorage, each method runs without an await inside, so it is atomic. */
export class MemoryRoleStorage implements RoleStorage {
  /** role -> its permissions, in the order they were added. */
  private permissions = new Map<string, Set<string>>();
  /** tenant -> user -> roles held there. */
  private holds = new Map<string, Map<string, Set<string>>>();

  async createRoleOrAddPermissions(role: string, permissions: string[]) {
    const existing = this.permissions.get(role);
    const set = existing ?? new Set<string>();
    for (const p of permissions) set.add(p);
    if (!existing) this.permissions.set(role, set);
    return existing === undefined;
  }
  async roleExists(role: string) {
    return this.permissions.has(role);
  }
  async listRoles() {
    return [...this.permissions.keys()];
  }
  async deleteRole(role: string) {
    let held = false;
    for (const users of this.holds.values()) {
      for (const [userId, roles] of users) {
        if (roles.delete(role)) held = true;
        if (roles.size === 0) users.delete(userId);
      }
    }
    return this.permissions.delete(role) || held;
  }
  async getPermissions(role: string) {
    const set = this.permissions.get(role);
    return set && [...set];
  }
  async removePermissions(role: string, permissions: string[] | undefined) {
    const set = this.permissions.get(role);
    if (!set) return false;
    if (permissions === undefined) set.clear();
    else for (const p of permissions) set.delete(p);
    return true;
  }
  async rolesWithPermission(permission: string) {
    return [...this.permissions].filter(([, set]) => set.has(permission)).map(([role]) => role);
  }

  async addUserRole(tenantId: string, userId: string, role: string) {
    if (!this.permissions.has(role)) return "UNKNOWN_ROLE" as const;
    let users = this.holds.get(tenantId);
    if (!users) this.holds.set(tenantId, (users = new Map<string, Set<string>>()));
    let roles = users.get(userId);
    if (!roles) users.set(userId, (roles = new Set<string>()));
    if (roles.has(role)) return "EXISTS" as const;
    roles.add(role);
    return "OK" as const;
  }
  async removeUserRole(tenantId: string, userId: string, role: string) {
    if (!this.permissions.has(role)) return "UNKNOWN_ROLE" as const;
    const users = this.holds.get(tenantId);
    const roles = users?.get(userId);
    if (!roles?.delete(role)) return "NOT_HELD" as const;
    if (roles.size === 0) users!.delete(userId);
    return "OK" as const;
  }
  async userRoles(tenantId: string, userId: string) {
    return [...(this.holds.get(tenantId)?.get(userId) ?? [])];
  }
  async usersWithRole(tenantId: string, role: string) {
    if (!this.permissions.has(role)) return undefined;
    const users = this.holds.get(tenantId) ?? new Map<string, Set<string>>();
    return [...users].filter(([, roles]) => roles.has(role)).map(([userId]) => userId);
  }
  async hasUserRoles(userId: string) {
    for (const users of this.holds.values()) if (users.has(userId)) return true;
    return false;
  }
  async deleteUserRoles(userId: string) {
    for (const users of this.holds.values()) users.delete(userId);
  }
}
