// Deploy day, in miniature or full size: N app processes (spec/helpers/deploy-day-app.ts) behind a round-robin
// proxy on loopback share one legacy store, one coordinator and one core. Every logged-in legacy user's browser
// sends a burst of parallel first requests, as a page load does, each on its own connection so that the proxy
// spreads one user's burst over the processes. Used by spec/session/deploy-day.spec.ts (CI size) and
// bench/deploy-day.ts (20,000 users).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "cookie-signature";
import pg from "pg";
import { createClient } from "redis";
import { PgStore, RedisStore, type SessionStore } from "./legacy-session.js";
import type { OwnRedisCluster } from "./redis-cluster.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SECRET = "deploy-day-secret";

export type StoreKind = "redis" | "postgres";
export type CoordinatorKind = "redis" | "redis-cluster" | "postgres";

export interface DeployDayOptions {
  coreUrl: string;
  store: StoreKind;
  coordinator: CoordinatorKind;
  processes: number;
  redisUrl: string;
  databaseUrl: string;
  /** For the "redis-cluster" coordinator: node-redis' rootNodes, and each node's command counts. */
  cluster?: { rootNodes: { url: string }[]; commandCalls(): Promise<Record<string, number>> };
}

/** Connection-level round robin: each new client connection goes to the next backend. */
export async function startRoundRobinProxy(targets: number[]): Promise<{ url: string; close(): Promise<void> }> {
  let next = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targets[next++ % targets.length], "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

interface AppProcess {
  child: ChildProcess;
  port: number;
  /** The app's `stats()` line, printed on SIGTERM. */
  stop(): Promise<Record<string, unknown>>;
}

async function startApp(env: Record<string, string>): Promise<AppProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "spec/helpers/deploy-day-app.ts")], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  // DEPLOY_DAY_LOG_DIR: each process's stderr (DEBUG=supertokens-migrate:* lines) also goes to <dir>/app-<pid>.log.
  if (process.env.DEPLOY_DAY_LOG_DIR)
    child.stderr.pipe(createWriteStream(path.join(process.env.DEPLOY_DAY_LOG_DIR, `app-${child.pid}.log`)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        child.stdout.off("data", onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on("data", onData);
    void exited.then((code) => reject(new Error(`deploy-day app exited with ${code}: ${err}`)));
  });
  return {
    child,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
      const line = out.split("\n").find((l) => l.startsWith('{"stats"'));
      return line ? (JSON.parse(line) as { stats: Record<string, unknown> }).stats : {};
    },
  };
}

export interface BurstResult {
  status: number;
  userId?: string;
  handle?: string;
  pid?: number;
  setCookies: string[];
  ms: number;
  /** The body of an answer other than 200, for diagnosis. */
  error?: string;
  retryAfter?: number;
}

/** One GET on a fresh connection (no keep-alive), so the proxy picks the next process. */
function get(url: string, cookie: string): Promise<BurstResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { cookie, connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => {
        let json: { userId?: string; handle?: string; pid?: number } = {};
        try {
          json = JSON.parse(body) as typeof json;
        } catch {
          // a non-JSON answer keeps only its status
        }
        resolve({
          status: res.statusCode ?? 0,
          ...json,
          setCookies: res.headers["set-cookie"] ?? [],
          ...(res.statusCode === 200 ? {} : { error: body.slice(0, 300) }),
          ...(res.headers["retry-after"] ? { retryAfter: Number(res.headers["retry-after"]) } : {}),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        });
      });
    });
    req.on("error", reject);
  });
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i], i);
      }
    }),
  );
  return results;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0;

const total = (ops: Record<string, number>) => Object.values(ops).reduce((a, b) => a + b, 0);

/** Polls `count` until it is 0 or `withinMs` passed; the last count. */
async function settledCount(count: () => Promise<number>, withinMs: number): Promise<number> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const n = await count();
    if (n === 0 || Date.now() > deadline) return n;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface DeployDayReport {
  users: number;
  burst: number;
  requests: number;
  /** Every answer, retries included. */
  statuses: Record<number, number>;
  /** Requests answered 503 and tried again after Retry-After. */
  retried: number;
  /** Users whose burst was answered with more than one session handle. */
  forked: string[];
  /** SuperTokens sessions in the core per user, counted through the core's API. */
  sessionsPerUser: Map<string, number>;
  migrationsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * Legacy sessions still in the store once each user's next request proved the new tokens (retirement runs
   * after the response, so this waits up to 10 s for the count to reach 0, and reports what is left).
   */
  legacyLeft: number;
  /** Store commands (Redis calls, or PostgreSQL statements) per migration, from the server's own counters. */
  storeOpsPerMigration: number | undefined;
  /** The same, per Redis command (or PostgreSQL transactions), during the first requests only. */
  storeOpsByCommand: Record<string, number>;
  /** Processes that served at least one request. */
  processesServing: number;
  /** Distinct non-200 answers ("status body") with how often each came. */
  errors: Record<string, number>;
}

export interface DeployDay {
  url: string;
  run(users: number, burst: number, concurrency: number): Promise<DeployDayReport>;
  close(): Promise<void>;
}

/** Starts the processes, the proxy and the stores' clients. */
export async function startDeployDay(o: DeployDayOptions): Promise<DeployDay> {
  const tag = randomBytes(4).toString("hex");
  const redis = createClient({ url: o.redisUrl });
  await redis.connect();
  const db = new pg.Pool({ connectionString: o.databaseUrl, max: 4 });
  const schema = `deploy_day_${tag}`;
  if (o.store === "postgres" || o.coordinator === "postgres") await db.query(`CREATE SCHEMA ${schema}`);
  let store: SessionStore;
  let storePrefix: string;
  if (o.store === "redis") {
    storePrefix = `dd:${tag}:sess:`;
    store = new RedisStore({ client: redis, prefix: storePrefix });
  } else {
    storePrefix = `${schema}.session`;
    store = new PgStore({
      pool: db,
      schemaName: schema,
      tableName: "session",
      createTableIfMissing: true,
      pruneSessionInterval: false,
    });
  }
  const coordinatorPrefix = o.coordinator === "postgres" ? `${schema}.claims` : `dd:${tag}:coord:`;
  if (o.coordinator === "redis-cluster" && !o.cluster)
    throw new Error("deploy day: the cluster coordinator needs `cluster`");
  const apps: AppProcess[] = [];
  try {
    for (let i = 0; i < o.processes; i++) {
      apps.push(
        await startApp({
          CORE_URL: o.coreUrl,
          REDIS_URL: o.redisUrl,
          DATABASE_URL: o.databaseUrl,
          STORE: o.store,
          STORE_PREFIX: storePrefix,
          COORDINATOR: o.coordinator,
          COORDINATOR_PREFIX: coordinatorPrefix,
          CLUSTER_ROOT_NODES: JSON.stringify(o.cluster?.rootNodes ?? []),
          SECRET,
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(apps.map((a) => a.stop()));
    throw err;
  }
  const proxy = await startRoundRobinProxy(apps.map((a) => a.port));
  const storeSet = (sid: string, data: unknown) =>
    new Promise<void>((resolve, reject) =>
      store.set(sid, data, (e) =>
        e ? reject(e instanceof Error ? e : new Error(`store.set failed: ${JSON.stringify(e)}`)) : resolve(),
      ),
    );
  const storeCount = async () => {
    if (o.store === "redis") {
      let n = 0;
      for await (const keys of redis.scanIterator({ MATCH: `${storePrefix}*`, COUNT: 1000 })) n += keys.length;
      return n;
    }
    const r = await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.session`);
    return Number(r.rows[0].n);
  };
  /** Calls per command on the Redis server, or transactions on the PostgreSQL database. */
  const storeOps = async (): Promise<Record<string, number>> => {
    if (o.coordinator === "redis-cluster") {
      const info = await redis.info("commandstats");
      const ops = Object.fromEntries(
        [...info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]),
      );
      for (const [cmd, n] of Object.entries(await o.cluster!.commandCalls()))
        ops[`cluster ${cmd}`] = (ops[`cluster ${cmd}`] ?? 0) + n;
      return ops;
    }
    if (o.coordinator === "redis" || o.store === "redis") {
      const info = await redis.info("commandstats");
      return Object.fromEntries([...info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)].map((m) => [m[1], Number(m[2])]));
    }
    const r = await db.query<{ n: string }>(
      "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()",
    );
    return { transactions: Number(r.rows[0].n) };
  };
  const sessionsOf = async (userId: string) => {
    const res = await fetch(`${o.coreUrl}/recipe/session/user?userId=${encodeURIComponent(userId)}`, {
      headers: { "cdi-version": "5.4" },
    });
    if (!res.ok) throw new Error(`core: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { sessionHandles: string[] }).sessionHandles.length;
  };

  return {
    url: proxy.url,
    async run(users, burst, concurrency) {
      const expires = new Date(Date.now() + 86_400_000);
      const legacy = await pool(
        Array.from({ length: users }, (_, i) => i),
        50,
        async (i) => {
          const sid = randomBytes(18).toString("base64url");
          const userId = `dd-${tag}-${i}`;
          await storeSet(sid, {
            cookie: { originalMaxAge: 86_400_000, expires, httpOnly: true, path: "/" },
            userId,
          });
          return { userId, cookie: `connect.sid=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}` };
        },
      );
      const opsBefore = await storeOps();
      const started = process.hrtime.bigint();
      // A 503 is the package's "slow down": the browser's next try comes after Retry-After, as a reload would.
      let retried = 0;
      const firstRequest = async (cookie: string) => {
        const answers: BurstResult[] = [];
        for (let attempt = 0; ; attempt++) {
          const a = await get(`${proxy.url}/api/me`, cookie);
          answers.push(a);
          if (a.status !== 503 || attempt === 3) return answers;
          retried++;
          await new Promise((resolve) => setTimeout(resolve, Math.min(a.retryAfter ?? 1, 5) * 1000));
        }
      };
      const bursts = await pool(legacy, concurrency, async (u) =>
        (await Promise.all(Array.from({ length: burst }, () => firstRequest(u.cookie)))).flat(),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const opsAfter = await storeOps();

      const statuses: Record<number, number> = {};
      const forked: string[] = [];
      const latencies: number[] = [];
      const errors: Record<string, number> = {};
      const pids = new Set<number>();
      for (const [i, answers] of bursts.entries()) {
        for (const a of answers) {
          statuses[a.status] = (statuses[a.status] ?? 0) + 1;
          latencies.push(a.ms);
          if (a.pid) pids.add(a.pid);
          if (a.error !== undefined) errors[`${a.status} ${a.error}`] = (errors[`${a.status} ${a.error}`] ?? 0) + 1;
        }
        const handles = new Set(answers.filter((a) => a.status === 200).map((a) => a.handle));
        if (handles.size > 1 || answers.some((a) => a.status === 200 && a.userId !== legacy[i].userId))
          forked.push(legacy[i].userId);
      }
      latencies.sort((a, b) => a - b);

      // Each browser's next request carries the new tokens and the legacy cookie: the proof that retires it.
      await pool(bursts, concurrency, async (answers, i) => {
        const ok = answers.find((a) => a.status === 200);
        if (!ok) return;
        const tokens = ok.setCookies
          .map((c) => c.split(";")[0])
          .filter((c) => c.startsWith("sAccessToken=") || c.startsWith("sRefreshToken="));
        await get(`${proxy.url}/api/me`, [...tokens, legacy[i].cookie].join("; "));
      });
      const sessionsPerUser = new Map<string, number>();
      await pool(legacy, 20, async (u) => sessionsPerUser.set(u.userId, await sessionsOf(u.userId)));
      const migrations = [...sessionsPerUser.values()].reduce((a, b) => a + b, 0);
      return {
        users,
        burst,
        requests: users * burst,
        retried,
        statuses,
        forked,
        sessionsPerUser,
        migrationsPerSecond: users / seconds,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
        legacyLeft: await settledCount(storeCount, 10_000),
        storeOpsPerMigration: migrations ? (total(opsAfter) - total(opsBefore)) / migrations : undefined,
        storeOpsByCommand: Object.fromEntries(
          Object.entries(opsAfter)
            .map(([cmd, n]) => [cmd, (n - (opsBefore[cmd] ?? 0)) / Math.max(1, migrations)] as const)
            .filter(([cmd, n]) => n > 0 && cmd !== "info"),
        ),
        processesServing: pids.size,
        errors,
      };
    },
    async close() {
      await proxy.close();
      await Promise.allSettled(apps.map((a) => a.stop()));
      if (o.store === "redis" || o.coordinator === "redis") {
        for await (const keys of redis.scanIterator({ MATCH: `dd:${tag}:*`, COUNT: 1000 }))
          if (keys.length) await redis.del(keys);
      }
      if (o.store === "postgres" || o.coordinator === "postgres")
        await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.end();
      await redis.quit();
    },
  };
}

/** The `cluster` option for a Redis Cluster started by spec/helpers/redis-cluster.ts. */
export function clusterOption(cluster: OwnRedisCluster): NonNullable<DeployDayOptions["cluster"]> {
  return {
    rootNodes: cluster.rootNodes,
    async commandCalls() {
      const calls: Record<string, number> = {};
      for (const node of cluster.nodes) {
        const info = await cluster.cli(node.port, "info", "commandstats").catch(() => "");
        for (const m of info.matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) calls[m[1]] = (calls[m[1]] ?? 0) + Number(m[2]);
      }
      return calls;
    },
  };
}
