/**
 * migrationStatus() at scale, proved by structure rather than by size: the work it does for N users is counted
 * (core requests, SQL statements, rows per statement), so a million users cost the same per page as a few thousand.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { migrationStatus, type StatusProgress } from "../../lib/status/index.js";
import { formatProgress } from "../../lib/status/progress.js";
import { createCoreApp } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const BCRYPT = "$2b$10$abcdefghijklmnopqrstuuJ2XmYZL1hG7mTz0.gV6cZW1tS8qk8W.";

let core: DevCore;
const requests: string[] = [];
const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 2 });
const schemas: string[] = [];

before(async () => {
  core = await startDevCore({
    onRequest: ({ method, path }) => {
      if (method === "GET" && /\/users(\/count)?$/.test(path)) requests.push(path.replace(/^.*\/public/, ""));
    },
  });
});
after(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
  await core.close();
});

/** A pg Client that counts every statement and the largest result it returned. */
async function countingClient() {
  const client = new pg.Client({ connectionString: requireEnv("DATABASE_URL") });
  await client.connect();
  const statements: string[] = [];
  let largest = 0;
  return {
    db: {
      async query(sql: string, params?: unknown[]) {
        statements.push(sql);
        const res = await client.query(sql, params);
        largest = Math.max(largest, res.rows.length);
        return res;
      },
    },
    statements,
    largest: () => largest,
    close: () => client.end(),
  };
}

describe("status over many users", () => {
  it("reads the core in pages of 500 and looks each page up in one statement; memory holds a page", async () => {
    const legacyRows = 4500;
    const inCore = 1234;
    const uri = await createCoreApp(core.url);
    const appId = uri.split("/appid-")[1];
    const schema = `stm_status_scale_${uniqueId()}`;
    schemas.push(schema);
    await pool.query(`CREATE SCHEMA "${schema}"`);
    await pool.query(`CREATE TABLE "${schema}".users (id text PRIMARY KEY, email text, password_hash text)`);
    await pool.query(
      `INSERT INTO "${schema}".users SELECT 'u-' || g, 'u' || g || '@example.com', $1 FROM generate_series(1, $2) g`,
      [BCRYPT, legacyRows],
    );
    // The first `inCore` legacy users moved (mapped to their legacy id, as the import maps them), written through
    // the storage to keep the test quick; two users signed up in SuperTokens directly.
    const outcomes = await core.storage.app(appId).importUsers(
      Array.from({ length: inCore + 2 }, (_, i) => ({
        user: {
          id: crypto.randomUUID(),
          recipeId: "emailpassword" as const,
          email: `u${i + 1}@example.com`,
          passwordHash: BCRYPT,
          timeJoined: 1_600_000_000_000 + i,
          tenantIds: ["public"],
        },
        ...(i < inCore ? { externalUserId: `u-${i + 1}` } : {}),
        verified: false,
      })),
    );
    assert.ok(outcomes.every((o) => o === "OK"));

    const counted = await countingClient();
    const progress: StatusProgress[] = [];
    requests.length = 0;
    try {
      const status = await migrationStatus({
        users: { pool: counted.db, query: `SELECT id, password_hash FROM "${schema}".users` },
        core: { connectionURI: uri },
        onProgress: (p) => progress.push(p),
      });
      const u = status.users!;
      assert.equal(u.total, legacyRows);
      assert.equal(u.moved, inCore);
      assert.equal(u.legacyOnly, legacyRows - inCore);
      assert.equal(u.legacyOnlyByHash.importable, legacyRows - inCore);
      assert.equal(u.superTokensUsers, inCore + 2);
    } finally {
      await counted.close();
    }

    // The core: one count, then ceil(1236 / 500) = 3 pages, never one request per user.
    assert.deepEqual(requests, ["/users/count", "/users", "/users", "/users"]);
    // The legacy database: the cursor's ceil(4500 / 2000) + 1 fetches, one lookup per core page, and a fixed few
    // statements around them (BEGIN, the columns, DECLARE, CLOSE, COMMIT).
    const kinds = counted.statements.map((s) => s.trim().split(/\s+/)[0]);
    assert.equal(kinds.filter((k) => k === "FETCH").length, 4);
    const lookups = counted.statements.filter((s) => /WHERE .* = ANY\(\$1/.test(s));
    assert.equal(lookups.length, 3);
    assert.equal(counted.statements.length, 4 + 3 + 5);
    // No statement brought more than a cursor page into memory.
    assert.ok(counted.largest() <= 2000, `largest result ${counted.largest()} rows`);

    // Progress ends with every row of both phases, and the core's phase knew its total (so it had an ETA).
    const last = (phase: StatusProgress["phase"]) => progress.filter((p) => p.phase === phase).at(-1);
    assert.deepEqual(
      { done: last("legacy-users")?.done, total: last("legacy-users")?.total },
      { done: legacyRows, total: undefined },
    );
    assert.deepEqual(
      { done: last("core-users")?.done, total: last("core-users")?.total, etaMs: last("core-users")?.etaMs },
      { done: inCore + 2, total: inCore + 2, etaMs: 0 },
    );
  });

  it("prints progress for a terminal with the share done and the time left when the total is known", () => {
    assert.equal(
      formatProgress({ phase: "core-users", done: 302_000, total: 1_000_000, elapsedMs: 31_400, etaMs: 70_200 }),
      "status: core users 302,000 of 1,000,000 (30%) read in 31 s, about 71 s left\n",
    );
    assert.equal(
      formatProgress({ phase: "legacy-users", done: 4000, total: undefined, elapsedMs: 2000, etaMs: undefined }),
      "status: legacy users 4,000 read in 2 s\n",
    );
  });

  it("refuses an onProgress that is not a function, naming the option", async () => {
    await assert.rejects(
      migrationStatus({ users: { pool, query: "select 1 as id, 'x' as password_hash" }, onProgress: 5 as never }),
      (err: { code?: string; message?: string }) =>
        err.code === "ERR_MIGRATE_INVALID_OPTION" && /onProgress/.test(err.message ?? ""),
    );
  });
});
