// @opentelemetry/api is an optional peer: the built package (both builds) must load and migrate without it. A
// scratch app outside the repository gets a copy of dist/ and package.json as node_modules/supertokens-migrate,
// and every other package of the repository's node_modules as a link, except @opentelemetry. Its probes run
// under plain Node (no tsx, no NODE_PATH), first prove that @opentelemetry/api cannot be resolved there, then
// migrate a legacy session over HTTP through the real SDK against the dev core, with `metrics` left undefined
// and with `metrics: true`, which must say once, on stderr, what to install. Needs `npm run build` (pretest).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const childEnv = { ...process.env, NODE_OPTIONS: "", NODE_PATH: "", DEBUG: "" };

let app: string;

before(() => {
  for (const built of ["dist/esm/metrics.js", "dist/cjs/metrics.js"]) {
    assert.ok(existsSync(path.join(root, built)), `${built} is missing: run \`npm run build\` first`);
  }
  app = realpathSync(mkdtempSync(path.join(os.tmpdir(), "supertokens-migrate-no-otel-")));
  assert.ok(!app.startsWith(root + path.sep), "the scratch app lives outside the repository");
  const modules = path.join(app, "node_modules");
  const own = path.join(modules, "supertokens-migrate");
  mkdirSync(own, { recursive: true });
  cpSync(path.join(root, "package.json"), path.join(own, "package.json"));
  cpSync(path.join(root, "dist"), path.join(own, "dist"), { recursive: true });
  for (const entry of readdirSync(path.join(root, "node_modules"))) {
    if (entry === ".bin" || entry.startsWith(".") || entry === "supertokens-migrate") continue;
    if (entry === "@opentelemetry") continue;
    symlinkSync(path.join(root, "node_modules", entry), path.join(modules, entry));
  }
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "no-otel-app", private: true }));
});

after(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

/**
 * The probe, written once for both module systems: `load` is how that kind of app loads a package. It prints one
 * JSON line with what it saw; console.error lines are collected in `loud`.
 */
function probe(load: (name: string) => string, kind: "cjs" | "mjs"): string {
  const body = `
  const loud = [];
  const write = console.error;
  console.error = (...args) => loud.push(args.join(" "));
  let apiFound;
  try {
    ${load("@opentelemetry/api")};
    apiFound = true;
  } catch (err) {
    apiFound = err.code;
  }
  const migrate = ${load("supertokens-migrate")};
  const { startDevCore } = ${load("supertokens-migrate/dev-core")};
  const express = ${load("express")};
  const expressSession = ${load("express-session")};
  const supertokens = ${load("supertokens-node")};
  const Session = ${load("supertokens-node/recipe/session")};
  const { middleware, errorHandler } = ${load("supertokens-node/framework/express")};
  const st = supertokens.default ?? supertokens;
  const core = await startDevCore({ port: 0 });
  st.init({
    supertokens: { connectionURI: core.url },
    appInfo: { appName: "no-otel", apiDomain: "http://127.0.0.1", websiteDomain: "http://127.0.0.1" },
    recipeList: [(Session.default ?? Session).init({ getTokenTransferMethod: () => "cookie" })],
  });
  const session = expressSession.default ?? expressSession;
  const store = new session.MemoryStore();
  const servers = [];
  const listen = (a) =>
    new Promise((resolve) => {
      const server = a.listen(0, "127.0.0.1", () => resolve("http://127.0.0.1:" + server.address().port));
      servers.push(server);
    });
  const legacy = (express.default ?? express)();
  legacy.use(session({ secret: "s3cret", store, resave: false, saveUninitialized: false }));
  legacy.post("/login/:id", (req, res) => {
    req.session.userId = req.params.id;
    res.json({ ok: true });
  });
  const legacyUrl = await listen(legacy);
  const results = {};
  for (const [label, metrics] of [["default", undefined], ["true", true]]) {
    const migrated = (express.default ?? express)();
    migrated.use(middleware());
    const mw = migrate.dualSession({ store, secret: "s3cret", metrics });
    migrated.get("/me", mw, (req, res) => res.json({ userId: req.session.getUserId() }));
    migrated.use(errorHandler());
    const url = await listen(migrated);
    const login = await fetch(legacyUrl + "/login/user-" + label, { method: "POST" });
    const cookie = login.headers.get("set-cookie").split(";")[0];
    const me = await fetch(url + "/me", { headers: { cookie } });
    results[label] = { status: me.status, body: await me.json(), stats: mw.stats().migrated };
  }
  // A second factory with metrics: true says nothing more.
  migrate.dualSession({ store, secret: "s3cret", metrics: true });
  migrate.legacyAuth({ findUserByEmail: async () => undefined, findUserById: async () => undefined, metrics: true });
  for (const server of servers) server.close();
  await core.close();
  console.error = write;
  console.log(JSON.stringify({ apiFound, results, loud }));
  `;
  return kind === "cjs"
    ? `(async () => {${body}})().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`
    : `${body}\nprocess.exit(0);`;
}

const kinds = {
  cjs: (name: string) => `require(${JSON.stringify(name)})`,
  mjs: (name: string) => `await import(${JSON.stringify(name)})`,
} as const;

describe("without @opentelemetry/api installed", () => {
  for (const kind of ["cjs", "mjs"] as const) {
    const build = kind === "cjs" ? "CommonJS" : "ES module";
    it(`the ${build} build loads and migrates, and \`metrics: true\` says once what to install`, async () => {
      const file = path.join(app, `probe.${kind}`);
      writeFileSync(file, probe(kinds[kind], kind));
      const { stdout } = await run(process.execPath, [file], { cwd: app, env: childEnv, timeout: 60_000 });
      const out = JSON.parse(stdout.trim().split("\n").pop()!);
      assert.equal(out.apiFound, kind === "cjs" ? "MODULE_NOT_FOUND" : "ERR_MODULE_NOT_FOUND");
      assert.deepEqual(out.results, {
        default: { status: 200, body: { userId: "user-default" }, stats: 1 },
        true: { status: 200, body: { userId: "user-true" }, stats: 1 },
      });
      const lines = (out.loud as string[]).filter((l) => l.includes("@opentelemetry/api"));
      assert.equal(lines.length, 1, JSON.stringify(out.loud));
      assert.match(
        lines[0],
        /^supertokens-migrate: `metrics: true` was given but @opentelemetry\/api is not installed/,
      );
      assert.match(lines[0], /npm install @opentelemetry\/api/);
    });
  }
});
