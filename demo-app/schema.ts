import bcrypt from "bcrypt";
import type { Database } from "./db.js";

/**
 * The legacy app's own tables, as such apps usually have them: users with bcrypt hashes, their notes, and
 * connect-pg-simple's session table (its own table.sql, so a real connect-pg-simple reads it unchanged).
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
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
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

/** People the demo starts with. All of them exist only in the legacy table until they sign in or reset. */
export const seededUsers = [
  {
    email: "alice@example.com",
    password: "alice-pass-1",
    name: "Alice",
    notes: ["Buy oat milk", "Call the plumber about the boiler"],
  },
  {
    email: "bob@example.com",
    password: "bob-pass-1",
    name: "Bob",
    notes: ["Book review: The Pragmatic Programmer", "Renew passport"],
  },
  { email: "carol@example.com", password: "carol-pass-1", name: "Carol", notes: ["Quarterly report due Friday"] },
  { email: "dave@example.com", password: "dave-pass-1", name: "Dave", notes: ["Dentist on Tuesday"] },
  { email: "erin@example.com", password: "erin-pass-1", name: "Erin", notes: [] },
] as const;

/** Create the tables and, on an empty users table, the seeded users and their notes. */
export async function prepareDatabase(db: Database): Promise<{ seeded: boolean }> {
  await db.exec(ddl);
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM users");
  if (rows[0].n > 0) return { seeded: false };
  // Cost 10: a typical legacy cost, and what legacyAuth() imports unchanged when the user first signs in.
  const hashes = await Promise.all(seededUsers.map((u) => bcrypt.hash(u.password, 10)));
  for (const [i, user] of seededUsers.entries()) {
    const inserted = await db.query<{ id: string }>(
      "INSERT INTO users (email, password_hash, name) VALUES ($1, $2, $3) RETURNING id::text AS id",
      [user.email, hashes[i], user.name],
    );
    for (const body of user.notes)
      await db.query("INSERT INTO notes (user_id, body) VALUES ($1, $2)", [inserted.rows[0].id, body]);
  }
  return { seeded: true };
}
