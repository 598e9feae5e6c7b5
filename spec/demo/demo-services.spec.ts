/**
 * The demo pointed at real services instead of its embedded defaults: REDIS_URL (connect-redis holds the legacy
 * sessions) and DATABASE_URL (users, notes, and the dev core's data through PostgresStorage), each test run in
 * its own schema and Redis prefix. Over HTTP without a browser: the browser flows are demo-browser.spec.ts's;
 * this shows the same migration holds on the other stores and that the dev core's data outlives a restart.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { createClient } from "redis";
import { CookieJar } from "../helpers/cookies.js";
import { startDemoProcess, type DemoProcess } from "../helpers/demo-process.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const id = uniqueId();
const schema = `demo_${id}`;
const coreSchema = `${schema}_supertokens`;
const redisPrefix = `stm-test:demo:${id}:`;
const env = {
  DATABASE_URL: requireEnv("DATABASE_URL"),
  REDIS_URL: requireEnv("REDIS_URL"),
  DEMO_SCHEMA: schema,
  DEMO_REDIS_PREFIX: redisPrefix,
};

const pool = new pg.Pool({ connectionString: env.DATABASE_URL });
const redis = createClient({ url: env.REDIS_URL });
let dataDir: string;
let demo: DemoProcess | undefined;

async function get(
  jar: CookieJar,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; setCookies: string[] }> {
  const res = await fetch(url, {
    headers: { cookie: jar.header(new URL(url).pathname), accept: "text/html", ...headers },
    redirect: "manual",
  });
  const setCookies = res.headers.getSetCookie();
  jar.update({ headers: { "set-cookie": setCookies } });
  return { status: res.status, body: await res.text(), setCookies };
}

async function legacySessionKeys(): Promise<number> {
  let n = 0;
  for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*` })) n += keys.length;
  return n;
}

async function restart(migration: boolean): Promise<DemoProcess> {
  if (demo) assert.equal(await demo.stop(), 0, demo.output());
  demo = await startDemoProcess({ migration, dataDir, env });
  return demo;
}

before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "stm-demo-services-"));
  await redis.connect();
});

after(async () => {
  const code = await demo?.stop();
  for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*` })) if (keys.length) await redis.del(keys);
  redis.destroy();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.query(`DROP SCHEMA IF EXISTS "${coreSchema}" CASCADE`);
  await pool.end();
  await rm(dataDir, { recursive: true, force: true });
  assert.equal(code, 0, `the demo must exit cleanly on SIGTERM:\n${demo?.output()}`);
});

describe("demo app on Redis and PostgreSQL", () => {
  const alice = new CookieJar();

  it("keeps a legacy user signed in across the switch, with the legacy session in Redis", async () => {
    await restart(false);
    const login = await fetch(`${demo!.url}/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "email=alice%40example.com&password=alice-pass-1&next=%2Fnotes",
      redirect: "manual",
    });
    assert.equal(login.status, 303);
    alice.update({ headers: { "set-cookie": login.headers.getSetCookie() } });
    assert.ok(alice.get("connect.sid"), "legacy cookie");
    assert.equal(await legacySessionKeys(), 1, "the legacy session lives in Redis under the test's prefix");
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".users`);
    assert.equal(rows[0].n, 6, "seeded into the test's schema");

    await restart(true);
    const first = await get(alice, `${demo!.url}/notes`);
    assert.equal(first.status, 200);
    assert.match(first.body, /id="who-email"[^>]*>alice@example\.com</);
    assert.match(first.body, /data-system="supertokens"/);
    assert.match(first.body, /Buy oat milk/);
    assert.ok(alice.get("sAccessToken") && alice.get("sRefreshToken"), "SuperTokens cookies");

    const second = await get(alice, `${demo!.url}/notes`);
    assert.equal(second.status, 200);
    assert.equal(alice.get("connect.sid"), undefined, "legacy cookie cleared");
    assert.equal(await legacySessionKeys(), 0, "legacy session retired from Redis");
  });

  it("keeps the dev core's sessions in PostgreSQL across a restart", async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${coreSchema}".session_info`);
    assert.equal(rows[0].n, 1, "alice's SuperTokens session, stored by PostgresStorage");
    await restart(true);
    const page = await get(alice, `${demo!.url}/notes`);
    assert.equal(page.status, 200);
    assert.match(page.body, /id="who-email"[^>]*>alice@example\.com</);
  });

  it("moves a legacy user who signs in through SuperTokens' API, keeping the legacy id", async () => {
    const bob = new CookieJar();
    const res = await fetch(`${demo!.url}/auth/signin`, {
      method: "POST",
      headers: { "content-type": "application/json", rid: "emailpassword", "st-auth-mode": "cookie" },
      body: JSON.stringify({
        formFields: [
          { id: "email", value: "bob@example.com" },
          { id: "password", value: "bob-pass-1" },
        ],
      }),
    });
    bob.update({ headers: { "set-cookie": res.headers.getSetCookie() } });
    const body = (await res.json()) as { status: string; user: { id: string } };
    assert.equal(body.status, "OK");
    assert.equal(body.user.id, "2");
    const me = await get(bob, `${demo!.url}/api/me`, { accept: "application/json" });
    assert.deepEqual(JSON.parse(me.body), {
      userId: "2",
      email: "bob@example.com",
      system: "supertokens",
      account: "supertokens",
    });
  });
});
