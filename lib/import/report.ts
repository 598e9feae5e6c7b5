import { rename, writeFile } from "node:fs/promises";
import { importLog } from "./log.js";
import type { Outcome, Warning } from "./plan.js";

/**
 * The JSON report (`--report`). Versioned: tools that read it check `version`. It holds ids, reasons and counts,
 * never an email, a hash or a key. Reconciliation holds exactly:
 * counts.input = imported + wouldImport + skipped + failed.
 *
 * Version 2 (issue 14): a dry run lists the users it would import under `wouldImport` (and `counts.wouldImport`);
 * `imported` is then empty. Version 1 listed them under `imported`.
 */
export interface ImportReport {
  version: 2;
  /** True for `--dry-run`: `wouldImport` then lists the users the run would import, and nothing was written. */
  dryRun: boolean;
  /** `auto` only in the report of a run that stopped before it could choose (e.g. the core was unreachable). */
  mode: "bulk" | "per-user" | "auto";
  /** The core's URL (with its app path); never the API key. */
  target: string;
  startedAt: string;
  finishedAt: string;
  /** Set when the run stopped before the end; users not listed were not decided. Re-run to finish. */
  error?: string;
  counts: {
    input: number;
    imported: number;
    /** Dry run only; 0 in a real run. */
    wouldImport: number;
    skipped: number;
    failed: number;
    skippedByReason: Record<string, number>;
    failedByReason: Record<string, number>;
  };
  imported: { id: string }[];
  /** Dry run only: the users the real run would import. Empty in a real run. */
  wouldImport: { id: string }[];
  skipped: { id: string; row: number; reason: string; detail?: string }[];
  failed: { id: string | null; row: number; reason: string; detail?: string }[];
  /** Imported users to look at again, e.g. weak hashes to rehash on the next sign-in. */
  warnings: Warning[];
  /** Facts about the whole run, e.g. what a mode cannot carry over. */
  notes: string[];
}

/** The core's messages name emails ("A user with email … already exists"); the report keeps ids only. */
const withoutEmails = (text: string) => text.replace(/[^\s@"',;:()]+@[^\s@"',;:()]+/g, "<email>");

/** Outcomes as they arrive, in any order; the report lists them by source row. */
export class Tally {
  readonly outcomes: Outcome[] = [];
  imported = 0;
  skipped = 0;
  failed = 0;

  add(o: Outcome): void {
    this.outcomes.push(o);
    this[o.kind]++;
    if (o.kind !== "imported")
      importLog(
        "row %d (id %s): %s, %s%s",
        o.row,
        o.id,
        o.kind,
        o.reason,
        o.detail ? ` (${withoutEmails(o.detail)})` : "",
      );
  }

  get done(): number {
    return this.outcomes.length;
  }

  report(
    base: Pick<ImportReport, "dryRun" | "mode" | "target" | "startedAt" | "warnings" | "notes">,
    input: number,
    error?: string,
  ): ImportReport {
    const sorted = [...this.outcomes].sort((a, b) => a.row - b.row);
    const byReason = (kind: "skipped" | "failed") => {
      const out: Record<string, number> = {};
      for (const o of sorted) if (o.kind === kind) out[o.reason] = (out[o.reason] ?? 0) + 1;
      return out;
    };
    const entry = (o: Exclude<Outcome, { kind: "imported" }>) => ({
      id: o.id,
      row: o.row,
      reason: o.reason,
      ...(o.detail !== undefined ? { detail: withoutEmails(o.detail) } : {}),
    });
    const imported = sorted.filter((o) => o.kind === "imported").map((o) => ({ id: o.id }));
    return {
      version: 2,
      dryRun: base.dryRun,
      mode: base.mode,
      target: base.target,
      startedAt: base.startedAt,
      finishedAt: new Date().toISOString(),
      ...(error !== undefined ? { error } : {}),
      counts: {
        input,
        imported: base.dryRun ? 0 : this.imported,
        wouldImport: base.dryRun ? this.imported : 0,
        skipped: this.skipped,
        failed: this.failed,
        skippedByReason: byReason("skipped"),
        failedByReason: byReason("failed"),
      },
      imported: base.dryRun ? [] : imported,
      wouldImport: base.dryRun ? imported : [],
      skipped: sorted
        .filter((o): o is Extract<Outcome, { kind: "skipped" }> => o.kind === "skipped")
        .map(entry) as ImportReport["skipped"],
      failed: sorted.filter((o): o is Extract<Outcome, { kind: "failed" }> => o.kind === "failed").map(entry),
      warnings: base.warnings,
      notes: base.notes,
    };
  }
}

/** Written whole or not at all: a killed run must not leave half a report that reads as complete. */
export async function writeReport(path: string, report: ImportReport): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(report, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, path);
}
