// The migration guide runs: its code blocks are the files of a small app (spec/helpers/guide-blocks.ts), the app
// before the migration is built from them and signs a user in, then the app after it, built from the same blocks
// plus the steps' changes, must keep that user signed in with the same id, move a legacy-only user on sign-in
// with their old password, and refuse a sign-up over a legacy email. Real Redis, PostgreSQL, dev core over HTTP
// and Chromium, as a reader would run it (issue 14: "the guide cannot rot").
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import bcrypt from "bcrypt";
import pg from "pg";
import { createClient } from "redis";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { launchChromium } from "../helpers/browser.js";
import {
  guideFiles,
  readGuideBlocks,
  unplacedBlocks,
  writeGuideFiles,
  type GuideBlock,
} from "../helpers/guide-blocks.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The pages this package's docs consist of (other pages may join as they are written). */
const DOC_PAGES = [
  "README.md",
  "docs/guide.md",
  "docs/api.md",
  "docs/cli.md",
  "docs/dev-core.md",
  "docs/operations.md",
  "docs/leaving.md",
  "docs/development.md",
];

/** The seeded legacy users: bcrypt cost 10, as the guide's `dummyHash` says. */
const users = [
  { id: 1, email: "alice@example.com", password: "alice-old-password" },
  { id: 2, email: "bob@example.com", password: "bob-old-password" },
  { id: 3, email: "carol@example.com", password: "carol-old-password" },
];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface AppProcess {
  output(): string;
  stop(): Promise<void>;
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
      reject(new Error(`the guide's app did not start within 30 s:\n${output}`));
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
      reject(new Error(`the guide's app exited (${code}) before listening:\n${output}`));
    });
  });
  return {
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/**
 * node_modules for the scratch app: the repository's packages, `express` as Express 4 (the guide's app is an
 * Express 4 app; this repository installs it as `express4`) and `supertokens-migrate` as this package's build.
 * ES modules ignore NODE_PATH, so the app needs a node_modules folder of its own.
 */
async function linkModules(dir: string): Promise<void> {
  const modules = path.join(dir, "node_modules");
  await mkdir(modules);
  for (const name of readdirSync(path.join(root, "node_modules"))) {
    if (name.startsWith(".") || name === "express") continue;
    await symlink(path.join(root, "node_modules", name), path.join(modules, name));
  }
  await symlink(path.join(root, "node_modules", "express4"), path.join(modules, "express"));
  await symlink(root, path.join(modules, "supertokens-migrate"));
}

/** What the frontend SDK sends to SuperTokens' EmailPassword APIs, sent from the page. */
async function emailPasswordApi(page: Page, api: "signin" | "signup", email: string, password: string) {
  return page.evaluate(
    async ({ api, email, password }) => {
      const res = await fetch(`/auth/${api}`, {
        method: "POST",
        headers: { "content-type": "application/json", rid: "emailpassword", "st-auth-mode": "cookie" },
        body: JSON.stringify({
          formFields: [
            { id: "email", value: email },
            { id: "password", value: password },
          ],
        }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    { api, email, password },
  );
}

async function me(page: Page): Promise<{ status: number; body: { id?: unknown; email?: unknown } }> {
  return page.evaluate(async () => {
    const res = await fetch("/api/me");
    return { status: res.status, body: (await res.json()) as { id?: unknown; email?: unknown } };
  });
}

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((c) => c.name).sort();
}

describe("the migration guide", () => {
  let blocks: GuideBlock[];
  let files: Map<string, string>;

  before(async () => {
    const pages = DOC_PAGES.filter((p) => existsSync(path.join(root, p)));
    blocks = await readGuideBlocks(root, pages);
    files = guideFiles(blocks);
  });

  it("names a file or says norun on every code block of the docs", () => {
    assert.deepEqual(unplacedBlocks(blocks), []);
  });

  it("shows the app before and after as files, and every JavaScript file parses", () => {
    const names = [...files.keys()].sort();
    for (const expected of ["before/server.mjs", "before/schema.sql", "after/server.mjs", "after/supertokens.mjs"])
      assert.ok(names.includes(expected), `the guide has no ${expected}; it has ${names.join(", ")}`);
    const failures: string[] = [];
    for (const [name, content] of files) {
      if (!/\.(m|c)?js$/.test(name)) continue;
      const check = spawnSync(
        process.execPath,
        ["--check", `--input-type=${name.endsWith(".cjs") ? "commonjs" : "module"}`],
        {
          input: content,
          encoding: "utf8",
        },
      );
      if (check.status !== 0) failures.push(`${name}:\n${check.stderr}`);
    }
    assert.deepEqual(failures, []);
  });

  it("tells, next to the code, that getUserId() returns a string where req.user.id was a number", () => {
    const guide = files.get("after/server.mjs") ?? "";
    assert.match(guide, /Number\(session\.getUserId\(\)\)/);
  });

  describe("in a browser, from the guide's blocks alone", { timeout: 240_000 }, () => {
    const id = uniqueId();
    const schema = `guide_${id}`;
    const sessionPrefix = `guide:${id}:sess:`;
    let dir: string;
    let pool: pg.Pool;
    let core: DevCore;
    let browser: Browser;
    let baseEnv: Record<string, string>;
    let origin: string;
    const running: AppProcess[] = [];

    before(async () => {
      assert.ok(
        existsSync(path.join(root, "dist", "esm", "index.js")),
        "supertokens-migrate is not built: run `npm run build` (npm test does it first)",
      );
      dir = await mkdtemp(path.join(os.tmpdir(), "guide-app-"));
      await linkModules(dir);
      await writeGuideFiles(files, dir, "before/");

      const databaseUrl = requireEnv("DATABASE_URL");
      pool = new pg.Pool({ connectionString: databaseUrl });
      await pool.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(databaseUrl);
      url.searchParams.set("options", `-c search_path=${schema}`);
      const scoped = new pg.Client({ connectionString: url.toString() });
      await scoped.connect();
      try {
        await scoped.query(await readFile(path.join(dir, "schema.sql"), "utf8"));
        for (const u of users) {
          await scoped.query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, $3)", [
            u.id,
            u.email,
            await bcrypt.hash(u.password, 10),
          ]);
        }
      } finally {
        await scoped.end();
      }

      core = await startDevCore();
      browser = await launchChromium();
      const port = await freePort();
      origin = `http://localhost:${port}`;
      baseEnv = {
        PORT: String(port),
        DATABASE_URL: url.toString(),
        REDIS_URL: requireEnv("REDIS_URL"),
        SESSION_SECRET: `guide-secret-${id}`,
        SESSION_PREFIX: sessionPrefix,
      };
    });

    after(async () => {
      for (const app of running) await app.stop();
      await browser?.close();
      await core?.close();
      if (pool) {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      }
      const redis = createClient({ url: requireEnv("REDIS_URL") });
      await redis.connect();
      for await (const keys of redis.scanIterator({ MATCH: `${sessionPrefix}*` }))
        if (keys.length) await redis.del(keys);
      await redis.quit();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it(
      "keeps a signed-in user signed in with the same id, moves a legacy user on sign-in with the old password, " +
        "and refuses a sign-up over a legacy email",
      async () => {
        // Before: passport signs alice in through the login form.
        const beforeApp = await startApp(dir, baseEnv);
        running.push(beforeApp);
        const context = await browser.newContext();
        const page = await context.newPage();
        await page.goto(`${origin}/login`);
        await page.fill('input[name="email"]', users[0].email);
        await page.fill('input[name="password"]', users[0].password);
        await Promise.all([page.waitForURL(`${origin}/`), page.click("button")]);
        assert.equal(await page.textContent("#who"), `Signed in as ${users[0].email}`);
        const legacyMe = await me(page);
        assert.deepEqual(legacyMe, { status: 200, body: { id: users[0].id, email: users[0].email } });
        assert.deepEqual(await cookieNames(context), ["connect.sid"]);

        // The deploy: the same port, the after app built from the same blocks plus each step's files.
        await beforeApp.stop();
        running.pop();
        await writeGuideFiles(files, dir, "after/");
        const afterApp = await startApp(dir, { ...baseEnv, SUPERTOKENS_URI: core.url, APP_ORIGIN: origin });
        running.push(afterApp);

        await page.reload();
        assert.equal(await page.textContent("#who"), `Signed in as ${users[0].email}`, afterApp.output());
        const names = await cookieNames(context);
        assert.ok(names.includes("sAccessToken"), `no SuperTokens session after the reload: ${names.join(", ")}`);
        // Same id, and the same type: the guide's one-line Number(...) change.
        assert.deepEqual(await me(page), legacyMe);
        // That request carried the new tokens and the old cookie: proof, so the legacy session is retired.
        assert.ok(!(await cookieNames(context)).includes("connect.sid"), "the legacy cookie was not retired");

        // bob never signed in before the switch: his old password moves him, with his id.
        const bob = await (await browser.newContext()).newPage();
        await bob.goto(`${origin}/login`);
        const wrong = await emailPasswordApi(bob, "signin", users[1].email, "not-his-password");
        assert.equal(wrong.body.status, "WRONG_CREDENTIALS_ERROR");
        const signIn = await emailPasswordApi(bob, "signin", users[1].email, users[1].password);
        assert.equal(signIn.body.status, "OK", JSON.stringify(signIn));
        await bob.goto(`${origin}/`);
        assert.equal(await bob.textContent("#who"), `Signed in as ${users[1].email}`);
        assert.deepEqual(await me(bob), { status: 200, body: { id: users[1].id, email: users[1].email } });

        // carol is still only in the users table: nobody can sign up with her email, in any case.
        const stranger = await (await browser.newContext()).newPage();
        await stranger.goto(`${origin}/login`);
        const signUp = await emailPasswordApi(
          stranger,
          "signup",
          ` ${users[2].email.toUpperCase()}`,
          "a-new-password-1",
        );
        assert.equal(signUp.body.status, "FIELD_ERROR", JSON.stringify(signUp));
        assert.deepEqual(signUp.body.formFields, [
          { id: "email", error: "This email already exists. Please sign in instead." },
        ]);
        assert.equal((await me(stranger)).status, 401);
      },
    );
  });
});
