// Dual build: tsc emits ESM (NodeNext) and CommonJS from the same sources. Each output folder gets a
// package.json naming its module type, so Node and TypeScript read dist/cjs as CommonJS even though the
// package itself is "type": "module".
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const tsc = require.resolve("typescript/bin/tsc");
rmSync("dist", { recursive: true, force: true });
for (const [config, type] of [
  ["tsconfig.build.json", "module"],
  ["tsconfig.cjs.json", "commonjs"],
]) {
  execFileSync(process.execPath, [tsc, "-p", config], { stdio: "inherit" });
  const dir = type === "module" ? "dist/esm" : "dist/cjs";
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/package.json`, JSON.stringify({ type }) + "\n");
}
chmodSync("dist/esm/cli/main.js", 0o755);
