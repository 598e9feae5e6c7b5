// dualSession() against verifySession() on the same app in the same run (issue 4's benchmarks):
// a valid SuperTokens session (goal ≥ 0.97 of verifySession's requests/s, zero store calls), no cookie
// (goal ≥ 0.97), and first-hit migrations per second with p99 on the Redis store.
import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sign } from "cookie-signature";
import { createClient } from "redis";
import { startCoreProcess, startServerProcess } from "./core-process.js";
import { fireFixed, measureHttp } from "./http-load.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The app of dual-session-server.ts in its own process, unpinned; also used by first-hit.ts. */
export function startApp(coreUrl: string, env: Record<string, string>) {
  return startServerProcess("bench app", path.join(root, "bench/dual-session-server.ts"), [coreUrl], {
    pin: false,
    env,
  });
}

const ratioRow = (name: string, dual: BenchRow, plain: BenchRow, goal: number): BenchRow => {
  const ratio = dual.value / plain.value;
  return { name, value: ratio, unit: "×", note: `goal ≥ ${goal}: ${ratio >= goal ? "PASS" : "MISS"}` };
};

export async function bench(): Promise<BenchRow[]> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl)
    throw new Error(
      "REDIS_URL is required for the dualSession benchmark: start one (redis-server --port 6379) and set " +
        "REDIS_URL=redis://127.0.0.1:6379",
    );
  const prefix = `bench:${randomBytes(4).toString("hex")}:`;
  const core = await startCoreProcess();
  const app = await startApp(core.url, { REDIS_URL: redisUrl, BENCH_REDIS_PREFIX: prefix });
  const rows: BenchRow[] = [];
  try {
    const login = await fetch(`${app.url}/login/bench-user`, { method: "POST" });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const seconds = phaseSeconds(5);
    const expectUser = (b: string) => b.includes('"userId":"bench-user"');
    const expectNone = (b: string) => b.includes('"userId":null');
    const storeGets = async () => ((await (await fetch(`${app.url}/stats`)).json()) as { storeGets: number }).storeGets;

    // Alternate the two sides twice and keep each side's best, so drift in machine load hits both alike.
    const pair = async (
      label: string,
      plainPath: string,
      dualPath: string,
      headers: Record<string, string>,
      expect: (b: string) => boolean,
    ) => {
      let plain: BenchRow | undefined;
      let dual: BenchRow | undefined;
      for (let i = 0; i < 2; i++) {
        const p = await measureHttp({
          name: `verifySession: ${label}`,
          url: app.url,
          path: plainPath,
          headers,
          expectBody: expect,
          seconds,
          warmupSeconds: 1,
        });
        const d = await measureHttp({
          name: `dualSession: ${label}`,
          url: app.url,
          path: dualPath,
          headers,
          expectBody: expect,
          seconds,
          warmupSeconds: 1,
        });
        if (!plain || p.value > plain.value) plain = p;
        if (!dual || d.value > dual.value) dual = d;
      }
      return { plain: plain!, dual: dual! };
    };

    const before = await storeGets();
    const valid = await pair("valid SuperTokens session", "/plain/me", "/dual/me", { cookie }, expectUser);
    const gets = (await storeGets()) - before;
    rows.push(valid.plain, { ...valid.dual, note: `${valid.dual.note}, legacy store reads: ${gets}` });
    rows.push(ratioRow("dualSession / verifySession, valid session", valid.dual, valid.plain, 0.97));

    const none = await pair("no cookie", "/plain/open", "/dual/open", {}, expectNone);
    rows.push(none.plain, none.dual, ratioRow("dualSession / verifySession, no cookie", none.dual, none.plain, 0.97));

    // Migrations: each request carries its own logged-in legacy session, written to Redis beforehand.
    const count = Number(process.env.BENCH_MIGRATIONS ?? 3000);
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    const cookies: string[] = [];
    const expires = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < count; i += 500) {
      const multi = redis.multi();
      for (let j = i; j < Math.min(count, i + 500); j++) {
        const sid = randomBytes(18).toString("base64url");
        multi.set(
          `${prefix}${sid}`,
          JSON.stringify({
            cookie: { originalMaxAge: 86_400_000, expires, httpOnly: true, path: "/" },
            userId: `legacy-${j}`,
          }),
          { EX: 86_400 },
        );
        cookies.push(`connect.sid=${encodeURIComponent(`s:${sign(sid, "bench-secret")}`)}`);
      }
      await multi.exec();
    }
    let next = 0;
    const { result, seconds: wall } = await fireFixed({
      url: app.url,
      connections: 10,
      amount: count,
      requests: [
        {
          method: "GET",
          path: "/dual/me",
          setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % count] } }),
        },
      ],
    });
    if (result.non2xx + result.errors + result.timeouts > 0) {
      throw new Error(`migrations: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    }
    rows.push({
      name: "dualSession: first-hit migrations (connect-redis)",
      value: result.requests.total / wall,
      unit: "req/s",
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      note: `${result.requests.total} distinct legacy sessions, 10 conns`,
    });
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
      if (keys.length) await redis.del(keys);
    await redis.quit();
  } finally {
    await app.close();
    await core.close();
  }
  return rows;
}
