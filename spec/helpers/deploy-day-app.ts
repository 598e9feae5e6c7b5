// One app process of the deploy-day test (spec/session/deploy-day.spec.ts, bench/deploy-day.ts): Express with
// SuperTokens and dualSession() over the legacy store the app already had, coordinated with the other processes
// through a shared coordinator. Prints "listening on <url>" when ready, and a JSON line of its stats on SIGTERM.
//
// Env: CORE_URL; STORE = "redis" (connect-redis on REDIS_URL) or "postgres" (connect-pg-simple on DATABASE_URL);
// STORE_PREFIX (the Redis key prefix, or the schema-qualified session table); COORDINATOR = "redis" |
// "redis-cluster" (CLUSTER_ROOT_NODES) | "postgres"; COORDINATOR_PREFIX (Redis key prefix, or the coordinator's
// schema.table).
import express from "express";
import pg from "pg";
import { createClient, createCluster } from "redis";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import * as migrate from "../../lib/index.js";
import { PgStore, RedisStore, type SessionStore } from "./legacy-session.js";
import { appInfo } from "./sdk.js";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`deploy-day app: ${name} is required`);
  return value;
};

async function main() {
  const closers: (() => Promise<unknown>)[] = [];
  let redis: ReturnType<typeof createClient> | undefined;
  const redisClient = async () => {
    if (!redis) {
      redis = createClient({ url: env("REDIS_URL") });
      await redis.connect();
      const client = redis;
      closers.push(() => client.quit());
    }
    return redis;
  };
  let pool: pg.Pool | undefined;
  const pgPool = () => {
    if (!pool) {
      pool = new pg.Pool({ connectionString: env("DATABASE_URL"), max: 10 });
      const p = pool;
      closers.push(() => p.end());
    }
    return pool;
  };

  let store: SessionStore;
  if (env("STORE") === "redis") {
    store = new RedisStore({ client: await redisClient(), prefix: env("STORE_PREFIX") });
  } else {
    const [schemaName, tableName] = env("STORE_PREFIX").split(".");
    store = new PgStore({ pool: pgPool(), schemaName, tableName, pruneSessionInterval: false });
  }

  let coordinator: migrate.MigrationCoordinator;
  if (env("COORDINATOR") === "redis") {
    coordinator = migrate.createRedisMigrationCoordinator(await redisClient(), { prefix: env("COORDINATOR_PREFIX") });
  } else if (env("COORDINATOR") === "redis-cluster") {
    // CLUSTER_ROOT_NODES: JSON of node-redis' rootNodes. The legacy sessions stay where the app had them.
    const cluster = createCluster({ rootNodes: JSON.parse(env("CLUSTER_ROOT_NODES")) as { url: string }[] });
    cluster.on("error", () => {});
    await cluster.connect();
    closers.push(() => cluster.close());
    coordinator = migrate.createRedisMigrationCoordinator(cluster, { prefix: env("COORDINATOR_PREFIX") });
  } else {
    const [schema, table] = env("COORDINATOR_PREFIX").split(".");
    coordinator = migrate.createPostgresMigrationCoordinator(pgPool(), { schema, table });
  }

  supertokens.init({
    framework: "express",
    supertokens: { connectionURI: env("CORE_URL") },
    appInfo,
    recipeList: [Session.init({ getTokenTransferMethod: () => "cookie" })],
  });
  const mw = migrate.dualSession({ store, secret: env("SECRET"), coordinator });
  const app = express();
  app.use(middleware());
  app.use("/api", mw);
  app.get("/api/me", (req, res) => {
    const s = migrate.sessionOf(req);
    if (!s) throw new Error("dualSession() passed a request on without a session");
    res.json({ userId: s.getUserId(), handle: s.getHandle(), pid: process.pid });
  });
  app.use(errorHandler());
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ message: String((err as Error)?.message ?? err) });
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as { port: number };
    process.stdout.write(`listening on http://127.0.0.1:${port}\n`);
  });
  process.once("SIGTERM", () => {
    process.stdout.write(`${JSON.stringify({ stats: mw.stats() })}\n`);
    server.closeAllConnections();
    server.close(() => {
      void Promise.allSettled(closers.map((c) => c())).then(() => process.exit(0));
    });
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`deploy-day app: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
