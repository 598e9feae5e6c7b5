// The published artefact, not the source: pack the tarball, install it into a throwaway project and use it the
// way consumers do (CommonJS require, ESM import, TypeScript under NodeNext, the bin), and prove that `npm pack`
// on a clean tree builds through `prepare`. Needs `npm run build` first (`npm test` runs it as pretest); no network.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
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
    assert.ok(
      existsSync(path.join(root, built)),
      `${built} is missing: run \`npm run build\` first (npm test does it as pretest)`,
    );
  }
  // realpath: Node reports resolved files by real path, and the tmpdir may be a symlink (macOS /var).
  tmp = realpathSync(mkdtempSync(path.join(os.tmpdir(), "supertokens-migrate-pack-")));
  const { stdout } = await run("npm", ["pack", "--json", "--offline", "--ignore-scripts", "--pack-destination", tmp], {
    cwd: root,
    env: childEnv,
    timeout: 60_000,
  });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(tmp, packed.filename);
  packedFiles = packed.files.map((f) => f.path);
  project = path.join(tmp, "consumer");
  mkdirSync(project);
  writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "commonjs" }),
  );
  await install();
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("holds the build, package.json and docs only", () => {
    const stray = packedFiles.filter(
      (f) =>
        !f.startsWith("dist/") && !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE(\.md)?|docs\/errors\.md)$/.test(f),
    );
    assert.deepEqual(stray, []);
    // Every error message points at docs/errors.md inside the installed package.
    for (const f of [
      "docs/errors.md",
      "dist/esm/package.json",
      "dist/cjs/package.json",
      "dist/esm/core/index.d.ts",
      "dist/cjs/core/index.d.ts",
    ]) {
      assert.ok(packedFiles.includes(f), `${f} is not in the tarball`);
    }
  });

  it("passes publint --strict (no errors, no warnings)", async () => {
    const bytes = readFileSync(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) },
      strict: true,
    });
    const problems = messages
      .filter((m) => m.type !== "suggestion")
      .map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false })}`);
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
    writeFileSync(
      file,
      `(async () => ` +
        `{${exercise(
          `require("supertokens-migrate/dev-core")`,
          `require.resolve("supertokens-migrate/dev-core")`,
        )}})();`,
    );
    const out = JSON.parse((await node([file])).stdout);
    assert.equal(out.startDevCore, "function");
    assert.equal(out.hello, "Hello");
    assert.equal(out.file, path.join(installed, "dist/cjs/core/index.js"));
  });

  it("loads with import() from ESM", async () => {
    const file = path.join(project, "consumer.mjs");
    const resolve = `fileURLToPath(import.meta.resolve("supertokens-migrate/dev-core"))`;
    writeFileSync(
      file,
      `import { fileURLToPath } from "node:url";${exercise(`await import("supertokens-migrate/dev-core")`, resolve)}`,
    );
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
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
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
    writeFileSync(
      mjs,
      `console.log(JSON.stringify(Object.keys(await import("supertokens-migrate")).filter((k) => k !== ` +
        `"default").sort()));`,
    );
    const fromCjs = JSON.parse((await node([cjs])).stdout) as string[];
    const fromEsm = JSON.parse((await node([mjs])).stdout) as string[];
    assert.ok(fromCjs.includes("dualSession"), `dualSession missing from ${fromCjs.join(", ")}`);
    assert.deepEqual(fromEsm, fromCjs);
  });
});

/** Every file package.json `exports` names, with the subpath and the condition path that leads to it. */
function exportTargets(pkg: { exports: Record<string, unknown> }) {
  const out: { subpath: string; conditions: string[]; file: string }[] = [];
  const walk = (subpath: string, value: unknown, conditions: string[]) => {
    if (typeof value === "string") out.push({ subpath, conditions, file: value });
    else for (const [k, v] of Object.entries(value as Record<string, unknown>)) walk(subpath, v, [...conditions, k]);
  };
  for (const [subpath, value] of Object.entries(pkg.exports)) walk(subpath, value, []);
  return out;
}

describe("every entry point of package.json, from the tarball", () => {
  const pkg = () => JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
  const specifier = (subpath: string) => `supertokens-migrate${subpath.slice(1)}`;

  it("exports names only files that are in the tarball, for import and require, types and default", () => {
    const targets = exportTargets(pkg());
    const conditions = new Set(targets.map((t) => t.conditions.join("/")));
    for (const c of ["import/types", "import/default", "require/types", "require/default"])
      assert.ok(conditions.has(c), `no ${c} entry in exports`);
    const missing = targets
      .filter((t) => !packedFiles.includes(path.posix.normalize(t.file)))
      .map((t) => `${t.subpath} [${t.conditions.join(" > ")}] ${t.file}`);
    assert.deepEqual(missing, []);
  });

  it(
    "loads every require target with require() and every import target with import(), resolving to the file " +
      "exports names",
    async () => {
      const targets = exportTargets(pkg()).filter((t) => t.conditions.at(-1) !== "types");
      const required = targets.filter((t) => t.conditions[0] !== "import");
      const imported = targets.filter((t) => t.conditions[0] === "import");
      assert.ok(required.length > 0 && imported.length > 0);
      const cjs = path.join(project, "entries.cjs");
      const mjs = path.join(project, "entries.mjs");
      writeFileSync(
        cjs,
        `console.log(JSON.stringify(${JSON.stringify(required.map((t) => specifier(t.subpath)))}.map((s) => {
      const m = require(s);
      return { specifier: s, file: require.resolve(s), keys: Object.keys(m).length };
    })));`,
      );
      writeFileSync(
        mjs,
        `import { fileURLToPath } from "node:url";
      const out = [];
      for (const s of ${JSON.stringify(imported.map((t) => specifier(t.subpath)))}) {
        const m = await import(s);
        const keys = Object.keys(m).filter((k) => k !== "default").length;
        out.push({ specifier: s, file: fileURLToPath(import.meta.resolve(s)), keys });
      }
      console.log(JSON.stringify(out));`,
      );
      const loaded = [...JSON.parse((await node([cjs])).stdout), ...JSON.parse((await node([mjs])).stdout)] as {
        specifier: string;
        file: string;
        keys: number;
      }[];
      const expected = [...required, ...imported].map((t) => ({
        specifier: specifier(t.subpath),
        file: path.join(installed, t.file),
      }));
      assert.deepEqual(
        loaded.map(({ specifier, file }) => ({ specifier, file })),
        expected,
      );
      for (const l of loaded.filter((l) => !l.specifier.endsWith("package.json")))
        assert.ok(l.keys > 0, `${l.specifier} exports nothing`);
    },
  );

  it("resolves the types entries for import (.mts) and require (.cts) under NodeNext, and they compile", async () => {
    const targets = exportTargets(pkg()).filter((t) => t.conditions.at(-1) === "types");
    const subpaths = [...new Set(targets.map((t) => t.subpath))];
    const body = subpaths
      .map((s, i) => `import * as entry${i} from "${specifier(s)}";\nexport type Entry${i} = typeof entry${i};`)
      .join("\n");
    writeFileSync(path.join(project, "entries.mts"), body);
    writeFileSync(path.join(project, "entries.cts"), body);
    writeFileSync(
      path.join(project, "tsconfig.entries.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["entries.mts", "entries.cts"],
      }),
    );
    const result = await node([tsc, "-p", "tsconfig.entries.json", "--listFiles"]).catch(
      (err: { stdout: string; stderr: string }) => ({ ...err, failed: true }),
    );
    assert.ok(!("failed" in result), `tsc failed: ${result.stdout}${result.stderr}`);
    const listed = new Set(result.stdout.split("\n").map((l) => path.resolve(l.trim())));
    const missing = targets
      .filter((t) => !listed.has(path.join(installed, t.file)))
      .map((t) => `${t.subpath} [${t.conditions.join(" > ")}] ${t.file}`);
    assert.deepEqual(missing, [], "types entries TypeScript did not pick up");
  });

  it("ships every bin, executable as a node script, and each runs --version", async () => {
    const bins = pkg().bin as Record<string, string>;
    assert.ok(Object.keys(bins).length > 0);
    for (const [name, file] of Object.entries(bins)) {
      assert.ok(packedFiles.includes(path.posix.normalize(file)), `bin ${name}: ${file} is not in the tarball`);
      assert.match(
        readFileSync(path.join(installed, file), "utf8"),
        /^#!\/usr\/bin\/env node\n/,
        `bin ${name}: no node shebang`,
      );
      const { stdout } = await node([path.join(installed, file), "--version"]);
      assert.equal(stdout.trim(), pkg().version, `bin ${name} --version`);
    }
  });
});

describe("npm pack on a clean tree (no dist/)", () => {
  it(
    "runs prepare, which builds, and ships the same files as the tarball of the built tree",
    { timeout: 120_000 },
    async () => {
      // A copy of what the build reads, without dist/; node_modules is this repository's (no network).
      const clean = path.join(tmp, "clean-tree");
      mkdirSync(clean);
      for (const entry of readdirSync(root)) {
        if (
          /^(package\.json|README\.md|CHANGELOG\.md|LICENSE.*|tsconfig.*\.json)$/.test(entry) ||
          entry === "lib" ||
          entry === "scripts"
        ) {
          cpSync(path.join(root, entry), path.join(clean, entry), { recursive: true });
        }
      }
      cpSync(path.join(root, "docs"), path.join(clean, "docs"), { recursive: true });
      symlinkSync(path.join(root, "node_modules"), path.join(clean, "node_modules"), "dir");
      assert.ok(!existsSync(path.join(clean, "dist")));
      const out = path.join(tmp, "clean-pack");
      mkdirSync(out);
      // Without the npm_* variables of an enclosing `npm test`: npm_config_local_prefix names this repository.
      const env = Object.fromEntries(
        Object.entries(childEnv).filter(
          ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
        ),
      );
      const { stdout } = await run("npm", ["pack", "--json", "--offline", "--pack-destination", out], {
        cwd: clean,
        env,
        timeout: 110_000,
      });
      assert.ok(existsSync(path.join(clean, "dist/esm/index.js")), "prepare built the clean tree");
      // Lifecycle output may precede the JSON on stdout.
      const [packed] = JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1 || stdout.indexOf("["))) as {
        files: { path: string }[];
      }[];
      const files = packed.files.map((f) => f.path).sort();
      for (const f of [
        "dist/esm/index.js",
        "dist/esm/index.d.ts",
        "dist/cjs/index.js",
        "dist/cjs/index.d.ts",
        "dist/esm/core/index.d.ts",
        "dist/cjs/core/index.d.ts",
        "dist/esm/cli/main.js",
      ]) {
        assert.ok(files.includes(f), `${f} is not in the tarball npm pack built`);
      }
      assert.deepEqual(files, [...packedFiles].sort());
    },
  );
});

describe("the bin (supertokens-migrate dev-core)", () => {
  it("serves /hello and exits 0 on SIGTERM", async () => {
    const pkg = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8"));
    const bin = path.join(installed, pkg.bin["supertokens-migrate"]);
    assert.match(readFileSync(bin, "utf8"), /^#!\/usr\/bin\/env node\n/);

    const child = spawn(process.execPath, [bin, "dev-core", "--port", "0"], {
      cwd: project,
      env: childEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "listening on" line within 10 s; stdout: ${stdout}; stderr: ${stderr}`)),
          10_000,
        );
        child.stdout.on("data", () => {
          const m = /SuperTokens dev core listening on (http:\/\/\S+)/.exec(stdout);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
        void exited.then(({ code }) => {
          clearTimeout(timer);
          reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`));
        });
      });
      const res = await fetch(`${url}/hello`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), "Hello");

      child.kill("SIGTERM");
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("still running 5 s after SIGTERM")), 5_000).unref(),
      );
      assert.deepEqual(await Promise.race([exited, timeout]), { code: 0, signal: null }, `stderr: ${stderr}`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
});
