/**
 * The dev core on each storage, for specs that run the same cases in memory and on PostgreSQL: each `open()` starts
 * a core (on PostgreSQL in a schema of its own) and its `close()` stops it and drops the schema.
 */
import pg from "pg";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { requireEnv, uniqueId } from "./services.js";

export interface CoreBackend {
  name: "in memory" | "on PostgreSQL";
  open(): Promise<{ core: DevCore; close(): Promise<void> }>;
}

/** A dev core on PostgreSQL in a fresh schema named after `schemaPrefix`; `close()` stops it and drops the schema. */
export async function openPostgresCore(
  schemaPrefix: string,
  config: Record<string, unknown> = { bcrypt_log_rounds: 4 },
): Promise<{ core: DevCore; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 10 });
  const schema = `${schemaPrefix}_${uniqueId()}`;
  const core = await startDevCore({ storage: await PostgresStorage.create(pool, { schema }), config });
  return {
    core,
    async close() {
      await core.close();
      await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** `schemaPrefix` names the PostgreSQL schemas after the spec, so a leftover one says where it came from. */
export function coreBackends(schemaPrefix: string, config: Record<string, unknown> = { bcrypt_log_rounds: 4 }) {
  const backends: CoreBackend[] = [
    {
      name: "in memory",
      async open() {
        const core = await startDevCore({ config });
        return { core, close: () => core.close() };
      },
    },
    { name: "on PostgreSQL", open: () => openPostgresCore(schemaPrefix, config) },
  ];
  return backends;
}
