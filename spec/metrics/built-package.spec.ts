// The built package (both builds) with and without @opentelemetry/api, an optional peer. Two scratch apps outside
// the repository get a copy of dist/ and package.json as node_modules/supertokens-migrate, and every other package
// of the repository's node_modules as a link; one of them leaves out @opentelemetry. Probes run under plain Node
// (no tsx, no NODE_PATH) and migrate legacy sessions over HTTP through the real SDK against the dev core, with
// `metrics` left undefined and with `metrics: true`. Without the API, they first prove that it cannot be resolved,
// migrate all the same, and `metrics: true` says once, on stderr, what to install. With it, the migrations reach
// the OpenTelemetry SDK's MeterProvider registered as global, through the build's own dynamic import. Needs
// `npm run build` (pretest).
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

let tmp: string;
const apps = { without: "", with: "" };

/** A scratch app with the built package, and the repository's packages but @opentelemetry unless `otel`. */
function scratchApp(name: string, otel: boolean): string {
  const app = path.join(tmp, name);
  const modules = path.join(app, "node_modules");
  const own = path.join(modules, "supertokens-migrate");
  mkdirSync(own, { recursive: true });
  cpSync(path.join(root, "package.json"), path.join(own, "package.json"));
  cpSync(path.join(root, "dist"), path.join(own, "dist"), { recursive: true });
  for (const entry of readdirSync(path.join(root, "node_modules"))) {
    if (entry === ".bin" || entry.startsWith(".") || entry === "supertokens-migrate") continue;
    if (entry === "@opentelemetry" && !otel) continue;
    symlinkSync(path.join(root, "node_modules", entry), path.join(modules, entry));
  }
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name, private: true }));
  return app;
}

before(() => {
  for (const built of ["dist/esm/metrics.js", "dist/cjs/metrics.js"]) {
    assert.ok(existsSync(path.join(root, built)), `${built} is missing: run \`npm run build\` first`);
  }
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "supertokens-migrate-otel-")));
  assert.ok(!tmp.startsWith(root + path.sep), "the scratch apps live outside the repository");
  apps.without = scratchApp("without-otel", false);
  apps.with = scratchApp("with-otel", true);
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/**
 * The probe, written once for both module systems: `load` is how that kind of app loads a package. It prints one
 * JSON line with what it saw; console.error lines are collected in `loud`.
 */
function probe(load: (name: string) => string, kind: "cjs" | "mjs", otel: boolean): string {
  // With the API: the OpenTelemetry SDK's MeterProvider as global, read back through its in-memory exporter.
  const sdkStart = `
  const sdk = ${load("@opentelemetry/sdk-metrics")};
  const exporter = new sdk.InMemoryMetricExporter(sdk.AggregationTemporality.CUMULATIVE);
  const reader = new sdk.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3600000 });
  const provider = new sdk.MeterProvider({ readers: [reader] });
  (${load("@opentelemetry/api")}).metrics.setGlobalMeterProvider(provider);`;
  const sdkEnd = `
  await reader.forceFlush();
  const exported = exporter.getMetrics().at(-1)?.scopeMetrics ?? [];
  for (const scope of exported) {
    for (const m of scope.metrics) {
      counted[scope.scope.name + " " + m.descriptor.name] = m.dataPoints.reduce(
        (sum, p) => sum + (typeof p.value === "number" ? p.value : p.value.count),
        0,
      );
    }
  }
  await provider.shutdown();`;
  const body = `
  const counted = {};
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
  ${otel ? sdkStart : ""}
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
  ${otel ? sdkEnd : ""}
  for (const server of servers) server.close();
  await core.close();
  console.error = write;
  console.log(JSON.stringify({ apiFound, results, loud, counted }));
  `;
  return kind === "cjs"
    ? `(async () => {${body}})().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`
    : `${body}\nprocess.exit(0);`;
}

const kinds = {
  cjs: (name: string) => `require(${JSON.stringify(name)})`,
  mjs: (name: string) => `await import(${JSON.stringify(name)})`,
} as const;

/** Runs the probe of `kind` in the app with or without the API; answers its JSON line. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the probe's JSON, asserted field by field
async function runProbe(kind: "cjs" | "mjs", otel: boolean): Promise<any> {
  const app = otel ? apps.with : apps.without;
  const file = path.join(app, `probe.${kind}`);
  writeFileSync(file, probe(kinds[kind], kind, otel));
  const { stdout } = await run(process.execPath, [file], { cwd: app, env: childEnv, timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").pop()!);
}

const migrations = {
  default: { status: 200, body: { userId: "user-default" }, stats: 1 },
  true: { status: 200, body: { userId: "user-true" }, stats: 1 },
};

describe("without @opentelemetry/api installed", () => {
  for (const kind of ["cjs", "mjs"] as const) {
    const build = kind === "cjs" ? "CommonJS" : "ES module";
    it(`the ${build} build loads and migrates, and \`metrics: true\` says once what to install`, async () => {
      const out = await runProbe(kind, false);
      assert.equal(out.apiFound, kind === "cjs" ? "MODULE_NOT_FOUND" : "ERR_MODULE_NOT_FOUND");
      assert.deepEqual(out.results, migrations);
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

describe("with @opentelemetry/api installed and a global MeterProvider", () => {
  for (const kind of ["cjs", "mjs"] as const) {
    const build = kind === "cjs" ? "CommonJS" : "ES module";
    it(`the ${build} build records both migrations to it, and says nothing on stderr`, async () => {
      const out = await runProbe(kind, true);
      assert.equal(out.apiFound, true);
      assert.deepEqual(out.results, migrations);
      assert.deepEqual(out.loud, []);
      assert.equal(out.counted["supertokens-migrate supertokens_migrate.sessions.migrated"], 2);
      assert.equal(out.counted["supertokens-migrate supertokens_migrate.sessions.migration.duration"], 2);
    });
  }
});
