import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);

describe("typing: express-session and SuperTokens in one TypeScript program", () => {
  it("compiles an app that mounts express-session, dualSession() and verifySession() together", () => {
    const project = fileURLToPath(new URL("../fixtures/typing/tsconfig.json", import.meta.url));
    let output = "";
    try {
      execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", project], { encoding: "utf8" });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    assert.equal(output, "", `tsc reported:\n${output}`);
  });
});
