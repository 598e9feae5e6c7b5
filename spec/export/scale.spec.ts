/**
 * exportSuperTokens() at scale, proved by structure rather than by size: each page of users is one statement cut by
 * keyset on the primary key (never OFFSET), every table in it is reachable by an index (with sequential scans
 * switched off, a plan that still scans a table has no index it can use, and would read the whole table for every
 * page), and the next page is not read until the output has taken the last one.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import pg from "pg";
import { PostgresStorage } from "../../lib/core/index.js";
import { exportSuperTokens } from "../../lib/export/index.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const BCRYPT = "$2b$10$abcdefghijklmnopqrstuuJ2XmYZL1hG7mTz0.gV6cZW1tS8qk8W.";
const schema = `stm_export_scale_${uniqueId()}`;
const users = 2345;
let pool: pg.Pool;

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 2 });
  const storage = await PostgresStorage.create(pool, { schema });
  await storage.putApp({ appId: "public", coreConfig: {}, createdAt: Date.now() });
  await storage.putTenant("public", { tenantId: "public", coreConfig: {} });
  // Every user mapped to a legacy id, with metadata, every second verified, as an import leaves them.
  const outcomes = await storage.app("public").importUsers(
    Array.from({ length: users }, (_, i) => ({
      user: {
        id: randomUUID(),
        recipeId: "emailpassword" as const,
        email: `u${i}@example.com`,
        passwordHash: BCRYPT,
        timeJoined: 1_600_000_000_000 + i,
        tenantIds: ["public"],
      },
      externalUserId: `legacy-${i}`,
      verified: i % 2 === 0,
      metadataUpdate: { plan: "legacy" },
    })),
  );
  assert.ok(outcomes.every((o) => o === "OK"));
});
after(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const isUsersPage = (sql: string) => /FROM\s+\S*emailpassword_users"?\s+u\s+WHERE/.test(sql) && /LIMIT/.test(sql);

describe("export over many users", () => {
  it("reads one keyset page per statement, each by index, and waits for the output between pages", async () => {
    const pages: { sql: string; params: unknown[] }[] = [];
    const db = {
      query(sql: string, params?: unknown[]) {
        if (isUsersPage(sql)) pages.push({ sql, params: params ?? [] });
        return pool.query(sql, params);
      },
    };
    // An output that takes one chunk at a time and answers only when the test lets it: at each user chunk, how many
    // pages had been read.
    const readWhenWritten: number[] = [];
    const held: (() => void)[] = [];
    let wake: (() => void) | undefined;
    const out = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, done) {
        if (chunk.toString().includes('"type":"user"')) readWhenWritten.push(pages.length);
        held.push(done);
        wake?.();
      },
    });
    const exported = exportSuperTokens({ db, schema, out, pageSize: 1000 });
    let finished = false;
    void exported.finally(() => {
      finished = true;
      wake?.();
    });
    while (!finished) {
      if (held.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      held.shift()?.();
    }
    const report = await exported;
    assert.equal(report.users, users);
    assert.equal(report.mappedUsers, users);
    assert.equal(report.verifiedUsers, Math.ceil(users / 2));
    assert.equal(report.usersWithMetadata, users);

    // ceil(2345 / 1000) pages, cut on the primary key after the last id, no OFFSET anywhere.
    assert.equal(pages.length, 3);
    for (const p of pages) assert.doesNotMatch(p.sql, /OFFSET/i);
    assert.match(pages[1].sql, /u\.user_id > \$3 ORDER BY u\.user_id LIMIT \$2/);
    // The output held each page back: the export had read exactly k pages when it wrote the k-th.
    assert.deepEqual(readWhenWritten, [1, 2, 3]);

    // Every table of a page read by key for that page's users only: no scan in the plan of a middle page returns
    // more rows than the page holds (a table read whole, as a join on a column's text made it, returns all 2,345).
    // Sequential scans, hash and merge joins are off: on tables this small the planner may rightly prefer reading a
    // table whole, so the test asks whether it can do without (at a million users it does so on its own).
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      for (const plan of ["seqscan", "hashjoin", "mergejoin"]) await client.query(`SET LOCAL enable_${plan} = off`);
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${pages[1].sql}`, pages[1].params);
      type PlanNode = { "Node Type": string; "Relation Name"?: string; "Actual Rows": number; Plans?: PlanNode[] };
      const scans: PlanNode[] = [];
      const walk = (n: PlanNode) => {
        if (n["Node Type"].includes("Scan")) scans.push(n);
        for (const c of n.Plans ?? []) walk(c);
      };
      walk((rows[0] as { "QUERY PLAN": { Plan: PlanNode }[] })["QUERY PLAN"][0].Plan);
      const wide = scans.filter((n) => n["Actual Rows"] > 1000);
      assert.deepEqual(
        wide.map((n) => `${n["Node Type"]} on ${n["Relation Name"]}: ${n["Actual Rows"]} rows`),
        [],
      );
      assert.ok(scans.some((n) => n["Relation Name"] === "userid_mapping"));
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
