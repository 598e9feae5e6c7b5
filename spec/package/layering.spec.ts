// The shape of lib/, checked on every build: each capability (a feature folder) stands on shared top-level modules
// and never on another feature, and shared modules never import a feature. The entry points (lib/index.ts and
// lib/cli/) are the only places that put features together.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const lib = path.join(root, "lib");

/** The capabilities. A new folder under lib/ must be listed here or in SHARED_DIRS, so it gets a role. */
const FEATURES = ["auth", "core", "export", "import", "leave", "session", "status"];
/** Folders that are shared modules, like the top-level files next to them. */
const SHARED_DIRS = ["hashes"];
/** Entry points: allowed to import any feature. */
const ENTRY_POINTS = ["cli", "index.ts"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

/** Every relative module a file names: static imports and re-exports, `import()` and `import x = require()`. */
export function relativeSpecifiers(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push(node.argument.literal.text);
    } else if (ts.isExternalModuleReference(node) && ts.isStringLiteral(node.expression)) {
      found.push(node.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found.filter((s) => s.startsWith("."));
}

/** The role of a path under lib/: a feature's name, "shared", or "entry". */
function roleOf(relToLib: string): string {
  const top = relToLib.split(path.sep)[0];
  if (ENTRY_POINTS.includes(top)) return "entry";
  if (FEATURES.includes(top)) return top;
  if (SHARED_DIRS.includes(top) || !relToLib.includes(path.sep)) return "shared";
  return `unknown folder lib/${top}`;
}

/** The imports of lib/ that break the layering, as "from -> to" lines. */
export function layeringViolations(files: { file: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const { file, text } of files) {
    const from = roleOf(path.relative(lib, file));
    if (from.startsWith("unknown")) {
      out.push(`${path.relative(root, file)}: ${from} (list it in FEATURES or SHARED_DIRS)`);
      continue;
    }
    if (from === "entry") continue;
    for (const spec of relativeSpecifiers(file, text)) {
      const target = path.resolve(path.dirname(file), spec);
      const rel = path.relative(lib, target);
      if (rel.startsWith("..")) {
        out.push(`${path.relative(root, file)} -> ${spec} (outside lib/)`);
        continue;
      }
      const to = roleOf(rel);
      if (to === "shared" || to === from) continue;
      out.push(`${path.relative(root, file)} (${from}) -> lib/${rel.replace(/\\/g, "/")} (${to})`);
    }
  }
  return out;
}

describe("layering of lib/", () => {
  it("no feature folder imports another feature, and shared modules import no feature", () => {
    const files = sourceFiles(lib).map((file) => ({ file, text: readFileSync(file, "utf8") }));
    assert.ok(files.length > 50, "lib/ sources found");
    const violations = layeringViolations(files);
    assert.deepEqual(
      violations,
      [],
      `move the shared code to a top-level module of lib/:\n  ${violations.join("\n  ")}`,
    );
  });

  it("catches every way one module can name another", () => {
    const file = path.join(lib, "export", "example.ts");
    const text = [
      'import { a } from "../session/a.js";',
      'export { b } from "../auth/b.js";',
      'import type { C } from "../core/c.js";',
      'const d = await import("../import/d.js");',
      'type E = import("../leave/e.js").E;',
      'import f = require("../session/f.js");',
      'import { ok } from "../hashes/index.js";',
      'import { alsoOk } from "./write.js";',
      'import { shared } from "../errors.js";',
      'import express from "express";',
    ].join("\n");
    assert.deepEqual(layeringViolations([{ file, text }]), [
      "lib/export/example.ts (export) -> lib/session/a.js (session)",
      "lib/export/example.ts (export) -> lib/auth/b.js (auth)",
      "lib/export/example.ts (export) -> lib/core/c.js (core)",
      "lib/export/example.ts (export) -> lib/import/d.js (import)",
      "lib/export/example.ts (export) -> lib/leave/e.js (leave)",
      "lib/export/example.ts (export) -> lib/session/f.js (session)",
    ]);
    const shared = path.join(lib, "errors.ts");
    assert.deepEqual(layeringViolations([{ file: shared, text: 'import { x } from "./session/x.js";' }]), [
      "lib/errors.ts (shared) -> lib/session/x.js (session)",
    ]);
    assert.deepEqual(
      layeringViolations([{ file: path.join(lib, "cli", "main.ts"), text: 'import "../session/index.js";' }]),
      [],
    );
    assert.deepEqual(layeringViolations([{ file: path.join(lib, "newthing", "a.ts"), text: "" }]), [
      "lib/newthing/a.ts: unknown folder lib/newthing (list it in FEATURES or SHARED_DIRS)",
    ]);
  });
});
