// `node --import tsx bench/profile-summary.ts <file.cpuprofile> [top]`: self and inclusive time per function
// of a V8 CPU profile (as written by BENCH_PROFILE=1), so a slow path can be read without DevTools.
import { readFileSync } from "node:fs";
import path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const skipAt = args.indexOf("--skip");
// --skip <ms>: leave out start-up and warm-up (module loading, key generation) when profiling a load run.
const skipMs = skipAt >= 0 ? Number(args.splice(skipAt, 2)[1]) : 0;
const [file, topArg] = args;
if (!file || !Number.isFinite(skipMs)) {
  process.stderr.write("usage: profile-summary [--skip <ms>] <file.cpuprofile> [top]\n");
  process.exit(2);
}
const top = Number(topArg ?? 30);
process.stdout.on("error", () => process.exit(0)); // piped into head
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const where = url ? `${path.basename(url.replace(/^file:\/\//, ""))}:${lineNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${where}`.trim();
};

const file_ = (n: ProfileNode) =>
  n.callFrame.url ? path.basename(n.callFrame.url.replace(/^file:\/\//, "")) : "(native or VM)";

const self = new Map<string, number>();
const byFile = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let elapsed = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  elapsed += dt;
  if (elapsed < skipMs * 1000) return;
  total += dt;
  const node = byId.get(id)!;
  self.set(label(node), (self.get(label(node)) ?? 0) + dt);
  byFile.set(file_(node), (byFile.get(file_(node)) ?? 0) + dt);
  const seen = new Set<string>(); // recursion must not count a sample twice
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (!seen.has(l)) inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
    seen.add(l);
  }
});

const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title} (of ${(total / 1000).toFixed(0)} ms sampled)\n`);
  for (const [l, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    process.stdout.write(
      `${((100 * t) / total).toFixed(1).padStart(5)}%  ${(t / 1000).toFixed(0).padStart(6)} ms  ${l}\n`,
    );
  }
};
print("self time", self);
print("self time by file", byFile);
print("inclusive time", inclusive);
