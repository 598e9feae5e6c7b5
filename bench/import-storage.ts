// The dev core's bulk-import write path without HTTP or the CLI: the same users written through
// AppStorage.importUsers by PostgresStorage in batches, by PostgresStorage one by one (the path before batching:
// insertUser, insertMapping, setEmailVerified and a metadata read and write per user), and by MemoryStorage, one
// after the other in the same run, so their ratio does not depend on the machine's load the way each figure does.
// BENCH_IMPORT_STORAGE_USERS sizes the batched and in-memory runs (default 20,000); the one-by-one run takes a tenth.
// Needs DATABASE_URL.
import os from "node:os";
import { performance } from "node:perf_hooks";
import pg from "pg";
import { importUsersOneByOne, newImportedUserId } from "../lib/core/storage/import-users.js";
import { MemoryStorage } from "../lib/core/storage/memory.js";
import { PostgresStorage } from "../lib/core/storage/postgres.js";
import type { AppStorage, CoreStorage, ImportUserRecord } from "../lib/core/storage/types.js";
import type { BenchRow } from "./types.js";

const goal = 5000;
const hash = "$2b$10$Yp1bfq1Ck3a8Sxx6jvMb0OzKpZ0Sbk5mQ0mQn3cU0tNfUuY0l5Qy2";

function users(): number {
  const raw = process.env.BENCH_IMPORT_STORAGE_USERS;
  if (raw === undefined || raw === "") return 20_000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 10)
    throw new Error(`BENCH_IMPORT_STORAGE_USERS must be an integer ≥ 10; received ${JSON.stringify(raw)}.`);
  return n;
}

/**
 * As the import sends them: a legacy id mapped, half verified, a tenth with metadata, and the time-ordered ids the
 * dev core's bulk-import queue gives them.
 */
function records(n: number, tag: string): ImportUserRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    user: {
      id: newImportedUserId(),
      recipeId: "emailpassword",
      email: `${tag}.${i}@example.com`,
      passwordHash: hash,
      timeJoined: 1_577_836_800_000 + i,
      tenantIds: ["public"],
    },
    externalUserId: `${tag}-${i}`,
    verified: i % 2 === 0,
    metadataUpdate: i % 10 === 0 ? { legacy: true } : undefined,
  }));
}

/** Users per second, the queue's way: 1,000 users per importUsers call. */
async function rate(app: AppStorage, list: ImportUserRecord[], oneByOne: boolean): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < list.length; i += 1000) {
    const chunk = list.slice(i, i + 1000);
    const outcomes = oneByOne ? await importUsersOneByOne(app, chunk) : await app.importUsers(chunk);
    if (outcomes.some((o) => o !== "OK"))
      throw new Error(`import-storage: a user was refused: ${JSON.stringify(outcomes.find((o) => o !== "OK"))}`);
  }
  return list.length / ((performance.now() - start) / 1000);
}

async function appOf(storage: CoreStorage): Promise<AppStorage> {
  await storage.putApp({ appId: "public", coreConfig: {}, createdAt: Date.now() });
  return storage.app("public");
}

export async function bench(): Promise<BenchRow[]> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) throw new Error("bench import-storage needs DATABASE_URL");
  const n = users();
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
  const stamp = `${Date.now().toString(36)}${process.pid}`;
  const schemas = [`bench_istore_batch_${stamp}`, `bench_istore_one_${stamp}`];
  try {
    const batched = await rate(
      await appOf(await PostgresStorage.create(pool, { schema: schemas[0] })),
      records(n, "b"),
      false,
    );
    const load = os.loadavg()[0].toFixed(1);
    const slow = Math.max(10, Math.round(n / 10));
    const single = await rate(
      await appOf(await PostgresStorage.create(pool, { schema: schemas[1] })),
      records(slow, "o"),
      true,
    );
    const memory = await rate(await appOf(new MemoryStorage()), records(n, "m"), false);
    const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
    return [
      {
        name: `import-storage: PostgresStorage.importUsers, ${fmt(n)} users in batches of 1,000`,
        value: batched,
        unit: "users/s",
        note:
          `goal ≥ ${fmt(goal)}: ${batched >= goal ? "PASS" : "MISS"}; ${(batched / single).toFixed(1)}× one by one, ` +
          `${(batched / memory).toFixed(2)}× MemoryStorage in the same run; load ${load} on ` +
          `${os.availableParallelism()} CPUs`,
      },
      {
        name: `import-storage: PostgresStorage one by one (before batching), ${fmt(slow)} users`,
        value: single,
        unit: "users/s",
        note: "insertUser, insertMapping, setEmailVerified, metadata read + write: 4 to 6 statements per user",
      },
      {
        name: `import-storage: MemoryStorage, ${fmt(n)} users`,
        value: memory,
        unit: "users/s",
        note: "the in-memory dev core's storage, for scale",
      },
    ];
  } finally {
    for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch(() => {});
    await pool.end();
  }
}
