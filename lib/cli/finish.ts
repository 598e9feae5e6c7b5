import { rename, writeFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { runImport, type ImportIo } from "../import/run.js";
import type { ImportReport } from "../import/report.js";

interface FinishCliOptions {
  from: string;
  query: string;
  map?: string;
  core: string;
  apiKey?: string;
  appId?: string;
  dryRun?: boolean;
  report?: string;
}

/** What the users finish could not move have left: a sign-in or a reset, or an operator's look. */
export type FinishNext = "sign-in-or-reset" | "reset" | "operator";

/** `--report`, version 1. Ids, reasons and counts only, as the import's report: never an email or a hash. */
export interface FinishReport {
  version: 1;
  dryRun: boolean;
  /** The import that moved (or would move) every legacy-only user whose hash the core takes. */
  import: ImportReport;
  /** Legacy users still not in SuperTokens after this run, with what can move them. */
  rest: { id: string | null; row: number; reason: string; next: FinishNext; detail?: string }[];
  counts: { moved: number; wouldMove: number; rest: number; restByNext: Record<FinishNext, number> };
}

/** Skip reasons of users the core cannot take with their hash: they move by signing in (legacyAuth) or a reset. */
const SIGN_IN_OR_RESET = new Set(["unsupported-hash"]);
/** No hash at all: only a reset moves them. */
const RESET_ONLY = new Set(["missing-hash"]);
/** Already in SuperTokens: not a straggler. */
const DONE = new Set(["already-imported"]);

export function finishReport(importReport: ImportReport): FinishReport {
  const rest: FinishReport["rest"] = [];
  for (const s of importReport.skipped) {
    if (DONE.has(s.reason)) continue;
    const next: FinishNext = SIGN_IN_OR_RESET.has(s.reason)
      ? "sign-in-or-reset"
      : RESET_ONLY.has(s.reason)
        ? "reset"
        : "operator";
    rest.push({ id: s.id, row: s.row, reason: s.reason, next, ...(s.detail ? { detail: s.detail } : {}) });
  }
  for (const f of importReport.failed)
    rest.push({ id: f.id, row: f.row, reason: f.reason, next: "operator", ...(f.detail ? { detail: f.detail } : {}) });
  rest.sort((a, b) => a.row - b.row);
  const restByNext: Record<FinishNext, number> = { "sign-in-or-reset": 0, reset: 0, operator: 0 };
  for (const r of rest) restByNext[r.next]++;
  return {
    version: 1,
    dryRun: importReport.dryRun,
    import: importReport,
    rest,
    counts: {
      moved: importReport.counts.imported,
      wouldMove: importReport.counts.wouldImport,
      rest: rest.length,
      restByNext,
    },
  };
}

function summary(report: FinishReport, reportPath: string | undefined): string {
  const { restByNext } = report.counts;
  const lines: string[] = [];
  if (report.counts.rest === 0) {
    lines.push("Finish: no legacy user is left outside SuperTokens" + (report.dryRun ? " after this run." : "."));
  } else {
    lines.push(
      `Finish: ${report.counts.rest} legacy users ${report.dryRun ? "would remain" : "remain"} outside SuperTokens:`,
    );
    if (restByNext["sign-in-or-reset"])
      lines.push(`  ${restByNext["sign-in-or-reset"]} can only move by sign-in (legacyAuth) or a password reset`);
    if (restByNext.reset) lines.push(`  ${restByNext.reset} have no password hash: only a reset moves them`);
    if (restByNext.operator)
      lines.push(`  ${restByNext.operator} need a look (conflicts or invalid rows; see the report)`);
    if (restByNext["sign-in-or-reset"] + restByNext.reset > 0)
      lines.push(
        "  To email them a reset through the app's own emailDelivery, run sendResetToStragglers() inside the app " +
          "with the ids listed under rest (docs/status.md).",
      );
  }
  if (reportPath) lines.push(`Finish report: ${reportPath}`);
  else if (report.counts.rest > 0) lines.push("Pass --report <file> to list them.");
  return lines.join("\n") + "\n";
}

/**
 * For the users who never came back: the import moves those whose hash the core takes (it skips users already in
 * SuperTokens, so a re-run moves nobody twice), and the rest are listed with what can still move them.
 */
export async function runFinish(opts: FinishCliOptions, io: ImportIo = {}): Promise<FinishReport> {
  const stdout = io.stdout ?? process.stdout;
  const importReport = await runImport(
    {
      from: opts.from,
      query: opts.query,
      map: opts.map,
      core: opts.core,
      apiKey: opts.apiKey,
      appId: opts.appId,
      dryRun: opts.dryRun ?? false,
    },
    io,
  );
  const report = finishReport(importReport);
  if (opts.report) {
    // Whole or not at all, as the import's report: a killed run must not leave half a list.
    const tmp = `${opts.report}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
    await rename(tmp, opts.report);
  }
  stdout.write(summary(report, opts.report));
  return report;
}

/** `supertokens-migrate finish`. */
export function finishCommand(): Command {
  return new Command("finish")
    .description(
      "For users who never came back: move every legacy-only user whose hash the core takes (with their hash and " +
        "legacy id), and list the rest with what can still move them. Idempotent. Exit code 2 when some failed.",
    )
    .requiredOption("--from <url>", "PostgreSQL URL of the legacy database (read in a read-only transaction)")
    .requiredOption("--query <sql>", "SELECT returning one row per legacy user, with email and password hash")
    .option("--map <pairs>", "source column per field, as for import (e.g. id=user_id,passwordHash=pw)")
    .requiredOption("--core <url>", "the SuperTokens core's URL (connectionURI)")
    .addOption(new Option("--api-key <key>", "the core's API key").env("SUPERTOKENS_API_KEY"))
    .option("--app-id <id>", "the core's app (default: the one --core addresses)")
    .option("--dry-run", "decide for every user and write nothing")
    .option("--report <file>", "write a JSON report: the import's report and the users left, with their next step")
    .action(async (opts: FinishCliOptions) => {
      const report = await runFinish(opts);
      if (report.import.counts.failed > 0) process.exitCode = 2;
    });
}
