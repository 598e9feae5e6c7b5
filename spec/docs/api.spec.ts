// docs/api.md is the reference of every export: a name exported from the package's entry points and missing there
// fails, so an export cannot ship undocumented.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Names in the `export { … }` and `export type { … }` lists of an entry point (`type` and `as` handled). */
export function exportedNames(source: string): string[] {
  const names: string[] = [];
  for (const list of source.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const item of list[1].split(",")) {
      const words = item
        .replace(/\/\/.*$/gm, "")
        .trim()
        .split(/\s+/)
        .filter((w) => w !== "type");
      if (words.length === 0 || words[0] === "") continue;
      names.push(words.includes("as") ? words[words.indexOf("as") + 1] : words[0]);
    }
  }
  return names;
}

/** Does the page name `name` in code (`name`, `name(…)`, `name.x`)? */
function documents(page: string, name: string): boolean {
  return new RegExp("`" + name.replace(/\$/g, "\\$") + "(?![A-Za-z0-9_$])").test(page);
}

describe("docs/api.md", () => {
  const api = readFileSync(path.join(root, "docs/api.md"), "utf8");

  for (const [entry, file] of [
    ["supertokens-migrate", "lib/index.ts"],
    ["supertokens-migrate/dev-core", "lib/core/index.ts"],
  ] as const) {
    it(`names every export of ${entry}`, () => {
      const names = exportedNames(readFileSync(path.join(root, file), "utf8"));
      assert.ok(names.length > 3, `found no exports in ${file}`);
      assert.deepEqual(
        names.filter((n) => !documents(api, n)),
        [],
      );
    });
  }

  it("reads export lists, renames and type-only names included", () => {
    const names = exportedNames(
      'export type { A } from "./a.js";\nexport {\n  b,\n  type C,\n  d as E, // why\n} from "./b.js";\n',
    );
    assert.deepEqual(names, ["A", "b", "C", "E"]);
    assert.equal(documents("use `b(x)` here", "b"), true);
    assert.equal(documents("use `bee` here", "b"), false);
  });
});
