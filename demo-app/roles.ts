import type { Queryable } from "./db.js";

/**
 * The app's own roles: the `users.role` column its admin routes check, in both apps. After the switch the user
 * id is the same (the legacy id, through SuperTokens' user-id mapping), so the same row answers.
 */
export async function roleOf(db: Queryable, userId: string): Promise<string | undefined> {
  const { rows } = await db.query<{ role: string }>("SELECT role FROM users WHERE id::text = $1", [userId]);
  return rows[0]?.role;
}

export interface UserListRow {
  id: string;
  email: string;
  role: string;
  hasPassword: boolean;
  /** Identity providers linked to the user (legacy_identities.provider). */
  providers: string[];
}

/** Every user of the legacy table with the ways they can sign in: what the admin-only page lists. */
export async function listUsers(db: Queryable): Promise<UserListRow[]> {
  const { rows } = await db.query<{
    id: string;
    email: string;
    role: string;
    has_password: boolean;
    providers: string | null;
  }>(
    "SELECT u.id::text AS id, u.email, u.role, u.password_hash IS NOT NULL AS has_password, " +
      "(SELECT string_agg(i.provider, ',' ORDER BY i.provider) FROM legacy_identities i WHERE i.user_id = u.id) " +
      "AS providers FROM users u ORDER BY u.id",
  );
  return rows.map((r) => ({
    id: r.id,
    email: r.email,
    role: r.role,
    hasPassword: Boolean(r.has_password),
    providers: r.providers ? r.providers.split(",") : [],
  }));
}
