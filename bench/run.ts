// `npm run bench [-- <module>...]`: run bench modules one after another (never in parallel: they would
// compete for the same cores) and print one table.
import os from "node:os";
import type { Bench, BenchRow } from "./types.js";

/** Add a module here: its file exports `bench` (see types.ts). Order is the default run order. */
const modules: Record<string, () => Promise<{ bench: Bench }>> = {
  core: () => import("./core.js"),
  "dual-session": () => import("./dual-session.js"),
  "first-hit": () => import("./first-hit.js"),
  "deploy-day": () => import("./deploy-day.js"),
  coordinators: () => import("./coordinators.js"),
  "sign-out": () => import("./sign-out.js"),
  "legacy-auth": () => import("./legacy-auth.js"),
  export: () => import("./export.js"),
  import: () => import("./import.js"),
  million: () => import("./million.js"),
  "import-storage": () => import("./import-storage.js"),
  "status-export": () => import("./status-export.js"),
};

function pad(s: string, width: number, right = false) {
  return right ? s.padStart(width) : s.padEnd(width);
}

function formatValue(row: BenchRow) {
  if (row.unit === "×") return `${row.value.toFixed(2)}×`;
  return `${Math.round(row.value).toLocaleString("en-US")} ${row.unit}`;
}

// autocannon records latency in whole milliseconds; show fractions only when a module measured them.
const ms = (n: number | undefined) => (n === undefined ? "" : `${Number.isInteger(n) ? n : n.toFixed(2)} ms`);

function formatTable(rows: BenchRow[]): string {
  const cells = rows.map((r) => [r.name, formatValue(r), ms(r.p50Ms), ms(r.p99Ms), r.note ?? ""]);
  const head = ["benchmark", "rate", "p50", "p99", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => pad(v, widths[i], i === 1 || i === 2 || i === 3))
      .join("  ")
      .trimEnd();
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}

async function main() {
  const requested = process.argv.slice(2);
  const names = requested.length ? requested : Object.keys(modules);
  const unknown = names.filter((n) => !(n in modules));
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown module ${unknown.join(", ")}; available: ${Object.keys(modules).join(", ")}\n`,
    );
    process.exit(2);
  }
  const cpus = os.cpus();
  process.stdout.write(
    `${new Date().toISOString()}  node ${process.version}  ${cpus.length} × ` +
      `${cpus[0]?.model.trim() ?? "unknown CPU"}  ` +
      `load average ${os.loadavg()[0].toFixed(2)}  BENCH_DURATION=${process.env.BENCH_DURATION ?? "(defaults)"}\n`,
  );
  const rows: BenchRow[] = [];
  for (const name of names) {
    process.stdout.write(`running ${name} …\n`);
    const { bench } = await modules[name]();
    rows.push(...(await bench()));
  }
  process.stdout.write(`\n${formatTable(rows)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
