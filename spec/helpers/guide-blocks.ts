// The guide's code blocks as files, so that CI runs what the docs show (issue 14: "the guide cannot rot").
//
// A fenced block belongs to a file when its info string names one: ```js file=guide-app/server.mjs```. GitHub and
// other renderers read only the first word as the language, so the attribute stays invisible to readers. Blocks
// naming the same file are joined in the order they appear (pages in the order given, blocks top to bottom): a
// file can be shown whole, or in marked parts with prose between them. A block with `norun` in its info string is
// an excerpt on purpose (a diff, an output, a shell session); every other block of a code language must name a
// file, and `unplacedBlocks()` lists the ones that do not, so a test can fail on them.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface GuideBlock {
  /** The Markdown page, as given. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** `file=` of the info string, or undefined. */
  file?: string;
  norun: boolean;
  content: string;
}

/** Languages whose blocks are code a reader copies into their app; they must name a file or say `norun`. */
export const CODE_LANGS = new Set(["js", "mjs", "cjs", "ts", "tsx", "jsx", "javascript", "typescript", "html", "sql"]);

/** Every fenced block of `markdown` (``` or ~~~ fences, any length of three or more). */
export function parseBlocks(doc: string, markdown: string): GuideBlock[] {
  const blocks: GuideBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const words = info.trim().split(/\s+/).filter(Boolean);
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    }
    const file = words.find((w) => w.startsWith("file="))?.slice("file=".length);
    blocks.push({
      doc,
      line: i + 1,
      lang: words[0] && !words[0].includes("=") ? words[0] : "",
      file,
      norun: words.includes("norun"),
      content: body.join("\n") + "\n",
    });
    i = j;
  }
  return blocks;
}

/** The blocks of the given pages, read from disk (paths relative to `root`). */
export async function readGuideBlocks(root: string, docs: string[]): Promise<GuideBlock[]> {
  const all: GuideBlock[] = [];
  for (const doc of docs) all.push(...parseBlocks(doc, await readFile(path.join(root, doc), "utf8")));
  return all;
}

/** Code blocks that neither name a file nor say `norun`, as "doc:line" for a failure message. */
export function unplacedBlocks(blocks: GuideBlock[]): string[] {
  return blocks.filter((b) => CODE_LANGS.has(b.lang) && !b.file && !b.norun).map((b) => `${b.doc}:${b.line}`);
}

/** File name → its content, the blocks of each file joined in order. */
export function guideFiles(blocks: GuideBlock[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const b of blocks) {
    if (!b.file) continue;
    if (path.isAbsolute(b.file) || b.file.split("/").includes("..")) {
      throw new Error(`${b.doc}:${b.line}: file=${b.file} must be a relative path inside the scratch directory`);
    }
    files.set(b.file, (files.get(b.file) ?? "") + b.content);
  }
  return files;
}

/** Writes the files whose names start with `prefix` (e.g. "guide-app/") under `dir`, without the prefix. */
export async function writeGuideFiles(files: Map<string, string>, dir: string, prefix = ""): Promise<string[]> {
  const written: string[] = [];
  for (const [name, content] of files) {
    if (!name.startsWith(prefix)) continue;
    const target = path.join(dir, name.slice(prefix.length));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, content);
    written.push(target);
  }
  return written;
}
