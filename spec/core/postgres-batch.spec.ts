/**
 * PostgresStorage.importUsers, the batched path of the dev core's bulk import, against the one-by-one path it
 * replaces, on a real PostgreSQL: the same users given to importBulkUser one at a time (schema "one") and to
 * importBulkUsers (schema "batch") leave every table of the two schemas identical, and every user gets the same
 * outcome, including users of one batch that collide with each other or with rows already stored.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import pg from "pg";
import {
  importBulkUser,
  importBulkUsers,
  BulkImportFailure,
  type BulkEntry,
} from "../../lib/core/bulk-import-queue.js";
import { resolveConfig } from "../../lib/core/config.js";
import type { AppContext } from "../../lib/core/context.js";
import { importUsersOneByOne, newImportedUserId } from "../../lib/core/storage/import-users.js";
import { MemoryStorage } from "../../lib/core/storage/memory.js";
import { PostgresStorage, type SqlQueryable } from "../../lib/core/storage/postgres.js";
import type { AppStorage, ImportUserRecord } from "../../lib/core/storage/types.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const bcryptHash = "$2b$10$Yp1bfq1Ck3a8Sxx6jvMb0OzKpZ0Sbk5mQ0mQn3cU0tNfUuY0l5Qy2";
const argonHash = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
const run = uniqueId();
let pool: pg.Pool;
const schemas: string[] = [];

/** Every SQL statement sent, so a test can tell a batch from a redo one by one. */
class Recording implements SqlQueryable {
  readonly sent: string[] = [];
  /** Runs before the batch's INSERT statement reaches the database (a concurrent writer, say). */
  beforeBatchInsert: (() => Promise<void>) | undefined;
  constructor(private readonly db: SqlQueryable) {}
  async query(sql: string, params?: unknown[]) {
    if (/^\s*WITH u AS \(SELECT \* FROM unnest/.test(sql) && this.beforeBatchInsert) {
      const hook = this.beforeBatchInsert;
      this.beforeBatchInsert = undefined;
      await hook();
    }
    this.sent.push(sql);
    return this.db.query(sql, params);
  }
}

async function freshStorage(name: string, db: SqlQueryable = pool) {
  const schema = `stm_batch_${name}_${run}`;
  schemas.push(schema);
  const storage = await PostgresStorage.create(db, { schema });
  await storage.putApp({ appId: "public", coreConfig: {}, createdAt: 1 });
  await storage.putTenant("public", { tenantId: "t2", coreConfig: {} });
  return { schema, storage, app: storage.app("public") };
}

/** What the bulk-import processing needs of an app: its storage and config (keys are not used). */
const context = (storage: AppStorage): AppContext => ({
  appId: "public",
  storage,
  keys: undefined as never,
  config: () => resolveConfig({}),
});

/** Rows already there before the import, the same in every schema. */
const seeded = { userId: randomUUID(), mappedUserId: randomUUID() };
async function seed(app: AppStorage) {
  const user = (id: string, email: string) => ({
    id,
    recipeId: "emailpassword" as const,
    email,
    passwordHash: bcryptHash,
    timeJoined: 5,
    tenantIds: ["public"],
  });
  assert.equal(await app.insertUser(user(seeded.userId, "taken@example.com")), "OK");
  assert.equal(await app.insertUser(user(seeded.mappedUserId, "mapped@example.com")), "OK");
  assert.equal(
    await app.insertMapping({ superTokensUserId: seeded.mappedUserId, externalUserId: "legacy-taken" }),
    "OK",
  );
  await app.setMetadata("legacy-meta", { keep: 1, drop: 2 });
  await app.setEmailVerified("legacy-verified", "v@example.com", true);
}

interface Spec {
  email: string;
  ext?: string;
  tenants?: string[];
  verified?: boolean;
  meta?: Record<string, unknown>;
  hash?: string;
  id?: string;
}

function entries(specs: Spec[]): BulkEntry[] {
  return specs.map((s, i) => {
    const id = s.id ?? randomUUID();
    return {
      id,
      status: "NEW",
      externalUserId: s.ext,
      userMetadata: s.meta,
      createdAt: i,
      updatedAt: i,
      loginMethods: [
        {
          recipeId: "emailpassword",
          tenantIds: s.tenants ?? ["public"],
          isVerified: s.verified ?? false,
          isPrimary: true,
          timeJoinedInMSSinceEpoch: 1_600_000_000_000 + i,
          superTokensUserId: id,
          email: s.email,
          passwordHash: s.hash ?? bcryptHash,
          hashingAlgorithm: s.hash === argonHash ? "argon2" : "bcrypt",
        },
      ],
    };
  });
}

/** The queue's processing before batching: importBulkUser, one user after the other, and its failure message. */
async function oneByOne(app: AppContext, list: BulkEntry[]): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (const entry of list) {
    try {
      await importBulkUser(app, entry);
      out.push(undefined);
    } catch (err) {
      out.push(err instanceof BulkImportFailure ? err.message : `Internal error: ${String(err)}`);
    }
  }
  return out;
}

/** Every row of every table of a schema, in a stable order. */
async function dump(schema: string): Promise<Record<string, unknown[]>> {
  const { rows: tables } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
    [schema],
  );
  const out: Record<string, unknown[]> = {};
  for (const { table_name } of tables) {
    const { rows } = await pool.query(`SELECT * FROM "${schema}"."${table_name}"`);
    // A tenant's creation time is when the test set it up, not part of the import.
    if (table_name === "tenants") for (const r of rows) delete (r as { created_at_time?: unknown }).created_at_time;
    out[table_name] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

before(() => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 4 });
});
after(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
});

describe("PostgresStorage.importUsers: the batched bulk import", () => {
  it("writes every table exactly as the one-by-one path, with each user's outcome, collisions included", async () => {
    const one = await freshStorage("one");
    const recording = new Recording(pool);
    const batch = await freshStorage("batch", recording);
    await seed(one.app);
    await seed(batch.app);
    const firstId = randomUUID();
    const specs: Spec[] = [
      { email: "a@example.com", id: firstId },
      { email: "b@example.com", ext: "legacy-b", verified: true, meta: { plan: "pro", drop: null } },
      { email: "taken@example.com", ext: "legacy-t" }, // email stored before
      { email: "a@example.com" }, // email of an earlier user of the batch, same tenant
      { email: "a@example.com", tenants: ["t2"] }, // same email, other tenant: allowed
      { email: "c@example.com", ext: "legacy-taken" }, // external id mapped before
      { email: "d@example.com", ext: seeded.userId }, // external id is a stored user's id
      { email: "e@example.com", ext: "legacy-b" }, // external id of an earlier user of the batch
      { email: "f@example.com", ext: firstId }, // external id is an earlier user's SuperTokens id
      { email: "g@example.com", ext: "legacy-meta", meta: { new: true, drop: null } }, // merged into stored metadata
      { email: "v@example.com", ext: "legacy-verified", verified: true }, // already verified under that id
      { email: "h@example.com", tenants: ["public", "t2"], verified: true, hash: argonHash },
      { email: "i@example.com", tenants: [] },
      { email: "j@example.com", ext: "legacy-j", tenants: ["t2"], meta: {} },
    ];
    const list = entries(specs);

    const expected = await oneByOne(context(one.app), structuredClone(list));
    const sentBefore = recording.sent.length;
    const got = await importBulkUsers(context(batch.app), structuredClone(list));

    assert.deepEqual(got, expected);
    // The core's wording (with its error codes) is importBulkUser's to choose; which users fail, and why, is ours.
    const why = [
      undefined,
      undefined,
      /email taken@example\.com already exists/,
      /email a@example\.com already exists/,
      undefined,
      /externalId legacy-taken already exists/,
      /externalId is also a SuperTokens userID|useridmapping errors/,
      /externalId legacy-b already exists/,
      /externalId is also a SuperTokens userID|useridmapping errors/,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ];
    why.forEach((pattern, i) =>
      pattern === undefined
        ? assert.equal(expected[i], undefined, `user ${i}`)
        : assert.match(expected[i] ?? "", pattern),
    );
    // One read and one write for the whole batch: not a statement per user.
    assert.equal(recording.sent.length - sentBefore, 2, recording.sent.slice(sentBefore).join("\n---\n"));

    const [a, b] = [await dump(one.schema), await dump(batch.schema)];
    assert.deepEqual(Object.keys(b), Object.keys(a));
    for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);

    // Spot checks on the batch's own rows: the hashes byte for byte, the mapping, the merged metadata.
    const s = `"${batch.schema}"`;
    const hashes = await pool.query(`SELECT email, password_hash FROM ${s}.emailpassword_users ORDER BY email`);
    const byEmail = new Map(hashes.rows.map((r: { email: string; password_hash: string }) => [r.email, r]));
    assert.equal(byEmail.get("h@example.com")?.password_hash, argonHash);
    assert.equal(byEmail.get("b@example.com")?.password_hash, bcryptHash);
    const mapping = await batch.app.getMapping("legacy-b", "EXTERNAL");
    assert.equal(mapping?.superTokensUserId, list[1].id);
    assert.deepEqual(await batch.app.getMetadata("legacy-meta"), { keep: 1, new: true });
    assert.deepEqual(await batch.app.getMetadata("legacy-b"), { plan: "pro" });
    assert.deepEqual(await batch.app.getMetadata("legacy-j"), {});
    assert.equal(await batch.app.isEmailVerified("legacy-b", "b@example.com"), true);
    assert.deepEqual((await batch.app.getUser(list[11].id))?.tenantIds, ["public", "t2"]);
    assert.equal(await batch.app.countUsers(), 2 + 8);
  });

  it("a batch the database refuses (missing tenant, taken id) is redone one by one: same rows, outcomes", async () => {
    const one = await freshStorage("one_err");
    const recording = new Recording(pool);
    const batch = await freshStorage("batch_err", recording);
    await seed(one.app);
    await seed(batch.app);
    const list = entries([
      { email: "k1@example.com", ext: "legacy-k1", verified: true },
      { email: "k2@example.com", tenants: ["no-such-tenant"] }, // foreign key to tenants
      { email: "k3@example.com", id: seeded.userId }, // primary key of app_id_to_user_id
      { email: "k4@example.com", ext: "legacy-k4", meta: { a: 1 } },
    ]);
    const expected = await oneByOne(context(one.app), structuredClone(list));
    const got = await importBulkUsers(context(batch.app), structuredClone(list));
    assert.deepEqual(got, expected);
    assert.equal(got[0], undefined);
    assert.match(got[1] ?? "", /^Internal error: .*foreign key/);
    assert.match(got[2] ?? "", /^Internal error: .*duplicate key/);
    assert.equal(got[3], undefined);
    const [a, b] = [await dump(one.schema), await dump(batch.schema)];
    for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);
  });

  it("a sign-up racing the batch for an email: the batch is redone one by one, that user refused", async () => {
    const recording = new Recording(pool);
    const { storage, app } = await freshStorage("race", recording);
    const racer = new PostgresStorage(pool, { schema: storage.schema }).app("public");
    const raced = randomUUID();
    recording.beforeBatchInsert = async () => {
      const user = { id: raced, recipeId: "emailpassword" as const, email: "r2@example.com", passwordHash: "x" };
      assert.equal(await racer.insertUser({ ...user, timeJoined: 1, tenantIds: ["public"] }), "OK");
    };
    const list = entries([{ email: "r1@example.com" }, { email: "r2@example.com" }, { email: "r3@example.com" }]);
    const got = await importBulkUsers(context(app), list);
    assert.equal(recording.beforeBatchInsert, undefined, "the batch INSERT was sent");
    assert.equal(got[0], undefined);
    assert.match(got[1] ?? "", /email r2@example\.com already exists/);
    assert.equal(got[2], undefined);
    const users = await app.listUsers({ order: "ASC", limit: 10 });
    assert.deepEqual(users.map((u) => u.email).sort(), ["r1@example.com", "r2@example.com", "r3@example.com"]);
    assert.equal((await app.findUsersByEmail("r2@example.com", "public"))[0]?.id, raced);
  });

  it("splits a large import into batches of 1,000, and MemoryStorage gives the same outcomes one by one", async () => {
    const recording = new Recording(pool);
    const { app } = await freshStorage("large", recording);
    const memory = new MemoryStorage();
    await memory.putApp({ appId: "public", coreConfig: {}, createdAt: 1 });
    await memory.putTenant("public", { tenantId: "t2", coreConfig: {} });
    const records: ImportUserRecord[] = Array.from({ length: 2500 }, (_, i) => ({
      user: {
        id: randomUUID(),
        recipeId: "emailpassword",
        // Every 100th user repeats the email of the one before: refused, across the batches' edges too.
        email: `u${i % 100 === 99 ? i - 1 : i}@example.com`,
        passwordHash: bcryptHash,
        timeJoined: Math.floor(i / 7), // users joined in the same millisecond, across pages too
        tenantIds: ["public"],
      },
      externalUserId: i === 1500 ? "legacy-900" : `legacy-${i}`, // 1500 reuses 900's, from the batch before: refused
      verified: i % 3 === 0,
    }));
    const sentBefore = recording.sent.length;
    const got = await app.importUsers(records);
    const writes = recording.sent.slice(sentBefore).filter((q) => /^\s*WITH u AS/.test(q)).length;
    assert.equal(writes, 3);
    const expected = await importUsersOneByOne(memory.app("public"), records);
    assert.deepEqual(got, expected);
    assert.equal(got.filter((o) => o === "EMAIL_ALREADY_EXISTS").length, 25);
    assert.equal(got[1500], "EXTERNAL_ID_EXISTS");
    assert.equal(await app.countUsers(), 2500 - 26);

    // Paging through them (the tenant's pagination index on PostgreSQL) gives MemoryStorage's order, both ways.
    for (const order of ["ASC", "DESC"] as const) {
      const pages = async (s: AppStorage) => {
        const ids: string[] = [];
        let from: { id: string; timeJoined: number } | undefined;
        for (;;) {
          const rows = await s.listUsers({ tenantId: "public", order, limit: 101, from });
          ids.push(...rows.slice(0, 100).map((u) => u.id));
          if (rows.length <= 100) return ids;
          from = { id: rows[100].id, timeJoined: rows[100].timeJoined };
        }
      };
      const [pgIds, memoryIds] = [await pages(app), await pages(memory.app("public"))];
      assert.equal(pgIds.length, 2500 - 26);
      assert.deepEqual(pgIds, memoryIds, order);
    }
  });

  it("carries quotes, backslashes, braces, commas, NULL-like words, non-ASCII through its typed arrays", async () => {
    const one = await freshStorage("one_chars");
    const batch = await freshStorage("batch_chars");
    const odd = ['a"b', "c\\d", "{e,f}", "NULL", " g ", "ü日本", "h'i", ""];
    const list = entries(
      odd.map((text, i) => ({
        email: `x${i}${text.replace(/\s/g, "")}@example.com`,
        ext: `legacy-${text}-${i}`,
        verified: i % 2 === 0,
        meta: { text, nested: { list: [text, null] } },
        hash: i === 2 ? argonHash : undefined,
      })),
    );
    const expected = await oneByOne(context(one.app), structuredClone(list));
    const got = await importBulkUsers(context(batch.app), structuredClone(list));
    assert.deepEqual(got, expected);
    assert.deepEqual(
      got,
      odd.map(() => undefined),
    );
    const [a, b] = [await dump(one.schema), await dump(batch.schema)];
    for (const table of Object.keys(a)) assert.deepEqual(b[table], a[table], table);
    assert.deepEqual(await batch.app.getMetadata("legacy-{e,f}-2"), {
      text: "{e,f}",
      nested: { list: ["{e,f}", null] },
    });
  });

  it("turns synchronous_commit off for its own transaction only", async () => {
    const client = new pg.Client({ connectionString: requireEnv("DATABASE_URL") });
    await client.connect();
    try {
      const { app } = await freshStorage("sync", client);
      const show = async () => (await client.query("SHOW synchronous_commit")).rows[0].synchronous_commit as string;
      await client.query("SET synchronous_commit = remote_apply");
      const got = await importBulkUsers(context(app), entries([{ email: "s1@example.com", ext: "legacy-s1" }]));
      assert.deepEqual(got, [undefined]);
      // set_config(…, true) ends with the statement's transaction: the session keeps its own setting.
      assert.equal(await show(), "remote_apply");
      assert.equal(await app.countUsers(), 1);
    } finally {
      await client.end();
    }
  });

  it("looks each key up through its unique index, not by scanning the table, once the tables are large", async () => {
    const recording = new Recording(pool);
    const { schema, app } = await freshStorage("plan", recording);
    const records = (from: number, n: number): ImportUserRecord[] =>
      Array.from({ length: n }, (_, i) => ({
        user: {
          id: newImportedUserId(),
          recipeId: "emailpassword",
          email: `p${from + i}@example.com`,
          passwordHash: bcryptHash,
          timeJoined: from + i,
          tenantIds: ["public"],
        },
        externalUserId: `legacy-p${from + i}`,
        verified: false,
        metadataUpdate: i % 10 === 0 ? { n: i } : undefined,
      }));
    for (let i = 0; i < 6000; i += 1000) await app.importUsers(records(i, 1000));
    // The statistics are taken (after 1,000 users): a plan that joined the 1,000 keys to the table would scan it.
    const read = [...recording.sent].reverse().find((q) => /^\s*SELECT 'mapped'/.test(q));
    assert.ok(read, "the batch's read was sent");
    const next = records(6000, 1000);
    const params = [
      "public",
      next.map((r) => r.externalUserId),
      next.map(() => "public"),
      next.map((r) => r.user.email),
      next.filter((r) => r.metadataUpdate).map((r) => r.externalUserId),
    ];
    const plan = await pool.query(`EXPLAIN (FORMAT JSON) ${read}`, params);
    const text = JSON.stringify(plan.rows[0]["QUERY PLAN"]);
    assert.doesNotMatch(text, /"Seq Scan"/, text);
    for (const index of [
      "userid_mapping_external_user_id_key",
      "emailpassword_users_pkey",
      "emailpassword_user_to_tenant_email_key",
      "user_metadata_pkey",
    ])
      assert.match(text, new RegExp(`"Index Name":"${index}"`), index);
    assert.equal(await app.countUsers(), 6000);
    assert.ok(schema);
  });
});

describe("newImportedUserId: the SuperTokens ids of bulk-imported users", () => {
  it("is a version 7 UUID whose order follows the time it was made", () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const ids = [1, 2, 255, 256, 1_700_000_000_000, 1_700_000_000_001, 2 ** 48 - 1].map((t) => newImportedUserId(t));
    for (const id of ids) assert.match(id, uuid);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(newImportedUserId(1_700_000_000_000).slice(0, 13), "018bcfe5-6800");
    // 74 random bits: ids made in the same millisecond differ.
    assert.equal(new Set(Array.from({ length: 1000 }, () => newImportedUserId(5))).size, 1000);
  });
});
