// docs/frontend.md runs: its code blocks are the files of three small apps (server-rendered pages with
// supertokens-web-js from esbuild, the same pages on the SDK's prebuilt bundles, and a React app with
// supertokens-auth-react's prebuilt UI). Each app is written from the page's blocks alone, built with the page's
// own build script where it has one, started as `node server.mjs` against the dev core, real PostgreSQL and
// Redis, and driven in Chromium: a user signed in on the old app stays signed in and the old cookie is retired, a
// user only in the old users table signs in with the old password, sign-out works, and the console stays clean
// (issue 14: "the guide cannot rot").
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import bcrypt from "bcrypt";
import pg from "pg";
import { createClient } from "redis";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { launchChromium, screenshotter } from "../helpers/browser.js";
import { guideFiles, parseBlocks, unplacedBlocks, writeGuideFiles, type GuideBlock } from "../helpers/guide-blocks.js";
import { RedisStore, type SessionStore } from "../helpers/legacy-session.js";
import { createCoreApp } from "../helpers/sdk.js";
import { closedPort, requireEnv, uniqueId } from "../helpers/services.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const PAGE = "docs/frontend.md";
const require = createRequire(import.meta.url);
const { sign } = require("cookie-signature") as { sign(value: string, secret: string): string };
const shot = screenshotter("frontend");

/** Everyone in the old `users` table; alice also has a live express-session from before the switch. */
const ALICE = { id: "1", email: "alice@example.com", password: "alice-old-password" };
const BOB = { id: "2", email: "bob@example.com", password: "bob-old-password" };

let blocks: GuideBlock[];
let files: Map<string, string>;
let core: DevCore;
let browser: Browser;
let pool: pg.Pool;
let redis: ReturnType<typeof createClient>;
/** The scratch folder: node_modules, and one folder per app. */
let base: string;

// ------------------------------------------------------------------------------------------------ the app's process

interface AppProcess {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** `node <script>` in `dir`, to its end; rejects with the output on a non-zero exit. */
async function runNode(dir: string, script: string): Promise<void> {
  const child = spawn(process.execPath, [script], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr.on("data", (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  assert.equal(code, 0, `node ${script} failed:\n${output}`);
}

/** `node server.mjs` in `dir`, resolved once it prints its "listening on" line. */
async function startApp(dir: string, env: Record<string, string>): Promise<AppProcess> {
  const child: ChildProcess = spawn(process.execPath, ["server.mjs"], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${dir}/server.mjs did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/listening on http/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${dir}/server.mjs exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    url: env.APP_ORIGIN,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * The scratch folder's node_modules, shared by the three apps as a reader's project would have it: the
 * repository's packages, and `supertokens-migrate` as a copy of this package's ES module build (a copy, so that
 * another `npm run build` in this working tree cannot empty it under a running app).
 */
async function installModules(base: string): Promise<void> {
  const modules = path.join(base, "node_modules");
  await mkdir(modules);
  for (const name of readdirSync(path.join(root, "node_modules"))) {
    if (!name.startsWith(".")) await symlink(path.join(root, "node_modules", name), path.join(modules, name));
  }
  // The build writes dist/cjs/package.json last: wait for a build in progress to finish.
  const deadline = Date.now() + 180_000;
  while (!existsSync(path.join(root, "dist", "cjs", "package.json"))) {
    assert.ok(Date.now() < deadline, "supertokens-migrate is not built: run `npm run build` (npm test does it first)");
    await new Promise((r) => setTimeout(r, 250));
  }
  const pkg = path.join(modules, "supertokens-migrate");
  await mkdir(pkg);
  await cp(path.join(root, "package.json"), path.join(pkg, "package.json"));
  await cp(path.join(root, "dist", "esm"), path.join(pkg, "dist", "esm"), { recursive: true });
}

/** One app's folder under `base`: the page's files for it, the shared backend first. */
async function writeApp(name: string, prefixes: string[]): Promise<string> {
  const dir = path.join(base, name);
  for (const prefix of prefixes) {
    const written = await writeGuideFiles(files, dir, prefix);
    assert.ok(written.length > 0, `${PAGE} has no blocks with file=${prefix}…`);
  }
  return dir;
}

// ------------------------------------------------------------------------------------------------ the legacy world

/**
 * What one app starts from: its own schema with the old `users` table (bcrypt cost 10), its own dev core app, its
 * own express-session key prefix, and alice's session from before the switch, as express-session stored it.
 */
interface World {
  env: Record<string, string>;
  appId: string;
  store: SessionStore;
  aliceSid: string;
  /** alice's `connect.sid` cookie value, signed with the old secret as express-session signs it. */
  aliceCookie: string;
  drop(): Promise<void>;
}

/** `coreUrl`: where the app reaches the core (a proxy in front of it, to cut it), by default the core itself. */
async function createWorld(name: string, coreUrl = core.url): Promise<World> {
  const id = uniqueId();
  const schema = `frontend_${name}_${id}`;
  const prefix = `frontend:${id}:sess:`;
  const secret = `old-secret-${id}`;
  await pool.query(`CREATE SCHEMA ${schema}`);
  await pool.query(
    `CREATE TABLE ${schema}.users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, password_hash text NOT NULL)`,
  );
  for (const user of [ALICE, BOB]) {
    await pool.query(`INSERT INTO ${schema}.users (id, email, password_hash) VALUES ($1, $2, $3)`, [
      Number(user.id),
      user.email,
      await bcrypt.hash(user.password, 10),
    ]);
  }
  const connectionURI = await createCoreApp(core.url);
  const store = new RedisStore({ client: redis, prefix });
  const aliceSid = randomBytes(24).toString("base64url");
  const day = 24 * 3600 * 1000;
  await new Promise<void>((resolve, reject) =>
    store.set(
      aliceSid,
      {
        cookie: { originalMaxAge: day, expires: new Date(Date.now() + day).toISOString(), httpOnly: true, path: "/" },
        passport: { user: Number(ALICE.id) },
      },
      (err) => (err ? reject(asError(err)) : resolve()),
    ),
  );
  const databaseUrl = new URL(requireEnv("DATABASE_URL"));
  databaseUrl.searchParams.set("options", `-c search_path=${schema}`);
  const port = await closedPort();
  return {
    env: {
      PORT: String(port),
      APP_ORIGIN: `http://localhost:${port}`,
      DATABASE_URL: databaseUrl.toString(),
      REDIS_URL: requireEnv("REDIS_URL"),
      SESSION_SECRET: secret,
      SESSION_PREFIX: prefix,
      SUPERTOKENS_URI: coreUrl + connectionURI.slice(core.url.length),
    },
    appId: connectionURI.slice(connectionURI.lastIndexOf("/appid-") + "/appid-".length),
    store,
    aliceSid,
    aliceCookie: encodeURIComponent(`s:${sign(aliceSid, secret)}`),
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
    },
  };
}

const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

async function storeHas(store: SessionStore, sid: string): Promise<boolean> {
  return new Promise((resolve, reject) =>
    store.get(sid, (err, value) => (err ? reject(asError(err)) : resolve(value !== null && value !== undefined))),
  );
}

/** Polls until the store has dropped `sid`: its destroy finishes after the response that retired it. */
async function storeForgets(store: SessionStore, sid: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (await storeHas(store, sid)) {
    assert.ok(Date.now() < deadline, "the legacy session is still in the store 10 s after its retirement");
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ------------------------------------------------------------------------------------------------ the browser

/** A fresh browser profile; with `legacyCookie`, one that signed in on the old app before the switch. */
async function newBrowser(url: string, legacyCookie?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  if (legacyCookie) await context.addCookies([{ name: "connect.sid", value: legacyCookie, url, httpOnly: true }]);
  return { context, page: await context.newPage() };
}

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name).sort();
}

/** A 4xx or 5xx a person would see in the console, allowed when it is one of SuperTokens' expected probes. */
type Allowance = (method: string, pathname: string, status: number) => boolean;

/**
 * A browser that never had a SuperTokens session: the SDK's first call asks /auth/session/refresh whether one
 * exists, and the answer is 401 (supertokens-website's "may exist" state). Nothing else may fail.
 */
const firstVisitProbe: Allowance = (method, pathname, status) =>
  method === "POST" && pathname === "/auth/session/refresh" && status === 401;

/**
 * What would show in the browser's console on `page`: console errors, uncaught exceptions, failed requests and
 * answers of 400 and over, except those `allowed` accepts (and the console line Chromium prints for each of them).
 */
function watchConsole(page: Page, allowed: Allowance = () => false): { problems(): string[] } {
  const problems: string[] = [];
  const allowedUrls = new Set<string>();
  page.on("response", (res) => {
    if (res.status() < 400) return;
    const { pathname } = new URL(res.url());
    if (allowed(res.request().method(), pathname, res.status())) allowedUrls.add(res.url());
    else problems.push(`${res.status()}: ${res.request().method()} ${pathname}`);
  });
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (/^Failed to load resource/.test(msg.text()) && allowedUrls.has(msg.location().url)) return;
    problems.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("requestfailed", (req) => {
    // The SDK leaves the body of a probe's 401 unread when a redirect follows: Chromium reports it as aborted.
    if (req.failure()?.errorText === "net::ERR_ABORTED" && allowedUrls.has(req.url())) return;
    problems.push(`failed: ${req.url()} (${req.failure()?.errorText})`);
  });
  return { problems: () => [...problems] };
}

/** The requests of `page` from now on, as "METHOD /path STATUS". */
function recordRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on("response", (res) => seen.push(`${res.request().method()} ${new URL(res.url()).pathname} ${res.status()}`));
  return seen;
}

// ------------------------------------------------------------------------------------------------ set-up

before(async () => {
  blocks = parseBlocks(PAGE, await readFile(path.join(root, PAGE), "utf8"));
  files = guideFiles(blocks);
  base = await mkdtemp(path.join(os.tmpdir(), "frontend-apps-"));
  await installModules(base);
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 3 });
  redis = createClient({ url: requireEnv("REDIS_URL") });
  await redis.connect();
  core = await startDevCore();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await core?.close();
  await redis?.quit();
  await pool?.end();
  if (base) await rm(base, { recursive: true, force: true });
});

describe(`${PAGE}: the page`, () => {
  it("names a file or says norun on every code block", () => {
    assert.deepEqual(unplacedBlocks(blocks), []);
  });

  it("names the prebuilt bundles of the installed supertokens-web-js, in its table and its script tags", async () => {
    const markdown = await readFile(path.join(root, PAGE), "utf8");
    const bundleDir = path.join(path.dirname(require.resolve("supertokens-web-js/package.json")), "bundle");
    const installed = readdirSync(bundleDir);
    const { version } = require("supertokens-web-js/package.json") as { version: string };
    assert.ok(markdown.includes(`file in ${version}`), `the table is for supertokens-web-js ${version}`);
    assert.ok(markdown.includes(`supertokens-web-js ${version} installed`), `the script tags are for ${version}`);
    for (const part of ["website", "supertokens", "session", "emailpassword"]) {
      const file = installed.find((f) => f.startsWith(`${part}.`) && f.endsWith(".js"));
      assert.ok(file, `supertokens-web-js ${version} has no ${part} bundle`);
      assert.ok(markdown.includes(`| \`${file}\``), `the table names ${file}`);
      assert.ok(markdown.includes(`<script src="/sdk/${file}"></script>`), `the script tags name ${file}`);
    }
  });
});

describe(`${PAGE}: server-rendered pages, supertokens-web-js bundled by esbuild`, { timeout: 180_000 }, () => {
  let dir: string;
  let world: World;
  let app: AppProcess;
  let alice: { context: BrowserContext; page: Page };
  let bob: { context: BrowserContext; page: Page };

  before(async () => {
    dir = await writeApp("bundler", ["frontend-server/", "frontend-web/", "frontend-bundler/"]);
    world = await createWorld("bundler");
  });

  after(async () => {
    await alice?.context.close();
    await bob?.context.close();
    await app?.stop();
    await world?.drop();
  });

  it("builds browser/main.js with the page's build.mjs into one script with the SDK inside", async () => {
    await runNode(dir, "build.mjs");
    const bundle = await readFile(path.join(dir, "public", "main.js"), "utf8");
    assert.ok((await stat(path.join(dir, "public", "main.js.map"))).size > 0, "a source map next to it");
    assert.doesNotMatch(bundle, /\bimport\s*[{"'*]|require\("supertokens-web-js/, "no import left for the browser");
    assert.match(bundle, /\/session\/refresh/, "supertokens-web-js is in the bundle");
    app = await startApp(dir, world.env);
  });

  it("keeps a user signed in on the old app signed in, and retires the old cookie on the next page", async () => {
    alice = await newBrowser(app.url, world.aliceCookie);
    const watched = watchConsole(alice.page);
    await alice.page.goto(`${app.url}/`);
    assert.equal(new URL(alice.page.url()).pathname, "/notes", "no sign-in form: the old session counts");
    assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
    const names = await cookieNames(alice.context);
    for (const name of ["sAccessToken", "sRefreshToken"])
      assert.ok(names.includes(name), `${name} in ${names.join(",")}`);
    await shot(alice.page, "bundler-01-legacy-session-kept");

    await alice.page.reload();
    assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
    assert.ok(!(await cookieNames(alice.context)).includes("connect.sid"), "the old cookie is cleared");
    await storeForgets(world.store, world.aliceSid);
    assert.deepEqual(watched.problems(), []);
  });

  it("signs out with the SDK, and the old cookie signs nobody back in", async () => {
    const watched = watchConsole(alice.page);
    const requests = recordRequests(alice.page);
    await alice.page.click("#sign-out");
    await alice.page.waitForURL(`${app.url}/login`);
    // The session came with a page load, unseen by the SDK: it refreshes once to learn of it, then signs out.
    const refresh = requests.indexOf("POST /auth/session/refresh 200");
    assert.ok(refresh >= 0 && refresh < requests.indexOf("POST /auth/signout 200"), requests.join("\n"));
    const names = await cookieNames(alice.context);
    assert.ok(!names.includes("sAccessToken") && !names.includes("sRefreshToken"), `signed out: ${names.join(",")}`);

    // A copy of the old cookie, kept from before the switch: its session was retired, so it is worth nothing.
    await alice.context.addCookies([{ name: "connect.sid", value: world.aliceCookie, url: app.url }]);
    await alice.page.goto(`${app.url}/notes`);
    assert.equal(new URL(alice.page.url()).pathname, "/login");
    assert.deepEqual(watched.problems(), []);
  });

  it("signs a user only in the old users table in with the old password; a wrong one is refused", async () => {
    bob = await newBrowser(app.url);
    const watched = watchConsole(bob.page, firstVisitProbe);
    await bob.page.goto(`${app.url}/login`);
    await bob.page.fill("#sign-in [name=email]", BOB.email);
    await bob.page.fill("#sign-in [name=password]", "not-his-password");
    await bob.page.click("#sign-in button");
    await bob.page.waitForSelector("#error:not(:empty)");
    assert.equal(await bob.page.textContent("#error"), "Wrong email or password.");

    await bob.page.fill("#sign-in [name=password]", BOB.password);
    await bob.page.click("#sign-in button");
    await bob.page.waitForURL(`${app.url}/notes`);
    assert.equal(await bob.page.textContent("#who"), `Signed in as user ${BOB.id}`, "his old user id");
    await shot(bob.page, "bundler-02-legacy-user-signed-in");
    assert.deepEqual(watched.problems(), []);
  });

  it("refuses a sign-up with the email of someone only in the old users table", async () => {
    const stranger = await newBrowser(app.url);
    try {
      const watched = watchConsole(stranger.page, firstVisitProbe);
      await stranger.page.goto(`${app.url}/login`);
      await stranger.page.fill("#sign-up [name=email]", ALICE.email.toUpperCase());
      await stranger.page.fill("#sign-up [name=password]", "takeover-123");
      await stranger.page.click("#sign-up button");
      await stranger.page.waitForSelector("#error:not(:empty)");
      assert.equal(await stranger.page.textContent("#error"), "This email already exists. Please sign in instead.");
      assert.ok(!(await cookieNames(stranger.context)).includes("sAccessToken"), "no session for the stranger");
      assert.deepEqual(watched.problems(), []);
    } finally {
      await stranger.context.close();
    }
  });

  it("sends a page load with an expired access token through /refresh and back, signed in", async () => {
    // Access tokens of 2 s from now on, for this app only; a new sign-in gets one.
    const res = await fetch(`${core.url}/recipe/multitenancy/app/v2`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ appId: world.appId, coreConfig: { access_token_validity: 2 } }),
    });
    assert.equal(res.status, 200);
    await bob.page.click("#sign-out");
    await bob.page.waitForURL(`${app.url}/login`);
    await bob.page.fill("#sign-in [name=email]", BOB.email);
    await bob.page.fill("#sign-in [name=password]", BOB.password);
    await bob.page.click("#sign-in button");
    await bob.page.waitForURL(`${app.url}/notes`);

    // Wait out the token's own expiry, as its `exp` claim says.
    const token = (await bob.context.cookies()).find((c) => c.name === "sAccessToken")!.value;
    const { exp } = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString()) as { exp: number };
    assert.ok(exp * 1000 - Date.now() < 3_000, "a short-lived token");
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 300));

    const watched = watchConsole(bob.page);
    const requests = recordRequests(bob.page);
    await bob.page.goto(`${app.url}/notes`);
    await bob.page.waitForSelector("#who");
    assert.equal(new URL(bob.page.url()).pathname, "/notes");
    assert.equal(await bob.page.textContent("#who"), `Signed in as user ${BOB.id}`);
    for (const step of ["GET /notes 302", "GET /refresh 200", "POST /auth/session/refresh 200", "GET /notes 200"])
      assert.ok(requests.includes(step), `${step} in:\n${requests.join("\n")}`);
    assert.deepEqual(watched.problems(), []);
  });
});

describe(`${PAGE}: server-rendered pages on the SDK's prebuilt bundles, no build step`, { timeout: 120_000 }, () => {
  let dir: string;
  let world: World;
  let app: AppProcess;

  let coreProxy: TcpProxy;

  before(async () => {
    dir = await writeApp("nobuild", ["frontend-server/", "frontend-web/", "frontend-nobuild/"]);
    coreProxy = await startTcpProxy({ host: "127.0.0.1", port: core.port });
    world = await createWorld("nobuild", coreProxy.url);
    app = await startApp(dir, world.env);
  });

  after(async () => {
    await app?.stop();
    await coreProxy?.close();
    await world?.drop();
  });

  it("ends every page with the installed bundles' script tags in load order, each cacheable for a year", async () => {
    const html = await (await fetch(`${app.url}/login`)).text();
    const sources = [...html.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(
      sources.map((s) => s.replace(/\.[0-9a-f]{20}\.js$/, ".<hash>.js")),
      [
        "/sdk/website.<hash>.js",
        "/sdk/supertokens.<hash>.js",
        "/sdk/session.<hash>.js",
        "/sdk/emailpassword.<hash>.js",
        "/js/main.js",
      ],
    );
    const documented = blocks.find((b) => b.lang === "html" && b.norun && b.content.includes("/sdk/website."));
    assert.ok(documented, `${PAGE} shows the resulting script tags`);
    const documentedSources = [...documented.content.matchAll(/src="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(documentedSources, sources, "the page shows the tags of the installed supertokens-web-js");
    const sdk = await fetch(`${app.url}${sources[2]}`);
    assert.equal(sdk.status, 200);
    assert.match(sdk.headers.get("cache-control") ?? "", /max-age=31536000.*immutable/);
    assert.match(await sdk.text(), /supertokensSession/);
  });

  it("keeps a user signed in on the old app signed in, retires the old cookie, and signs out", async () => {
    const alice = await newBrowser(app.url, world.aliceCookie);
    try {
      const watched = watchConsole(alice.page);
      // A bookmarked sign-in page: the old cookie signs her in on the way, so it sends her on.
      await alice.page.goto(`${app.url}/login`);
      assert.equal(new URL(alice.page.url()).pathname, "/notes");
      assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
      await alice.page.reload();
      assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
      assert.ok(!(await cookieNames(alice.context)).includes("connect.sid"), "the old cookie is cleared");
      await storeForgets(world.store, world.aliceSid);
      await shot(alice.page, "nobuild-01-legacy-session-kept");

      await alice.page.click("#sign-out");
      await alice.page.waitForURL(`${app.url}/login`);
      assert.ok(!(await cookieNames(alice.context)).includes("sAccessToken"), "signed out");
      await alice.page.goto(`${app.url}/notes`);
      assert.equal(new URL(alice.page.url()).pathname, "/login");
      assert.deepEqual(watched.problems(), []);
    } finally {
      await alice.context.close();
    }
  });

  it("signs a user only in the old users table in with the old password", async () => {
    const bob = await newBrowser(app.url);
    try {
      const watched = watchConsole(bob.page, firstVisitProbe);
      await bob.page.goto(`${app.url}/login`);
      await bob.page.fill("#sign-in [name=email]", BOB.email);
      await bob.page.fill("#sign-in [name=password]", BOB.password);
      await bob.page.click("#sign-in button");
      await bob.page.waitForURL(`${app.url}/notes`);
      assert.equal(await bob.page.textContent("#who"), `Signed in as user ${BOB.id}`);
      assert.deepEqual(watched.problems(), []);
    } finally {
      await bob.context.close();
    }
  });

  it("asks to try again while the core is unreachable, and signs in once it is back", async () => {
    const bob = await newBrowser(app.url);
    try {
      const outage: Allowance = (method, pathname, status) =>
        firstVisitProbe(method, pathname, status) ||
        (method === "POST" && pathname === "/auth/signin" && status === 503);
      const watched = watchConsole(bob.page, outage);
      const requests = recordRequests(bob.page);
      await bob.page.goto(`${app.url}/login`);
      await bob.page.fill("#sign-in [name=email]", BOB.email);
      await bob.page.fill("#sign-in [name=password]", BOB.password);
      coreProxy.cut();
      await bob.page.click("#sign-in button");
      await bob.page.waitForSelector("#error:not(:empty)");
      assert.equal(await bob.page.textContent("#error"), "The server could not be reached. Try again.");
      assert.ok(requests.includes("POST /auth/signin 503"), requests.join("\n"));
      assert.equal(new URL(bob.page.url()).pathname, "/login");

      coreProxy.restore();
      await bob.page.click("#sign-in button");
      await bob.page.waitForURL(`${app.url}/notes`);
      assert.equal(await bob.page.textContent("#who"), `Signed in as user ${BOB.id}`);
      assert.deepEqual(watched.problems(), []);
    } finally {
      coreProxy.restore();
      await bob.context.close();
    }
  });
});

describe(`${PAGE}: React with supertokens-auth-react's prebuilt UI`, { timeout: 120_000 }, () => {
  let dir: string;
  let world: World;
  let app: AppProcess;
  let alice: { context: BrowserContext; page: Page };

  /** A new visitor's expected 401s: SuperTokens' session probe, and the migration endpoint's "nothing to convert". */
  const probes: Allowance = (method, pathname, status) =>
    firstVisitProbe(method, pathname, status) ||
    (method === "POST" && pathname === "/auth/migrate-session" && status === 401);

  before(async () => {
    dir = await writeApp("react", ["frontend-server/", "frontend-react/"]);
    world = await createWorld("react");
  });

  after(async () => {
    await alice?.context.close();
    await app?.stop();
    await world?.drop();
  });

  it("builds the app with the page's build.mjs (esbuild, JSX, React's production build)", async () => {
    await runNode(dir, "build.mjs");
    assert.ok(existsSync(path.join(dir, "dist", "index.html")));
    const bundle = await readFile(path.join(dir, "dist", "main.js"), "utf8");
    assert.doesNotMatch(bundle, /\bimport\s*[{"'*]/, "no import left for the browser");
    assert.doesNotMatch(bundle, /react-dom\.development/, "React's production build");
    app = await startApp(dir, world.env);
  });

  it("signs a user signed in on the old app in through the migration endpoint; the old cookie retires", async () => {
    alice = await newBrowser(app.url, world.aliceCookie);
    const watched = watchConsole(alice.page);
    const requests = recordRequests(alice.page);
    await alice.page.goto(`${app.url}/`);
    await alice.page.waitForSelector("#who");
    assert.equal(new URL(alice.page.url()).pathname, "/", "no detour through the sign-in page");
    assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
    await alice.page.waitForSelector("#api:has-text('sees')");
    assert.equal(await alice.page.textContent("#api"), `The API sees user ${ALICE.id}`);
    // Converted before SuperTokens.init(); the SDK then learns of the session with one refresh.
    const migrated = requests.indexOf("POST /auth/migrate-session 200");
    assert.ok(migrated >= 0 && migrated < requests.indexOf("POST /auth/session/refresh 200"), requests.join("\n"));
    await shot(alice.page, "react-01-legacy-session-kept");

    // The API call carried the new session and the old cookie: that retired the old one.
    await storeForgets(world.store, world.aliceSid);
    assert.ok(!(await cookieNames(alice.context)).includes("connect.sid"), "the old cookie is cleared");
    await alice.page.reload();
    await alice.page.waitForSelector("#api:has-text('sees')");
    assert.equal(await alice.page.textContent("#who"), `Signed in as user ${ALICE.id}`);
    assert.equal(requests.filter((r) => r.startsWith("POST /auth/migrate-session")).length, 1, "asked once");
    assert.deepEqual(watched.problems(), []);
  });

  it("signs out with the SDK, and the old cookie signs nobody back in", async () => {
    const watched = watchConsole(alice.page);
    await alice.page.click("#sign-out");
    await alice.page.waitForURL(/\/login/);
    assert.ok(!(await cookieNames(alice.context)).includes("sAccessToken"), "signed out");
    await alice.context.addCookies([{ name: "connect.sid", value: world.aliceCookie, url: app.url }]);
    await alice.page.goto(`${app.url}/`);
    await alice.page.waitForURL(/\/login/);
    await alice.page.waitForSelector("input[name=email]");
    assert.deepEqual(watched.problems(), []);
  });

  it("signs a user only in the old users table in through the prebuilt UI with the old password", async () => {
    const bob = await newBrowser(app.url);
    try {
      const watched = watchConsole(bob.page, probes);
      await bob.page.goto(`${app.url}/`);
      await bob.page.waitForURL(/\/login/);
      await bob.page.fill("input[name=email]", BOB.email);
      await bob.page.fill("input[name=password]", BOB.password);
      await bob.page.click("button[type=submit]");
      await bob.page.waitForSelector("#api:has-text('sees')");
      assert.equal(new URL(bob.page.url()).pathname, "/");
      assert.equal(await bob.page.textContent("#who"), `Signed in as user ${BOB.id}`);
      assert.equal(await bob.page.textContent("#api"), `The API sees user ${BOB.id}`);
      await shot(bob.page, "react-02-legacy-user-signed-in");
      assert.deepEqual(watched.problems(), []);
    } finally {
      await bob.context.close();
    }
  });
});
