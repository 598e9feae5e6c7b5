/**
 * The documented entry point for implementers, `supertokens-migrate/coordinator-contract`, as an app loads it:
 * by package name (a package may import itself through its own "exports"), from the build, under plain node
 * with node:test, from an ES module and from CommonJS. It passes the package's memory coordinator and fails a
 * coordinator without mutual exclusion, with node's exit code. Needs `npm run build` first, as the package specs.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// Children resolve the package by name; nothing of the test runner's loader (tsx) may leak into them, nor its
// NODE_TEST_CONTEXT, which would make the child's node:test report in the runner's binary protocol.
const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: "", NODE_PATH: "" };
delete env.NODE_TEST_CONTEXT;

function runNode(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, out: stdout + stderr });
    });
  });
}

const summary = (out: string, what: string) => Number(new RegExp(`^# ${what} (\\d+)$`, "m").exec(out)?.[1] ?? NaN);

/** A coordinator whose every claim wins: each claim goes to a coordinator of its own. */
const BROKEN = `(o) => { const c = createMemoryMigrationCoordinator(o);
  return { ...c, claim: (sid) => createMemoryMigrationCoordinator(o).claim(sid) }; }`;

describe("supertokens-migrate/coordinator-contract from the build", () => {
  for (const [system, load] of [
    [
      "an ES module",
      (create: string) => [
        "--input-type=module",
        "-e",
        `import { describe, it } from "node:test";
         import { coordinatorContract } from "supertokens-migrate/coordinator-contract";
         import { createMemoryMigrationCoordinator } from "supertokens-migrate";
         coordinatorContract({ describe, it }, { name: "memory", create: ${create}, shared: false });`,
      ],
    ],
    [
      "CommonJS",
      (create: string) => [
        "-e",
        `const { describe, it } = require("node:test");
         const { coordinatorContract } = require("supertokens-migrate/coordinator-contract");
         const { createMemoryMigrationCoordinator } = require("supertokens-migrate");
         coordinatorContract({ describe, it }, { name: "memory", create: ${create}, shared: false });`,
      ],
    ],
  ] as const) {
    it(`runs under node:test from ${system}: passes the memory coordinator, fails a broken one`, async () => {
      assert.ok(
        existsSync(path.join(root, "dist/esm/session/coordinators/contract.js")),
        "run `npm run build` first (npm test does it as pretest)",
      );
      const good = await runNode(load("(o) => createMemoryMigrationCoordinator(o)"));
      assert.equal(good.code, 0, good.out);
      assert.ok(summary(good.out, "pass") >= 15, good.out);
      assert.equal(summary(good.out, "fail"), 0);

      const bad = await runNode(load(BROKEN));
      assert.equal(bad.code, 1, bad.out);
      assert.ok(summary(bad.out, "fail") >= 5, bad.out);
      assert.match(bad.out, /not ok \d+ - lets exactly one of 20 concurrent claims win; the rest are BUSY/);
    });
  }
});
