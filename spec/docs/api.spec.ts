// docs/api.md is the reference of every export and option: a name exported from the package's entry points, or an
// option key a factory accepts, that its page does not name fails, so neither can ship undocumented.
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

/** The keys of `const <name> = { key: true, … }` in `source` (spreads left out). */
export function optionKeys(source: string, name: string): string[] {
  const start = source.indexOf(`const ${name} = {`);
  if (start === -1) return [];
  const body = source.slice(source.indexOf("{", start) + 1, source.indexOf("}", start));
  return [...body.matchAll(/(\w+):\s*true/g)].map((m) => m[1]);
}

/** Each factory's accepted keys (the objects its resolve function checks unknown keys against) and their page. */
const optionSets = [
  { file: "lib/session/options.ts", name: "DUAL_SESSION_KEYS", page: "docs/api.md" },
  { file: "lib/session/options.ts", name: "MIGRATION_ENDPOINT_KEYS", page: "docs/api.md" },
  { file: "lib/session/coordinator.ts", name: "COORDINATOR_KEYS", page: "docs/api.md" },
  { file: "lib/session/coordinator.ts", name: "REDIS_COORDINATOR_KEYS", page: "docs/api.md" },
  { file: "lib/session/coordinators/postgres.ts", name: "POSTGRES_COORDINATOR_KEYS", page: "docs/api.md" },
  { file: "lib/auth/options.ts", name: "LEGACY_AUTH_KEYS", page: "docs/api.md" },
  { file: "lib/auth/pg.ts", name: "PG_LEGACY_USERS_KEYS", page: "docs/api.md" },
  { file: "lib/leave/options.ts", name: "LEAVE_KEYS", page: "docs/api.md" },
  { file: "lib/export/options.ts", name: "EXPORT_KEYS", page: "docs/api.md" },
  { file: "lib/status/options.ts", name: "KEYS", page: "docs/api.md" },
  { file: "lib/status/options.ts", name: "REDIS_SESSIONS_KEYS", page: "docs/api.md" },
  { file: "lib/status/options.ts", name: "PG_SESSIONS_KEYS", page: "docs/api.md" },
  { file: "lib/status/options.ts", name: "USERS_KEYS", page: "docs/api.md" },
  { file: "lib/status/options.ts", name: "CORE_KEYS", page: "docs/api.md" },
  { file: "lib/status/resets.ts", name: "KEYS", page: "docs/api.md" },
  { file: "lib/core/options.ts", name: "DEV_CORE_KEYS", page: "docs/dev-core.md" },
  { file: "lib/core/storage/postgres.ts", name: "POSTGRES_STORAGE_KEYS", page: "docs/dev-core.md" },
];

describe("the option reference", () => {
  for (const { file, name, page } of optionSets) {
    it(`${page} names every key of ${name} (${file})`, () => {
      const keys = optionKeys(readFileSync(path.join(root, file), "utf8"), name);
      assert.ok(keys.length > 0, `found no ${name} in ${file}`);
      const text = readFileSync(path.join(root, page), "utf8");
      assert.deepEqual(
        keys.filter((k) => !documents(text, k)),
        [],
      );
    });
  }
});

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
    assert.deepEqual(optionKeys("const K = {\n  ...OTHER,\n  a: true,\n  bB: true,\n} as const;", "K"), ["a", "bB"]);
  });
});
