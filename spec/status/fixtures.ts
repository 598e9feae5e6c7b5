/**
 * Stores filled the way the legacy app fills them: express-session payloads saved through the real connect-redis
 * and connect-pg-simple stores, users in a real PostgreSQL table, moved by the real import into the dev core.
 */
import { promisify } from "node:util";
import bcrypt from "bcrypt";
import type pg from "pg";
import { createClient } from "redis";
import { runImport } from "../../lib/import/run.js";
import { PgStore, RedisStore, type SessionStore } from "../helpers/legacy-session.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** An express-session payload last saved `ageMs` ago with a cookie of `maxAgeMs` (null: a browser-session cookie). */
export function payload(
  data: Record<string, unknown>,
  ageMs: number,
  maxAgeMs: number | null,
  now = Date.now(),
): Record<string, unknown> {
  return {
    cookie: {
      originalMaxAge: maxAgeMs,
      expires: maxAgeMs === null ? null : new Date(now - ageMs + maxAgeMs).toISOString(),
      httpOnly: true,
      path: "/",
    },
    ...data,
  };
}

/** The sessions every store spec saves: five signed-in users of five ages and kinds, one anonymous visitor. */
export function standardSessions(now = Date.now()): [string, Record<string, unknown>][] {
  return [
    ["fresh", payload({ passport: { user: 1 } }, 10 * 60_000, 30 * DAY, now)],
    ["two-days", payload({ userId: "2" }, 2 * DAY, 30 * DAY, now)],
    ["ten-days", payload({ user: { id: 3 } }, 10 * DAY, 30 * DAY, now)],
    ["forty-days", payload({ passport: { user: { id: 4 } } }, 40 * DAY, 60 * DAY, now)],
    ["browser-cookie", payload({ user_id: 5 }, 0, null, now)],
    ["anonymous", payload({ cart: ["apple"], csrfSecret: "x" }, HOUR, 30 * DAY, now)],
  ];
}

/** The latest expiry among standardSessions: the fresh one's cookie (30 days from its last save 10 minutes ago). */
export const lastStandardExpiry = (now: number) => now - 10 * 60_000 + 30 * DAY;

export type Saver = (sid: string, data: unknown) => Promise<void>;

export function saver(store: SessionStore): Saver {
  return promisify(store.set.bind(store));
}

export async function redisClient() {
  const client = createClient({ url: requireEnv("REDIS_URL") });
  client.on("error", () => {});
  await client.connect();
  return client;
}

export type Redis = Awaited<ReturnType<typeof redisClient>>;

export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await client.del(keys);
}

/** connect-redis under its own prefix. */
export function redisStore(client: Redis, prefix = `stm-test:status:${uniqueId()}:sess:`) {
  return { store: new RedisStore({ client, prefix }), prefix };
}

/** connect-pg-simple in a schema of its own (its constraint names are fixed, so one table per schema). */
export async function pgStore(pool: pg.Pool) {
  const schema = `stm_status_${uniqueId()}`;
  await pool.query(`CREATE SCHEMA "${schema}"`);
  const store = new PgStore({
    pool,
    schemaName: schema,
    tableName: "session",
    createTableIfMissing: true,
    pruneSessionInterval: false,
  });
  return { store, schema };
}

export interface UsersFixture {
  schema: string;
  table: string;
  /** `select * from <table> order by id`. */
  query: string;
  rows: { id: number; email: string; password: string | null; hash: string | null }[];
}

const PASSWORD = "Legacy-pw-1";

/**
 * Nine legacy users: six bcrypt (the core takes them), one Django PBKDF2 (legacyAuth verifies it, the core
 * cannot store it), one unrecognised, one without a hash.
 */
export async function usersTable(pool: pg.Pool): Promise<UsersFixture> {
  const schema = `stm_status_users_${uniqueId()}`;
  const table = `${schema}.users`;
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, email text NOT NULL, password_hash text)`);
  const bcryptHash = await bcrypt.hash(PASSWORD, 4);
  const rows: UsersFixture["rows"] = [
    ...Array.from({ length: 6 }, (_, i) => ({
      id: 101 + i,
      email: `bcrypt${i}.${schema}@example.com`,
      password: PASSWORD,
      hash: bcryptHash,
    })),
    {
      id: 201,
      email: `django.${schema}@example.com`,
      password: null,
      hash: "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=",
    },
    { id: 202, email: `plain.${schema}@example.com`, password: null, hash: "not-a-hash-at-all" },
    { id: 203, email: `nohash.${schema}@example.com`, password: null, hash: null },
  ];
  for (const r of rows)
    await pool.query(`INSERT INTO ${table} (id, email, password_hash) VALUES ($1, $2, $3)`, [r.id, r.email, r.hash]);
  return { schema, table, query: `select * from ${table} order by id`, rows };
}

export const quiet = { stdout: { write: () => true }, stderr: { write: () => true }, progress: "none" as const };

/** Moves the users `where` selects with the real import, as the users who came back would have been. */
export async function importSome(fixture: UsersFixture, where: string, core: string, map?: string): Promise<void> {
  const report = await runImport(
    { from: requireEnv("DATABASE_URL"), query: `select * from ${fixture.table} where ${where}`, core, map },
    quiet,
  );
  if (report.counts.imported === 0 || report.counts.failed > 0)
    throw new Error(`fixture import failed: ${JSON.stringify(report.failed)}`);
}

/** A user who signed up in SuperTokens directly: in the core, never in the users table. */
export async function signUpInCore(core: string, email: string): Promise<void> {
  const res = await fetch(`${core}/public/recipe/signup`, {
    method: "POST",
    headers: { "content-type": "application/json", "cdi-version": "5.4", rid: "emailpassword" },
    body: JSON.stringify({ email, password: "Fresh-pw-1" }),
  });
  const body = (await res.json()) as { status: string };
  if (body.status !== "OK") throw new Error(`sign-up failed: ${JSON.stringify(body)}`);
}
