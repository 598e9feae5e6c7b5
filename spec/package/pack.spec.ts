// The published artefact, not the source: pack the tarball, install it into a throwaway project and use it the
// way consumers do (CommonJS require, ESM import, TypeScript under NodeNext, the bin). Needs `npm run build`
// first (`npm test` runs it as pretest); no network.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const tsc = path.join(root, "node_modules/typescript/bin/tsc");
// Children resolve from the consumer project; nothing of the test runner's loader may leak into them.
const childEnv = { ...process.env, NODE_OPTIONS: "", NODE_PATH: "" };

let tmp: string;
let project: string;
let installed: string;
let tarball: string;
let packedFiles: string[];

function node(args: string[], cwd = project) {
  return run(process.execPath, args, { cwd, env: childEnv, timeout: 15_000 });
}

/**
 * Install the tarball as npm would (unpack into node_modules/<name>), but link its dependencies and peers to
 * this repository's node_modules instead of fetching them: `npm install --offline <tgz>` takes ~17 s here and
 * depends on the state of the npm cache, and the dependencies are not what this test is about.
 */
function install() {
  installed = path.join(project, "node_modules/supertokens-migrate");
  mkdirSync(installed, { recursive: true });
  return run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]).then(() => {
    const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
    const names = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), "@types"];
    for (const name of names) {
      const target = path.join(root, "node_modules", name);
      if (!existsSync(target)) continue; // an optional peer this repository does not install
      const link = path.join(project, "node_modules", name);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(target, link, "dir");
    }
  });
}

before(async () => {
  for (const built of ["dist/esm/core/index.js", "dist/cjs/core/index.js", "dist/esm/cli/main.js"]) {
    assert.ok(existsSync(path.join(root, built)), `${built} is missing: run \`npm run build\` first (npm test does it as pretest)`);
  }
  // realpath: Node reports resolved files by real path, and the tmpdir may be a symlink (macOS /var).
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "supertokens-migrate-pack-")));
  const { stdout } = await run("npm", ["pack", "--json", "--offline", "--ignore-scripts", "--pack-destination", tmp], {
    cwd: root,
    env: childEnv,
    timeout: 60_000,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, packed!.filename);
  packedFiles = packed!.files.map((f) => f.path);
  project = path.join(tmp, "consumer");
  mkdirSync(project);
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "commonjs" }));
  await install();
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the build, package.json and docs only", () => {
    const stray = packedFiles.filter((f) => !f.startsWith("dist/") && !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE(\.md)?)$/.test(f));
    assert.deepEqual(stray, []);
    for (const f of ["dist/esm/package.json", "dist/cjs/package.json", "dist/esm/core/index.d.ts", "dist/cjs/core/index.d.ts"]) {
      assert.ok(packedFiles.includes(f), `${f} is not in the tarball`);
    }
  });

  it("passes publint --strict (no errors, no warnings)", async () => {
    const bytes = readFileSync(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer },
      strict: true,
    });
    const problems = messages.filter((m) => m.type !== "suggestion").map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`);
    assert.deepEqual(problems, []);
  });
});

describe("supertokens-migrate/dev-core installed from the tarball", () => {
  // Each consumer starts a dev core and reads /hello, so a module that loads but cannot run also fails.
  const exercise = (load: string, resolve: string) => `
    const devCore = ${load};
    const core = await devCore.startDevCore({ port: 0 });
    const hello = await (await fetch(core.url + "/hello")).text();
    await core.close();
    console.log(JSON.stringify({ startDevCore: typeof devCore.startDevCore, hello, file: ${resolve} }));`;

  it("loads with require() from CommonJS", async () => {
    const file = path.join(project, "consumer.cjs");
    writeFileSync(file, `(async () => {${exercise(`require("supertokens-migrate/dev-core")`, `require.resolve("supertokens-migrate/dev-core")`)}})();`);
    const out = JSON.parse((await node([file])).stdout);
    assert.equal(out.startDevCore, "function");
    assert.equal(out.hello, "Hello");
    assert.equal(out.file, path.join(installed, "dist/cjs/core/index.js"));
  });

  it("loads with import() from ESM", async () => {
    const file = path.join(project, "consumer.mjs");
    const resolve = `fileURLToPath(import.meta.resolve("supertokens-migrate/dev-core"))`;
    writeFileSync(file, `import { fileURLToPath } from "node:url";${exercise(`await import("supertokens-migrate/dev-core")`, resolve)}`);
    const out = JSON.parse((await node([file])).stdout);
    assert.equal(out.startDevCore, "function");
    assert.equal(out.hello, "Hello");
    assert.equal(out.file, path.join(installed, "dist/esm/core/index.js"));
  });

  it("type-checks under module NodeNext from .mts (import types) and .cts (require types)", async () => {
    const consumer = `
      import { startDevCore, MemoryStorage, type DevCore, type DevCoreOptions } from "supertokens-migrate/dev-core";
      const options: DevCoreOptions = { port: 0, config: { access_token_validity: 60 }, storage: new MemoryStorage() };
      export async function main(): Promise<string> {
        const core: DevCore = await startDevCore(options);
        await core.close();
        return core.url;
      }
      // Proves the declarations were found and are not \`any\`.
      // @ts-expect-error port is a number
      startDevCore({ port: "0" });
    `;
    writeFileSync(path.join(project, "dev-core.mts"), consumer);
    writeFileSync(path.join(project, "dev-core.cts"), consumer);
    writeFileSync(
      path.join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", strict: true, noEmit: true, skipLibCheck: false, types: ["node"],
        },
        files: ["dev-core.mts", "dev-core.cts"],
      }),
    );
    const result = await node([tsc, "-p", "tsconfig.json"]).catch((err: { stdout: string; stderr: string }) => err);
    assert.equal("code" in result ? result.stdout + result.stderr : "", "");
  });
});

describe("the root entry installed from the tarball", () => {
  it("exposes the same exports to require() and import()", async () => {
    const cjs = path.join(project, "root.cjs");
    const mjs = path.join(project, "root.mjs");
    writeFileSync(cjs, `console.log(JSON.stringify(Object.keys(require("supertokens-migrate")).sort()));`);
    writeFileSync(mjs, `console.log(JSON.stringify(Object.keys(await import("supertokens-migrate")).filter((k) => k !== "default").sort()));`);
    const fromCjs = JSON.parse((await node([cjs])).stdout) as string[];
    const fromEsm = JSON.parse((await node([mjs])).stdout) as string[];
    assert.ok(fromCjs.includes("dualSession"), `dualSession missing from ${fromCjs.join(", ")}`);
    assert.deepEqual(fromEsm, fromCjs);
  });
});

describe("the bin (supertokens-migrate dev-core)", () => {
  it("serves /hello and exits 0 on SIGTERM", async () => {
    const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
    const bin = path.join(installed, pkg.bin["supertokens-migrate"]);
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);

    const child = spawn(process.execPath, [bin, "dev-core", "--port", "0"], { cwd: project, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "listening on" line within 10 s; stdout: ${stdout}; stderr: ${stderr}`)), 10_000);
        child.stdout.on("data", () => {
          const m = /SuperTokens dev core listening on (http:\/\/\S+)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        exited.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`));
        });
      });
      const res = await fetch(`${url}/hello`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "Hello");

      child.kill("SIGTERM");
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still running 5 s after SIGTERM")), 5_000).unref());
      assert.deepEqual(await Promise.race([exited, timeout]), { code: 0, signal: null }, `stderr: ${stderr}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
