import { createClient } from "redis";
import type { DemoConfig } from "./config.js";
import type { Queryable } from "./db.js";
import { PgStore, RedisStore, type SessionStore } from "./legacy-modules.js";

export interface LegacySessionStore {
  /** The express-session store: the legacy app's, and after the switch dualSession()'s (read, then retire). */
  store: SessionStore;
  description: string;
  /** Live sessions in the store, for the progress page. */
  count(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The store the legacy app has always used, and the one dualSession() must read after the restart: connect-redis
 * on REDIS_URL, otherwise connect-pg-simple on the demo's database (the embedded one by default), so the legacy
 * sessions outlive the restart that turns the migration on.
 */
export async function openSessionStore(config: DemoConfig, db: Queryable): Promise<LegacySessionStore> {
  if (config.redisUrl) {
    const client = createClient({ url: config.redisUrl });
    client.on("error", () => {}); // reconnects by itself; dualSession answers 503 while it is down
    await client.connect();
    const prefix = config.redisPrefix;
    return {
      store: new RedisStore({ client, prefix }),
      description: `Redis (connect-redis, prefix ${prefix})`,
      async count() {
        let n = 0;
        for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 100 })) n += keys.length;
        return n;
      },
      close: async () => {
        await client.close();
      },
    };
  }
  const store = new PgStore({
    pool: db,
    schemaName: config.databaseUrl ? config.schema : undefined,
    tableName: "session",
    createTableIfMissing: false,
  });
  return {
    store,
    description: "PostgreSQL session table (connect-pg-simple)",
    async count() {
      const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM session WHERE expire >= now()");
      return rows[0].n;
    },
    close: () => store.close(),
  };
}
