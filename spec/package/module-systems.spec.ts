// The built output under plain Node, once as CommonJS and once as an ES module: the one door to supertokens-node
// internals (lib/sdk-internals.ts) finds each internal with the shape we use, names the SDK version and the
// internal when one is missing, and two copies of the package in one process (an app on the CommonJS build, a
// dependency on the ES module build) share configureLegacySessions() and `instanceof` on errors. Children run
// without the test runner's tsx loader, so module resolution is Node's own. Needs `npm run build` (pretest).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const childEnv = { ...process.env, NODE_OPTIONS: "", NODE_PATH: "", DEBUG: "" };
const sdkVersion = JSON.parse(readFileSync(path.join(root, "node_modules/supertokens-node/package.json"), "utf8"))
  .version as string;

/** Runs `source` as a file of the given kind inside `cwd`; resolves to its parsed JSON stdout. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the script's JSON output, asserted field by field
async function runScript(cwd: string, kind: "cjs" | "mjs", source: string): Promise<any> {
  const file = path.join(cwd, `probe-${Math.random().toString(36).slice(2)}.${kind}`);
  writeFileSync(file, source);
  try {
    const { stdout } = await run(process.execPath, [file], { cwd, env: childEnv, timeout: 20_000 });
    return JSON.parse(stdout.trim().split("\n").pop()!);
  } finally {
    rmSync(file, { force: true });
  }
}

const builds = {
  cjs: { dir: path.join(root, "dist/cjs"), load: (f: string) => `require(${JSON.stringify(f)})` },
  mjs: { dir: path.join(root, "dist/esm"), load: (f: string) => `await import(${JSON.stringify(f)})` },
} as const;

before(() => {
  for (const b of Object.values(builds)) {
    assert.ok(
      existsSync(path.join(b.dir, "sdk-internals.js")),
      `${b.dir}/sdk-internals.js is missing: run \`npm run build\` first`,
    );
  }
});

for (const kind of ["cjs", "mjs"] as const) {
  const { dir, load } = builds[kind];
  const wrap = (body: string) =>
    kind === "cjs" ? `(async () => {${body}})().catch((e) => { console.error(e); process.exit(1); });` : body;

  describe(`SDK internals under plain Node (${kind === "cjs" ? "CommonJS" : "ES module"})`, () => {
    it("every internal is there with the shape we use, and the SDK's origins come through after init", async () => {
      const out = await runScript(
        root,
        kind,
        wrap(`
        const internals = ${load(path.join(dir, "sdk-internals.js"))};
        const supertokens = ${load("supertokens-node")};
        const st = supertokens.default ?? supertokens;
        const Session = ${load("supertokens-node/recipe/session")};
        const before = internals.sdkInstance();
        const checked = internals.checkSdkInternals();
        st.init({
          supertokens: { connectionURI: "http://127.0.0.1:1" },
          appInfo: { appName: "probe", apiDomain: "http://api.example.test", websiteDomain: "http://www.example.test" },
          recipeList: [(Session.default ?? Session).init()],
        });
        const instance = internals.sdkInstance();
        const origins = internals.sdkAppOrigins(instance);
        const querier = internals.sdkQuerier();
        console.log(
          JSON.stringify({ before: before === undefined, checked, origins, querier: typeof querier.sendPostRequest }),
        );
      `),
      );
      assert.deepEqual(out, {
        before: true,
        checked: { version: sdkVersion },
        origins: ["http://api.example.test", "http://www.example.test"],
        querier: "function",
      });
    });

    describe("when the installed SDK lacks an internal", () => {
      let tmp: string;
      before(() => {
        // A stand-in supertokens-node whose internals changed shape, next to a copy of our build.
        tmp = mkdtempSync(path.join(os.tmpdir(), "stm-internals-"));
        const sdk = path.join(tmp, "node_modules/supertokens-node");
        mkdirSync(path.join(sdk, "lib/build"), { recursive: true });
        writeFileSync(
          path.join(sdk, "package.json"),
          JSON.stringify({ name: "supertokens-node", version: "99.0.0", exports: { "./lib/*": "./lib/*" } }),
        );
        writeFileSync(path.join(sdk, "lib/build/version.js"), `exports.version = "99.0.0";`);
        writeFileSync(
          path.join(sdk, "lib/build/supertokens.js"),
          `class SuperTokens { static instanceOrThrow() {} }\nexports.default = SuperTokens;`,
        );
        writeFileSync(
          path.join(sdk, "lib/build/querier.js"),
          `class Querier { static getNewInstanceOrThrowError() {} }\nexports.Querier = Querier;`,
        );
        writeFileSync(path.join(sdk, "lib/build/combinedRemoteJWKSet.js"), `exports.getJWKS = () => {};`);
        const pkg = path.join(tmp, "pkg");
        mkdirSync(pkg);
        for (const f of ["sdk-internals.js", "errors.js", "package.json"]) cpSync(path.join(dir, f), path.join(pkg, f));
      });
      after(() => rmSync(tmp, { recursive: true, force: true }));

      it(
        "throws ERR_MIGRATE_SDK_INTERNALS naming the SDK version and the internal, never a silent " + "fallback",
        async () => {
          const out = await runScript(
            tmp,
            kind,
            wrap(`
          const internals = ${load(path.join(tmp, "pkg/sdk-internals.js"))};
          const probe = (f) => {
            try { f(); return "no error"; } catch (e) { return { code: e.code, message: e.message }; }
          };
          console.log(JSON.stringify({
            instance: probe(() => internals.sdkInstance()),
            querier: probe(() => internals.sdkQuerier()),
            keySet: probe(() => internals.sdkAccessTokenKeySet()),
            check: probe(() => internals.checkSdkInternals()),
          }));
        `),
          );
          for (const failure of [out.instance, out.querier, out.keySet, out.check]) {
            assert.equal(failure.code, "ERR_MIGRATE_SDK_INTERNALS");
            assert.match(failure.message, /supertokens-node 99\.0\.0/);
          }
          assert.match(out.instance.message, /lib\/build\/supertokens\.js SuperTokens\.getInstanceOrThrowError/);
        },
      );
    });
  });
}

describe(
  "two copies in one process: the app requires the CommonJS build, a dependency imports the ES module " + "build",
  () => {
    const both = `
    const cjs = require(${JSON.stringify(path.join(root, "dist/cjs/index.js"))});
    const esm = await import(${JSON.stringify(path.join(root, "dist/esm/index.js"))});
  `;

    it(
      "are distinct copies, yet dualSession() of either copy sees configureLegacySessions() of the " + "other",
      async () => {
        const out = await runScript(
          root,
          "cjs",
          `(async () => {${both}
      const session = require("express-session");
      cjs.configureLegacySessions({ store: new session.MemoryStore(), secret: "shared secret" });
      const fromEsm = typeof esm.dualSession();
      esm.configureLegacySessions({ store: new session.MemoryStore(), secret: "other secret" });
      const fromCjs = typeof cjs.dualSession();
      console.log(JSON.stringify({ distinct: cjs.dualSession !== esm.dualSession, fromEsm, fromCjs }));
    })().catch((e) => { console.error(e); process.exit(1); });`,
        );
        assert.deepEqual(out, { distinct: true, fromEsm: "function", fromCjs: "function" });
      },
    );

    it("instanceof on our error classes holds across copies, by kind", async () => {
      const out = await runScript(
        root,
        "cjs",
        `(async () => {${both}
      let thrown;
      try { esm.dualSession({ store: {} }); } catch (e) { thrown = e; }
      const unavailable = new cjs.UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "down");
      console.log(JSON.stringify({
        code: thrown.code,
        esmConfigIsCjsConfig: thrown instanceof cjs.ConfigError,
        esmConfigIsCjsMigrate: thrown instanceof cjs.MigrateError,
        esmConfigIsCjsUnavailable: thrown instanceof cjs.UnavailableError,
        cjsUnavailableIsEsmUnavailable: unavailable instanceof esm.UnavailableError,
        cjsUnavailableIsEsmConfig: unavailable instanceof esm.ConfigError,
        plainErrorIsMigrate: new Error("x") instanceof esm.MigrateError,
        lookalikeIsMigrate: ({ code: "ERR_MIGRATE_INVALID_OPTION" }) instanceof esm.MigrateError,
        isMigrateError: esm.isMigrateError(unavailable),
      }));
    })().catch((e) => { console.error(e); process.exit(1); });`,
      );
      assert.deepEqual(out, {
        code: "ERR_MIGRATE_STORE_REQUIRED",
        esmConfigIsCjsConfig: true,
        esmConfigIsCjsMigrate: true,
        esmConfigIsCjsUnavailable: false,
        cjsUnavailableIsEsmUnavailable: true,
        cjsUnavailableIsEsmConfig: false,
        plainErrorIsMigrate: false,
        lookalikeIsMigrate: false,
        isMigrateError: true,
      });
    });
  },
);

describe("the version", () => {
  it("lib/version.ts matches package.json, and the built bin prints it", async () => {
    const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    assert.match(
      readFileSync(path.join(root, "lib/version.ts"), "utf8"),
      new RegExp(`packageVersion = "${version.replace(/\./g, "\\.")}"`),
    );
    const { stdout } = await run(process.execPath, [path.join(root, "dist/esm/cli/main.js"), "--version"], {
      env: childEnv,
    });
    assert.equal(stdout.trim(), version);
  });
});
