// What each path costs on deploy day, as ratios taken side by side in one run on one app process and one core:
//   - a first-hit migration (dualSession() on a request carrying only a logged-in legacy cookie in connect-redis)
//     against a plain SuperTokens sign-in's createNewSession request: goal ≥ 0.7× requests/s;
//   - an authenticated request after the switch (dualSession() with a valid SuperTokens session) against the same
//     request on the app before the switch (express-session reading connect-redis): reported, no goal.
// Each side runs twice, alternating, and keeps its best, so drift in machine load hits both alike.
import { randomBytes } from "node:crypto";
import os from "node:os";
import type autocannon from "autocannon";
import { sign } from "cookie-signature";
import { createClient } from "redis";
import { startCoreProcess } from "./core-process.js";
import { startApp } from "./dual-session.js";
import { fireFixed, measureHttp } from "./http-load.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const SECRET = "bench-secret";
const CONNECTIONS = 10;

/** A fixed number of distinct requests, 10 connections; requests/s over the wall time, p50/p99. */
async function fixedRun(name: string, url: string, count: number, request: (i: number) => autocannon.Request) {
  let next = 0;
  const { result, seconds: wall } = await fireFixed({
    url,
    connections: CONNECTIONS,
    amount: count,
    requests: [{ setupRequest: (req) => ({ ...req, ...request(next++) }) }],
  });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0)
    throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  const row: BenchRow = {
    name,
    value: result.requests.total / wall,
    unit: "req/s",
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    note: `${result.requests.total} distinct users, ${CONNECTIONS} conns`,
  };
  return row;
}

const best = (a: BenchRow | undefined, b: BenchRow) => (!a || b.value > a.value ? b : a);

export async function bench(): Promise<BenchRow[]> {
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl)
    throw new Error(
      "REDIS_URL is required for the first-hit benchmark: start one (redis-server --port 6379) and set " +
        "REDIS_URL=redis://127.0.0.1:6379",
    );
  const prefix = `bench:${randomBytes(4).toString("hex")}:`;
  const count = Number(process.env.BENCH_MIGRATIONS ?? 2000);
  const loadAtStart = os.loadavg()[0];
  const core = await startCoreProcess();
  const app = await startApp(core.url, { REDIS_URL: redisUrl, BENCH_REDIS_PREFIX: prefix });
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const rows: BenchRow[] = [];
  try {
    /** `n` logged-in legacy sessions written to Redis as connect-redis writes them; their cookies. */
    const legacyCookies = async (n: number, tag: string) => {
      const cookies: string[] = [];
      const expires = new Date(Date.now() + 86_400_000).toISOString();
      for (let i = 0; i < n; i += 500) {
        const multi = redis.multi();
        for (let j = i; j < Math.min(n, i + 500); j++) {
          const sid = randomBytes(18).toString("base64url");
          const data = {
            cookie: { originalMaxAge: 86_400_000, expires, httpOnly: true, path: "/" },
            userId: `${tag}-${j}`,
          };
          multi.set(`${prefix}${sid}`, JSON.stringify(data), { EX: 86_400 });
          cookies.push(`connect.sid=${encodeURIComponent(`s:${sign(sid, SECRET)}`)}`);
        }
        await multi.exec();
      }
      return cookies;
    };

    // Warm both paths (JIT, the SDK's JWKS fetch, the core's first key use) outside the figures.
    const warm = await legacyCookies(50, "warm");
    await fixedRun("warm-up", app.url, 50, (i) => ({ method: "GET", path: "/dual/me", headers: { cookie: warm[i] } }));
    await fixedRun("warm-up", app.url, 50, (i) => ({ method: "POST", path: `/login/warm-${i}` }));

    let plain: BenchRow | undefined;
    let migrate: BenchRow | undefined;
    for (let round = 0; round < 2; round++) {
      const run = `r${round}-${randomBytes(3).toString("hex")}`;
      plain = best(
        plain,
        await fixedRun("plain SuperTokens: createNewSession request", app.url, count, (i) => ({
          method: "POST",
          path: `/login/${run}-plain-${i}`,
        })),
      );
      const cookies = await legacyCookies(count, `${run}-legacy`);
      migrate = best(
        migrate,
        await fixedRun("dualSession: first-hit migration (connect-redis)", app.url, count, (i) => ({
          method: "GET",
          path: "/dual/me",
          headers: { cookie: cookies[i] },
        })),
      );
    }
    const ratio = migrate!.value / plain!.value;
    rows.push(plain!, migrate!, {
      name: "first-hit migration / createNewSession request",
      value: ratio,
      unit: "×",
      note: `goal ≥ 0.7×: ${ratio >= 0.7 ? "PASS" : "MISS"}; load average at start ${loadAtStart.toFixed(2)}`,
    });

    // The same authenticated request before and after the switch.
    const login = await fetch(`${app.url}/login/after-switch`, { method: "POST" });
    const stCookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const [legacyCookie] = await legacyCookies(1, "before-switch");
    const seconds = phaseSeconds(5);
    let before: BenchRow | undefined;
    let after: BenchRow | undefined;
    for (let round = 0; round < 2; round++) {
      before = best(
        before,
        await measureHttp({
          name: "before the switch: express-session + connect-redis",
          url: app.url,
          path: "/legacy/me",
          headers: { cookie: legacyCookie },
          expectBody: (b) => b.includes('"userId":"before-switch-0"'),
          seconds,
          warmupSeconds: 1,
        }),
      );
      after = best(
        after,
        await measureHttp({
          name: "after the switch: dualSession(), SuperTokens session",
          url: app.url,
          path: "/dual/me",
          headers: { cookie: stCookie },
          expectBody: (b) => b.includes('"userId":"after-switch"'),
          seconds,
          warmupSeconds: 1,
        }),
      );
    }
    rows.push(before!, after!, {
      name: "authenticated request after / before the switch",
      value: after!.value / before!.value,
      unit: "×",
      note: "reported, no goal: > 1 means requests got faster",
    });
  } finally {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
      if (keys.length) await redis.del(keys);
    await redis.quit();
    await app.close();
    await core.close();
  }
  return rows;
}
