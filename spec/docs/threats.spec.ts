// docs/threats.md defines the short ids comments cite (T16, I2, M13, "issue 5", threats.md#t7): every id a comment in
// lib/, spec/, bench/ or demo-app/ names has a section there, and every spec file and test title the page names
// under "Covered by" still exists, so neither side can drift without this failing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DOC = "docs/threats.md";
const SCANNED_ROOTS = ["lib", "spec", "bench", "demo-app"];
/** Build output, dependencies and test output: not source anyone reads for these ids. */
const SKIPPED_DIRS = new Set(["node_modules", "dist", "spec/artifacts"]);
const SCRIPT_KINDS: Record<string, ts.ScriptKind> = {
  ".ts": ts.ScriptKind.TS,
  ".mts": ts.ScriptKind.TS,
  ".cts": ts.ScriptKind.TS,
  ".tsx": ts.ScriptKind.TSX,
  ".js": ts.ScriptKind.JS,
  ".mjs": ts.ScriptKind.JS,
  ".cjs": ts.ScriptKind.JS,
  ".jsx": ts.ScriptKind.JSX,
};

/**
 * An id as comments write it: a capital T, M or I and a number, as a word of its own (`T16`, `(I2, T11, M13)`,
 * `T17/T23`), optionally with a lower-case case letter (`T7b` is case (b) of T7). `ES2022`, `I2C`, `0T1` or a
 * timestamp's `01T10:00` are not ids: the word boundaries rule them out.
 */
const ID = /\b([TMI])([1-9][0-9]?)[a-d]?\b/g;
/** "issue 5", "Issue 4's benchmarks", "issue #6". */
const ISSUE = /\bissue #?([0-9]+)\b/gi;
/** A link into the page, wherever it appears (comments or not): `docs/threats.md#t16`. */
const LINK = /threats\.md#([A-Za-z0-9_-]+)/g;

interface Comment {
  file: string;
  line: number;
  text: string;
}

interface Citation {
  anchor: string;
  label: string;
  where: string;
}

/** Every comment in a source file, found by the TypeScript parser: strings, templates and regexes are not comments. */
export function commentsOf(file: string, text: string): Comment[] {
  const kind = SCRIPT_KINDS[path.extname(file)] ?? ts.ScriptKind.TS;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
  const seen = new Set<number>();
  const comments: Comment[] = [];
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      if (seen.has(range.pos)) continue;
      seen.add(range.pos);
      comments.push({
        file,
        line: source.getLineAndCharacterOfPosition(range.pos).line + 1,
        text: text.slice(range.pos, range.end),
      });
    }
  };
  const visit = (node: ts.Node) => {
    // JSDoc nodes sit inside comments, and JSX text is text: scanning either for trivia would invent comments.
    if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return;
    if (node.kind === ts.SyntaxKind.JsxText) return;
    collect(ts.getLeadingCommentRanges(text, node.getFullStart()));
    for (const child of node.getChildren(source)) visit(child);
    collect(ts.getTrailingCommentRanges(text, node.getEnd()));
  };
  visit(source);
  return comments;
}

/** What the comments of one file cite: ids and issue numbers (in comments only) and links to the page (anywhere). */
export function citationsOf(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  for (const comment of commentsOf(file, text)) {
    const where = `${file}:${comment.line}`;
    for (const m of comment.text.matchAll(ID))
      found.push({ anchor: `${m[1]}${m[2]}`.toLowerCase(), label: m[0], where });
    for (const m of comment.text.matchAll(ISSUE)) found.push({ anchor: `issue-${m[1]}`, label: m[0], where });
  }
  text.split("\n").forEach((lineText, i) => {
    for (const m of lineText.matchAll(LINK))
      found.push({ anchor: m[1].toLowerCase(), label: m[0], where: `${file}:${i + 1}` });
  });
  return found;
}

/** Anchors the page defines: `<a id="t16"></a>`, the form every section uses so links survive heading edits. */
export function anchorsOf(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]));
}

/** Citations whose anchor the page lacks, as "<id> (<file>:<line>)" lines. */
export function unresolved(citations: Citation[], anchors: Set<string>): string[] {
  return citations.filter((c) => !anchors.has(c.anchor)).map((c) => `${c.label} (${c.where})`);
}

/**
 * "Covered by" bullets: `- \`spec/….spec.ts\`: \`title\`, \`title\``; `…` in a title stands for a table's
 * varying part.
 */
export function coverageOf(markdown: string): { file: string; titles: string[]; line: number }[] {
  const bullets: { file: string; titles: string[]; line: number }[] = [];
  markdown.split("\n").forEach((text, i) => {
    const m = /^\s*[-*]\s+`(spec\/[^`]+)`(.*)$/.exec(text);
    if (!m) return;
    bullets.push({ file: m[1], titles: [...m[2].matchAll(/`([^`]+)`/g)].map((t) => t[1]), line: i + 1 });
  });
  return bullets;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(root, relative), { withFileTypes: true })) {
      const child = path.posix.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !SKIPPED_DIRS.has(child)) walk(child);
      } else if (entry.isFile() && path.extname(entry.name) in SCRIPT_KINDS) {
        files.push(child);
      }
    }
  };
  if (existsSync(path.join(root, dir))) walk(dir);
  return files;
}

const doc = readFileSync(path.join(root, DOC), "utf8");
const anchors = anchorsOf(doc);
const repoCitations = () =>
  SCANNED_ROOTS.flatMap(sourceFiles).flatMap((file) => citationsOf(file, readFileSync(path.join(root, file), "utf8")));

describe("docs/threats.md", () => {
  it("has a section for every threat, invariant and scenario id a comment cites, and every issue number", () => {
    const missing = unresolved(repoCitations(), anchors);
    assert.deepEqual(missing, [], `add a section with <a id="…"></a> to ${DOC} for:\n  ${missing.join("\n  ")}`);
  });

  it("defines every invariant (I1–I6) and threat (T1–T24)", () => {
    const expected = [
      ...Array.from({ length: 6 }, (_, i) => `i${i + 1}`),
      ...Array.from({ length: 24 }, (_, i) => `t${i + 1}`),
    ];
    assert.deepEqual(
      expected.filter((id) => !anchors.has(id)),
      [],
    );
  });

  it('gives every id section a heading and a "Covered by" list or a plain "Not yet covered"', () => {
    const sections = doc.split(/(?=<a id="[tmi][0-9]+"><\/a>)/).slice(1);
    assert.ok(sections.length >= 30, `only ${sections.length} id sections found`);
    for (const section of sections) {
      const id = /<a id="([^"]+)"><\/a>/.exec(section)![1];
      assert.match(
        section,
        new RegExp(`^<a id="${id}"></a>\\n#{2,3} ${id.toUpperCase()}: `),
        `${id}: the anchor must sit right above a "### ${id.toUpperCase()}: …" heading`,
      );
      assert.ok(
        /\*\*Covered by:\*\*/.test(section) || /Not yet covered by a test/.test(section),
        `${id}: neither "Covered by" nor "Not yet covered by a test"`,
      );
    }
  });

  it('names under "Covered by" only spec files that exist, and test titles those files contain', () => {
    const bullets = coverageOf(doc);
    assert.ok(bullets.length >= 30, `only ${bullets.length} "Covered by" bullets found`);
    const problems: string[] = [];
    for (const { file, titles, line } of bullets) {
      const full = path.join(root, file);
      if (!existsSync(full)) {
        problems.push(`${DOC}:${line}: ${file} does not exist`);
        continue;
      }
      // A title too long for one line is split with + ("first part " +\n "second part"): read it joined.
      const text = readFileSync(full, "utf8").replace(/(["'`])\s*\+\s*\1/g, "");
      for (const title of titles) {
        const fragments = title
          .split("…")
          .map((f) => f.trim())
          .filter((f) => f !== "");
        for (const fragment of fragments) {
          if (!text.includes(fragment))
            problems.push(
              `${DOC}:${line}: ${file} has no test titled ${JSON.stringify(title)} (missing ` +
                `${JSON.stringify(fragment)})`,
            );
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("names only repository paths that exist", () => {
    const paths = new Set(
      [
        ...doc.matchAll(/\b(?:lib|spec|bench|demo-app|docs)\/[A-Za-z0-9_./-]*[A-Za-z0-9_]\.(?:ts|mts|mjs|js|md)\b/g),
      ].map((m) => m[0]),
    );
    assert.ok(paths.size > 0);
    assert.deepEqual(
      [...paths].filter((p) => !existsSync(path.join(root, p))),
      [],
    );
  });
});

describe("the comment scan behind it", () => {
  const sample = [
    "// Serialise per email (T16: one lock), see docs/threats.md#t7.",
    "/**",
    " * A second copy is cookie tossing (T7b); hashes and keys (T17/T23), faults (I2, T11, M13), issue 5.",
    " */",
    "const T1 = 'T2 in a string // T3 after slashes';",
    "const url = `http://example.com/T4 ${T1 /* T5 in a comment inside a template */} // T6`;",
    "const re = /\\/\\/ T8/;",
    "const stamp = '2025-01-01T10:00:00Z'; // ES2022, I2C and SHA-256 are no ids",
    "export const x = <const>[T1, url, re, stamp]; // trailing T9",
  ].join("\n");

  it("finds ids in line, block and trailing comments, and nothing in code, strings, templates or regexes", () => {
    const labels = citationsOf("sample.ts", sample).map((c) => c.anchor);
    assert.deepEqual(
      labels.sort(),
      ["i2", "issue-5", "m13", "t11", "t16", "t17", "t23", "t5", "t7", "t7", "t9"].sort(),
    );
  });

  it("fails for an id the page has no section for", () => {
    const citations = citationsOf("lib/scratch.ts", "export const n = 1; // a new concern (T99), see threats.md#t16\n");
    assert.deepEqual(unresolved(citations, anchors), ["T99 (lib/scratch.ts:1)"]);
    assert.deepEqual(unresolved(citations, new Set(["t99"])), ["threats.md#t16 (lib/scratch.ts:1)"]);
  });

  it("reads .mjs and .tsx the same way", () => {
    assert.deepEqual(
      citationsOf("a.mjs", "const a = 1; /* T3 */\n").map((c) => c.anchor),
      ["t3"],
    );
    assert.deepEqual(
      citationsOf("a.tsx", "const a = <p>T4 is text {/* T5 */}</p>; // T6\n").map((c) => c.anchor),
      ["t5", "t6"],
    );
  });
});
