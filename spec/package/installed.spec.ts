// The package as users install it, end to end: `npm pack` the project, `npm install` the tarball with real peers
// from the registry into scratch apps outside the repository (no tsx, no path mapping, no access to lib/), and run
// the scenarios of spec/package/installed/ under plain `node`, once as an ES module app and once as a CommonJS
// app, for Express 4 and 5 and for the lowest and newest supertokens-node the peer range accepts. Then the
// installed bin: --version, dev-core and import --dry-run. Needs `npm run build` (pretest) and the npm registry
// (or a warm npm cache: installs use --prefer-offline).
import { after, before, describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileP = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const fixtures = path.join(root, "spec/package/installed");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };

/**
 * Children get neither the test runner's tsx loader (NODE_OPTIONS) nor the npm_* variables of an enclosing
 * `npm test` (npm_config_local_prefix and friends point at this repository); a user's own npm settings (cache,
 * registry, userconfig) are kept.
 */
const childEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k)),
);
Object.assign(childEnv, { NODE_OPTIONS: "", NODE_PATH: "", DEBUG: "" });

/** The oldest supertokens-node the peer range accepts, and the newest (resolved from the registry in before()). */
const OLDEST_SDK = "24.0.0";
const combos = ["4", "5"].flatMap((express) => [OLDEST_SDK, "newest"].map((sdk) => ({ express, sdk })));
type Combo = (typeof combos)[number];
const label = (c: Combo) => `express@${c.express} + supertokens-node@${c.sdk === "newest" ? "^24 (newest)" : c.sdk}`;

let tmp: string;
let tarball: string;
/** One install per combination, started together in before() and awaited by that combination's tests. */
const installs = new Map<Combo, Promise<string>>();

function run(cmd: string, args: string[], cwd: string, timeout: number) {
  return execFileP(cmd, args, { cwd, env: childEnv, timeout, maxBuffer: 16 * 1024 * 1024 });
}

async function install(c: Combo, newestSdk: string): Promise<string> {
  const dir = path.join(tmp, `app-express${c.express}-st${c.sdk}`);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, "package.json"),
    JSON.stringify({ name: "scratch-app", version: "1.0.0", private: true }),
  );
  cpSync(fixtures, dir, { recursive: true });
  const sdk = c.sdk === "newest" ? newestSdk : c.sdk;
  const args = [
    "install",
    tarball,
    `express@^${c.express}`,
    `supertokens-node@${sdk}`,
    "express-session@^1",
    "cookie-parser@^1",
  ];
  await run("npm", [...args, "--prefer-offline", "--no-audit", "--no-fund"], dir, 150_000).catch(
    (err: { stderr?: string; message: string }) => {
      throw new Error(`npm install failed in ${dir}: ${err.stderr ?? err.message}`);
    },
  );
  const version = (name: string) =>
    JSON.parse(readFileSync(path.join(dir, "node_modules", name, "package.json"), "utf8")).version as string;
  assert.equal(version("supertokens-node"), sdk);
  assert.equal(version("express").split(".")[0], c.express);
  return dir;
}

before(async () => {
  for (const built of ["dist/esm/index.js", "dist/cjs/index.js", "dist/esm/cli/main.js"]) {
    assert.ok(
      existsSync(path.join(root, built)),
      `${built} is missing: run \`npm run build\` first (npm test does it as pretest)`,
    );
  }
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "supertokens-migrate-installed-")));
  assert.ok(!tmp.startsWith(root + path.sep), "scratch apps live outside the repository");
  // dist is fresh (pretest); pack.spec.ts proves that `prepare` builds it on a clean tree.
  const [packed, newest] = await Promise.all([
    run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], root, 60_000),
    run("npm", ["view", "supertokens-node@^24", "version", "--json"], tmp, 60_000),
  ]);
  tarball = path.join(tmp, (JSON.parse(packed.stdout) as { filename: string }[])[0].filename);
  const versions = JSON.parse(newest.stdout) as string | string[];
  const newestSdk = Array.isArray(versions) ? versions[versions.length - 1] : versions;
  for (const c of combos) {
    const p = install(c, newestSdk);
    p.catch(() => {}); // awaited (and reported) by the combination's tests
    installs.set(c, p);
  }
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface ScenarioResult {
  name: string;
  ok: boolean;
  error?: string;
}

/** Runs one app entry (esm/app.js or cjs/app.js) and turns each scenario it reports into a subtest. */
async function runApp(t: TestContext, dir: string, kind: "esm" | "cjs") {
  const result = await run(process.execPath, [path.join(dir, kind, "app.js")], dir, 60_000).catch(
    (err: { stdout?: string; stderr?: string; code?: number; signal?: string }) => ({
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
      exit: err.code ?? err.signal,
    }),
  );
  const lines = result.stdout.split("\n");
  const results = lines
    .filter((l) => l.startsWith("@@scenario "))
    .map((l) => JSON.parse(l.slice("@@scenario ".length)) as ScenarioResult);
  for (const r of results) {
    await t.test(r.name, () => {
      if (!r.ok) throw new Error(`${r.name}\n${r.error}`);
    });
  }
  const stderr = "exit" in result ? `exit ${result.exit}; stderr: ${result.stderr}` : `stderr: ${result.stderr}`;
  assert.ok(
    results.length > 0 && lines.includes("@@done"),
    `the ${kind} app did not run to the end (${results.length} scenarios reported); ${stderr}`,
  );
}

/** Spawns the installed bin's dev core on a free port; resolves once it listens. */
async function startBinDevCore(dir: string) {
  const bin = path.join(dir, "node_modules/.bin/supertokens-migrate");
  const child = spawn(bin, ["dev-core", "--port", "0"], { cwd: dir, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening on" line within 15 s; stdout: ${stdout}; stderr: ${stderr}`)),
      15_000,
    );
    child.stdout.on("data", () => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before listening; stderr: ${stderr}`));
    });
  }).catch((err: Error) => {
    child.kill("SIGKILL");
    throw err;
  });
  return { child, url, exited, stderr: () => stderr };
}

const HASH = "$2b$10$OSZlB.A/6sYVrixiJkkWFO.1J59M5Y2PmWC5/mmnbRZDHDObD2dvy";
const importFiles = {
  "users.csv":
    "id,email,password_hash,email_verified\n" +
    `legacy-1,one@example.com,${HASH},true\n` +
    `legacy-2,two@example.com,${HASH},false\n`,
  "users.ndjson":
    [
      { id: "legacy-1", email: "one@example.com", passwordHash: HASH, emailVerified: true },
      { id: "legacy-2", email: "two@example.com", passwordHash: HASH, emailVerified: false },
    ]
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
};

// Combinations run side by side (each has its own install and ports); within one, tests run in order.
describe("supertokens-migrate installed from its tarball with real peers", { concurrency: true }, () => {
  for (const c of combos) {
    describe(label(c), () => {
      let dir: string;
      before(
        async () => {
          dir = await installs.get(c)!;
        },
        { timeout: 180_000 },
      );

      it("as an ES module app (import)", { timeout: 60_000 }, (t) => runApp(t, dir, "esm"));
      it("as a CommonJS app (require)", { timeout: 60_000 }, (t) => runApp(t, dir, "cjs"));

      it("bin: `npx supertokens-migrate --version` prints the package version", { timeout: 30_000 }, async () => {
        const { stdout } = await run("npx", ["--no-install", "supertokens-migrate", "--version"], dir, 30_000);
        assert.equal(stdout.trim(), pkg.version);
      });

      it(
        "bin: dev-core starts, answers /hello, takes an import --dry-run, and stops on SIGTERM",
        { timeout: 60_000 },
        async (t) => {
          const core = await startBinDevCore(dir);
          try {
            await t.test("dev-core answers /hello", async () => {
              const res = await fetch(`${core.url}/hello`);
              assert.equal(res.status, 200);
              assert.equal(await res.text(), "Hello");
            });
            for (const [file, content] of Object.entries(importFiles)) {
              await t.test(`import --dry-run --file ${file} plans both users and writes nothing`, async () => {
                writeFileSync(path.join(dir, file), content);
                const report = path.join(dir, `${file}.report.json`);
                const bin = path.join(dir, "node_modules/.bin/supertokens-migrate");
                await run(
                  bin,
                  ["import", "--file", file, "--core", core.url, "--dry-run", "--report", report],
                  dir,
                  30_000,
                );
                const plan = JSON.parse(readFileSync(report, "utf8"));
                assert.equal(plan.dryRun, true);
                assert.deepEqual(
                  {
                    input: plan.counts.input,
                    imported: plan.counts.imported,
                    wouldImport: plan.counts.wouldImport,
                    skipped: plan.counts.skipped,
                    failed: plan.counts.failed,
                  },
                  { input: 2, imported: 0, wouldImport: 2, skipped: 0, failed: 0 },
                );
                const count = await (
                  await fetch(`${core.url}/users/count`, { headers: { "cdi-version": "5.4" } })
                ).json();
                assert.equal(count.count, 0, "a dry run writes nothing");
              });
            }
            await t.test("dev-core exits 0 on SIGTERM", async () => {
              core.child.kill("SIGTERM");
              const timeout = new Promise<never>((_, reject) =>
                setTimeout(() => reject(new Error("still running 5 s after SIGTERM")), 5_000).unref(),
              );
              assert.deepEqual(
                await Promise.race([core.exited, timeout]),
                { code: 0, signal: null },
                `stderr: ${core.stderr()}`,
              );
            });
          } finally {
            if (core.child.exitCode === null && core.child.signalCode === null) core.child.kill("SIGKILL");
          }
        },
      );
    });
  }
});
