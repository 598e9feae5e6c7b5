// Every link between the project's Markdown pages resolves: the file exists, and an anchor names a heading (as
// GitHub turns headings into ids) or an explicit <a id="…">. External links are not fetched.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function markdownPages(): string[] {
  const pages = ["README.md", "CHANGELOG.md", "demo-app/README.md", "bench/README.md"];
  for (const name of readdirSync(path.join(root, "docs"))) if (name.endsWith(".md")) pages.push(`docs/${name}`);
  return pages.filter((p) => existsSync(path.join(root, p)));
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
export function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const base = heading[1]
        .toLowerCase()
        .replace(/<[^>]*>/g, "")
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      ids.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) ids.add(m[1]);
  }
  return ids;
}

/** Links outside code: `[text](target)`, with the target's title dropped. */
export function links(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    const text = line.replace(/`[^`]*`/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]);
  }
  return out;
}

describe("links between the Markdown pages", () => {
  it("every relative link names a file that exists, and every anchor a heading or id on that page", () => {
    const broken: string[] = [];
    for (const page of markdownPages()) {
      const text = readFileSync(path.join(root, page), "utf8");
      for (const target of links(text)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [file, anchor] = target.split("#") as [string, string | undefined];
        const resolved = file === "" ? page : path.posix.normalize(path.posix.join(path.posix.dirname(page), file));
        if (!existsSync(path.join(root, resolved))) {
          broken.push(`${page}: ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor && resolved.endsWith(".md")) {
          const ids = headingIds(readFileSync(path.join(root, resolved), "utf8"));
          if (!ids.has(anchor)) broken.push(`${page}: ${target} (no heading or id "${anchor}" in ${resolved})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it("turns headings into GitHub's ids and finds links outside code only", () => {
    const ids = headingIds('# Move everyone at once: `supertokens-migrate import`\n## A\n## A\n<a id="t7"></a>\n');
    assert.deepEqual([...ids].sort(), ["a", "a-1", "move-everyone-at-once-supertokens-migrate-import", "t7"]);
    const found = links('see [x](a.md#b) and `[y](not-me.md)`\n```\n[z](nor-me.md)\n```\n[w](#c "title")');
    assert.deepEqual(found, ["a.md#b", "#c"]);
  });
});
