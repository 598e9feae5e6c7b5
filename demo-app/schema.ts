import bcrypt from "bcrypt";
import type { Database } from "./db.js";

/**
 * The legacy app's own tables, as such apps usually have them: users with bcrypt hashes, their notes, and
 * connect-pg-simple's session table (its own table.sql, so a real connect-pg-simple reads it unchanged).
 *
 * Sign-ins through an identity provider ("Sign in with Acme", passport's OpenID Connect strategy) live where such
 * apps usually keep them: a `legacy_identities` table, one row per provider account, keyed by the provider's name
 * and its user id (the OIDC `sub`), with the email the provider gave and whether it said it was verified. A user
 * may have a password, provider identities, or both; `password_hash` is NULL for a provider-only account. The
 * `role` column is what the app's admin routes check.
 *
 * `notes.user_id` is text rather than a foreign key to `users.id`: after the switch, people who sign up get a
 * SuperTokens user id (a UUID), while legacy users keep their numeric id through the user-id mapping. Apps that
 * keep a foreign key create a users row for each new sign-up and map the SuperTokens id to it instead.
 */
const ddl = `
CREATE TABLE IF NOT EXISTS users (
  id SERIAL PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT,
  name TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT 'user',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE users ADD COLUMN IF NOT EXISTS role TEXT NOT NULL DEFAULT 'user';
CREATE TABLE IF NOT EXISTS legacy_identities (
  provider TEXT NOT NULL,
  provider_user_id TEXT NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  email TEXT,
  email_verified BOOLEAN NOT NULL DEFAULT false,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (provider, provider_user_id)
);
CREATE INDEX IF NOT EXISTS legacy_identities_user_id ON legacy_identities (user_id);
CREATE TABLE IF NOT EXISTS notes (
  id SERIAL PRIMARY KEY,
  user_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notes_user_id ON notes (user_id);
CREATE TABLE IF NOT EXISTS "session" (
  "sid" varchar NOT NULL COLLATE "default" PRIMARY KEY,
  "sess" json NOT NULL,
  "expire" timestamp(6) NOT NULL
);
CREATE INDEX IF NOT EXISTS "IDX_session_expire" ON "session" ("expire");
`;

export interface SeededUser {
  email: string;
  /** `null`: the account has no password; its only way in is "Sign in with Acme". */
  password: string | null;
  name: string;
  role: "user" | "admin";
  notes: readonly string[];
  /** An Acme account linked to this user: its `sub` (in legacy_identities) and its password at the IdP. */
  acme?: { sub: string; password: string };
}

/** People the demo starts with. All of them exist only in the legacy tables until they sign in or reset. */
export const seededUsers: readonly SeededUser[] = [
  {
    email: "alice@example.com",
    password: "alice-pass-1",
    name: "Alice",
    role: "user",
    notes: ["Buy oat milk", "Call the plumber about the boiler"],
  },
  {
    email: "bob@example.com",
    password: "bob-pass-1",
    name: "Bob",
    role: "user",
    notes: ["Book review: The Pragmatic Programmer", "Renew passport"],
  },
  {
    email: "carol@example.com",
    password: "carol-pass-1",
    name: "Carol",
    role: "user",
    notes: ["Quarterly report due Friday"],
    acme: { sub: "acme-5d0c2e71", password: "carol-acme-1" },
  },
  { email: "dave@example.com", password: "dave-pass-1", name: "Dave", role: "user", notes: ["Dentist on Tuesday"] },
  { email: "erin@example.com", password: "erin-pass-1", name: "Erin", role: "user", notes: [] },
  {
    email: "frank@example.com",
    password: null,
    name: "Frank",
    role: "admin",
    notes: ["Approve the Acme invoices"],
    acme: { sub: "acme-9b47f3a8", password: "frank-acme-1" },
  },
];

/**
 * Acme accounts with no user of their own in the app: one who has never signed in to it (their first "Sign in
 * with Acme" creates a user), and one whose email is a legacy user's but not verified by Acme (the app refuses
 * to hand them that user's account).
 */
export const otherAcmeAccounts = [
  { sub: "acme-27e16b05", email: "grace@example.com", email_verified: true, name: "Grace", password: "grace-acme-1" },
  { sub: "acme-c3a5d940", email: "dave@example.com", email_verified: false, name: "Not Dave", password: "mallory-1" },
] as const;

async function insertSeededUser(db: Database, user: SeededUser, hash: string | null): Promise<void> {
  const inserted = await db.query<{ id: string }>(
    "INSERT INTO users (email, password_hash, name, role) VALUES ($1, $2, $3, $4) RETURNING id::text AS id",
    [user.email, hash, user.name, user.role],
  );
  const id = inserted.rows[0].id;
  for (const body of user.notes) await db.query("INSERT INTO notes (user_id, body) VALUES ($1, $2)", [id, body]);
  if (user.acme)
    await db.query(
      "INSERT INTO legacy_identities (provider, provider_user_id, user_id, email, email_verified) " +
        "VALUES ('acme', $1, $2, $3, true)",
      [user.acme.sub, Number(id), user.email],
    );
}

/**
 * Create the tables and, on an empty users table, the seeded users, their notes and Acme identities. A database
 * from before the Acme sign-in (no legacy identities yet) gets the users it lacks and the identities of those it
 * has, and nothing else is touched.
 */
export async function prepareDatabase(db: Database): Promise<{ seeded: boolean }> {
  await db.exec(ddl);
  const { rows } = await db.query<{ users: number; identities: number }>(
    "SELECT (SELECT count(*)::int FROM users) AS users, (SELECT count(*)::int FROM legacy_identities) AS identities",
  );
  if (rows[0].users > 0 && rows[0].identities > 0) return { seeded: false };
  // Cost 10: a typical legacy cost, and what legacyAuth() imports unchanged when the user first signs in.
  const hashes = await Promise.all(
    seededUsers.map((u) => (u.password ? bcrypt.hash(u.password, 10) : Promise.resolve(null))),
  );
  let seeded = false;
  for (const [i, user] of seededUsers.entries()) {
    // Looked up first, not INSERT … ON CONFLICT: a conflicting insert still takes a number from the id sequence.
    const existing = await db.query("SELECT 1 FROM users WHERE email = $1", [user.email]);
    if (existing.rows.length === 0) {
      await insertSeededUser(db, user, hashes[i]);
      seeded = true;
      continue;
    }
    // An earlier demo's database: the user is there; give them their role and Acme identity.
    if (user.role !== "user") await db.query("UPDATE users SET role = $1 WHERE email = $2", [user.role, user.email]);
    if (user.acme)
      await db.query(
        "INSERT INTO legacy_identities (provider, provider_user_id, user_id, email, email_verified) " +
          "SELECT 'acme', $1, id, email, true FROM users WHERE email = $2 ON CONFLICT DO NOTHING",
        [user.acme.sub, user.email],
      );
  }
  return { seeded };
}
