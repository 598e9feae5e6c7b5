// docs/errors.md explains every error code: each ERR_MIGRATE_* code of lib/errors.ts has a section anchored by
// the code in lower case, each section names a real code, and every error's message ends with the link to its
// section, added in one place (MigrateError's constructor).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  CONFIG_ERROR_CODES,
  ConfigError,
  ERRORS_DOC,
  MigrateError,
  UnavailableError,
  errorDocLink,
  isMigrateError,
  type MigrateErrorCode,
} from "../../lib/errors.js";
import { createRedisMigrationCoordinator } from "../../lib/session/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
// ERRORS_DOC is the path inside the installed package; here the package is the repository root.
const doc = readFileSync(path.join(root, ERRORS_DOC.replace(/^supertokens-migrate\//, "")), "utf8");
const errorsSource = readFileSync(path.join(root, "lib/errors.ts"), "utf8");
const CODE = /\bERR_MIGRATE_[A-Z0-9_]+\b/g;

/** The codes lib/errors.ts defines: its code lists and union type. */
const codes = [...new Set(errorsSource.match(CODE) ?? [])].sort();
/** `<a id="..."></a>` anchors, in order, and the `### ` heading under each. */
const sections = [...doc.matchAll(/<a id="([^"]+)"><\/a>\n### (\S+)/g)].map((m) => ({ anchor: m[1], heading: m[2] }));

function libFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? libFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("docs/errors.md", () => {
  it("lib/errors.ts defines codes, and no longer the catch-all ERR_MIGRATE_CONFIG", () => {
    assert.ok(codes.length >= 10, `codes found: ${codes.join(", ")}`);
    assert.ok(!codes.includes("ERR_MIGRATE_CONFIG"));
  });

  it("has a section, anchored by the code in lower case, for every code in lib/errors.ts", () => {
    const anchors = new Set(sections.map((s) => s.anchor));
    const missing = codes.filter((code) => !anchors.has(code.toLowerCase()));
    assert.deepEqual(missing, [], `add a section to ${ERRORS_DOC} for each`);
  });

  it("names a real code in every section, once, with the anchor matching its heading", () => {
    const seen = new Set<string>();
    for (const { anchor, heading } of sections) {
      assert.ok(codes.includes(heading), `${heading} is not a code in lib/errors.ts`);
      assert.equal(anchor, heading.toLowerCase());
      assert.ok(!seen.has(anchor), `${heading} has two sections`);
      seen.add(anchor);
    }
    // No stray anchors or headings outside the pattern.
    assert.equal([...doc.matchAll(/<a id="/g)].length, sections.length);
    assert.equal([...doc.matchAll(/^### /gm)].length, sections.length);
  });

  it("says what happened and how to fix it in every section", () => {
    const parts = doc.split(/<a id="[^"]+"><\/a>\n/).slice(1);
    assert.equal(parts.length, sections.length);
    for (const part of parts) {
      const heading = part.split("\n")[0];
      assert.match(part, /\*\*What happened\.\*\*/, `${heading}: what happened`);
      assert.match(part, /\*\*How to fix it\.\*\*/, `${heading}: how to fix it`);
    }
  });

  it("knows every code lib/ throws or tests for (no code outside lib/errors.ts)", () => {
    const used = new Set(libFiles(path.join(root, "lib")).flatMap((f) => readFileSync(f, "utf8").match(CODE) ?? []));
    const unknown = [...used].filter((c) => !codes.includes(c));
    assert.deepEqual(unknown, []);
  });

  it("resolves every link to a section that lib/ or docs/ writes", () => {
    const texts = [...libFiles(path.join(root, "lib")).map((f) => readFileSync(f, "utf8")), doc];
    const anchors = new Set(sections.map((s) => s.anchor));
    for (const text of texts) {
      for (const m of text.matchAll(/errors\.md#([a-z0-9_]+)/g))
        assert.ok(anchors.has(m[1]), `errors.md#${m[1]} has no section`);
    }
  });
});

describe("error messages end with the link to their section", () => {
  it("for every class and code", () => {
    const all = codes as MigrateErrorCode[];
    for (const code of all) {
      const err = new MigrateError(code, "something happened");
      assert.equal(err.message, `something happened. See ${ERRORS_DOC}#${code.toLowerCase()}`);
      assert.equal(errorDocLink(code), `${ERRORS_DOC}#${code.toLowerCase()}`);
    }
    for (const code of CONFIG_ERROR_CODES) {
      const err = new ConfigError(code, "wrong.");
      assert.equal(err.message, `wrong. See ${ERRORS_DOC}#${code.toLowerCase()}`);
      assert.equal(err.code, code);
      assert.ok(err instanceof ConfigError && err instanceof MigrateError && isMigrateError(err));
      assert.equal(err.status, 500);
    }
    const down = new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "SuperTokens core is unavailable");
    assert.equal(down.message, `SuperTokens core is unavailable. See ${ERRORS_DOC}#err_migrate_core_unavailable`);
  });

  it("a ConfigError built without a code (the old form) gets ERR_MIGRATE_INVALID_OPTION", () => {
    const err = new ConfigError("dualSession: wrong.");
    assert.equal(err.code, "ERR_MIGRATE_INVALID_OPTION");
    assert.equal(err.message, `dualSession: wrong. See ${ERRORS_DOC}#err_migrate_invalid_option`);
  });

  it("for a real misconfiguration", () => {
    assert.throws(
      () => createRedisMigrationCoordinator({} as never, { prefix: "p:" }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.code, "ERR_MIGRATE_INVALID_CLIENT");
        assert.ok(err.message.endsWith(`See ${ERRORS_DOC}#err_migrate_invalid_client`), err.message);
        return true;
      },
    );
  });
});
