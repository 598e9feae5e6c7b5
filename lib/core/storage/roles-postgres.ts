import { queryRows, type SqlDriver } from "../../sql.js";
import type { RoleStorage } from "./roles.js";

/** The UserRoles tables' names, qualified as the plugin forms them (coreTableName). */
export interface RoleTables {
  roles: string;
  role_permissions: string;
  user_roles: string;
}

type Count = { n: number };

/**
 * RoleStorage on the plugin's three UserRoles tables (postgres-schema.ts). As in PostgresStorage, each method is
 * one statement, so a pool may send each down a different connection. user_roles has no foreign key to roles in the
 * plugin's layout: the statements that add or remove a hold check the role in the same statement.
 */
export class PostgresRoleStorage implements RoleStorage {
  constructor(
    private readonly db: SqlDriver,
    private readonly t: RoleTables,
    private readonly appId: string,
  ) {}

  private q<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return queryRows<R>(this.db, sql, [this.appId, ...params]);
  }

  async createRoleOrAddPermissions(role: string, permissions: string[]) {
    // The permission rows' foreign key to roles is checked at the end of the statement, after the role's insert.
    const [row] = await this.q<Count>(
      `WITH r AS (INSERT INTO ${this.t.roles} (app_id, role) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1),
       p AS (INSERT INTO ${this.t.role_permissions} (app_id, role, permission)
             SELECT $1, $2, x FROM json_array_elements_text($3::json) AS x ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS n FROM r`,
      [role, JSON.stringify(permissions)],
    );
    return row.n > 0;
  }

  async roleExists(role: string) {
    const rows = await this.q(`SELECT 1 FROM ${this.t.roles} WHERE app_id = $1 AND role = $2`, [role]);
    return rows.length > 0;
  }

  async listRoles() {
    const rows = await this.q<{ role: string }>(`SELECT role FROM ${this.t.roles} WHERE app_id = $1`);
    return rows.map((r) => r.role);
  }

  async deleteRole(role: string) {
    // role_permissions goes with the role (ON DELETE CASCADE); the holds are deleted here, in every tenant.
    const [row] = await this.q<Count>(
      `WITH u AS (DELETE FROM ${this.t.user_roles} WHERE app_id = $1 AND role = $2 RETURNING 1),
       r AS (DELETE FROM ${this.t.roles} WHERE app_id = $1 AND role = $2 RETURNING 1)
       SELECT ((SELECT count(*) FROM r) + (SELECT count(*) FROM u))::int AS n`,
      [role],
    );
    return row.n > 0;
  }

  async getPermissions(role: string) {
    const rows = await this.q<{ permission: string | null }>(
      `SELECT p.permission FROM ${this.t.roles} r
         LEFT JOIN ${this.t.role_permissions} p ON p.app_id = r.app_id AND p.role = r.role
       WHERE r.app_id = $1 AND r.role = $2`,
      [role],
    );
    if (rows.length === 0) return undefined;
    return rows.flatMap((r) => (r.permission === null ? [] : [r.permission]));
  }

  async removePermissions(role: string, permissions: string[] | undefined) {
    const [row] = await this.q<Count>(
      `WITH r AS (SELECT 1 FROM ${this.t.roles} WHERE app_id = $1 AND role = $2),
       d AS (DELETE FROM ${this.t.role_permissions} WHERE app_id = $1 AND role = $2
             AND ($3::json IS NULL OR permission IN (SELECT json_array_elements_text($3::json))))
       SELECT count(*)::int AS n FROM r`,
      [role, permissions === undefined ? null : JSON.stringify(permissions)],
    );
    return row.n > 0;
  }

  async rolesWithPermission(permission: string) {
    const rows = await this.q<{ role: string }>(
      `SELECT role FROM ${this.t.role_permissions} WHERE app_id = $1 AND permission = $2`,
      [permission],
    );
    return rows.map((r) => r.role);
  }

  async addUserRole(tenantId: string, userId: string, role: string) {
    const [row] = await this.q<{ known: number; added: number }>(
      `WITH r AS (SELECT 1 FROM ${this.t.roles} WHERE app_id = $1 AND role = $4),
       i AS (INSERT INTO ${this.t.user_roles} (app_id, tenant_id, user_id, role)
             SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM r) ON CONFLICT DO NOTHING RETURNING 1)
       SELECT (SELECT count(*) FROM r)::int AS known, (SELECT count(*) FROM i)::int AS added`,
      [tenantId, userId, role],
    );
    if (row.known === 0) return "UNKNOWN_ROLE" as const;
    return row.added > 0 ? ("OK" as const) : ("EXISTS" as const);
  }

  async removeUserRole(tenantId: string, userId: string, role: string) {
    const [row] = await this.q<{ known: number; removed: number }>(
      `WITH r AS (SELECT 1 FROM ${this.t.roles} WHERE app_id = $1 AND role = $4),
       d AS (DELETE FROM ${this.t.user_roles}
             WHERE app_id = $1 AND tenant_id = $2 AND user_id = $3 AND role = $4 AND EXISTS (SELECT 1 FROM r)
             RETURNING 1)
       SELECT (SELECT count(*) FROM r)::int AS known, (SELECT count(*) FROM d)::int AS removed`,
      [tenantId, userId, role],
    );
    if (row.known === 0) return "UNKNOWN_ROLE" as const;
    return row.removed > 0 ? ("OK" as const) : ("NOT_HELD" as const);
  }

  async userRoles(tenantId: string, userId: string) {
    const rows = await this.q<{ role: string }>(
      `SELECT role FROM ${this.t.user_roles} WHERE app_id = $1 AND tenant_id = $2 AND user_id = $3`,
      [tenantId, userId],
    );
    return rows.map((r) => r.role);
  }

  async usersWithRole(tenantId: string, role: string) {
    const rows = await this.q<{ user_id: string | null }>(
      `SELECT u.user_id FROM ${this.t.roles} r
         LEFT JOIN ${this.t.user_roles} u ON u.app_id = r.app_id AND u.role = r.role AND u.tenant_id = $3
       WHERE r.app_id = $1 AND r.role = $2`,
      [role, tenantId],
    );
    if (rows.length === 0) return undefined;
    return rows.flatMap((r) => (r.user_id === null ? [] : [r.user_id]));
  }

  async hasUserRoles(userId: string) {
    const rows = await this.q(`SELECT 1 FROM ${this.t.user_roles} WHERE app_id = $1 AND user_id = $2 LIMIT 1`, [
      userId,
    ]);
    return rows.length > 0;
  }

  async deleteUserRoles(userId: string) {
    await this.q(`DELETE FROM ${this.t.user_roles} WHERE app_id = $1 AND user_id = $2`, [userId]);
  }
}
