import { createReadStream } from "node:fs";
import { appendFile, mkdtemp, open, rename, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
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

/** `accepted`: users the bulk-import queue took, listed under imported once the queue drained (settleAccepted). */
type Kind = "imported" | "accepted" | "skipped" | "failed" | "warnings";
type Entry = { row: number; text: string };
export type NamedRow = { row: number; id: string | null; reason: string; detail?: string };
export type ReportBase = Pick<ImportReport, "dryRun" | "mode" | "target" | "startedAt" | "notes">;

/** Skipped and failed rows the summary names one by one; the report lists them all. */
export const SUMMARY_ROWS = 10;

const entryOf = (o: Outcome | Warning): Record<string, unknown> => {
  if ("kind" in o && o.kind === "imported") return { id: o.id };
  if (!("kind" in o)) return { ...o };
  return {
    id: o.id,
    row: o.row,
    reason: o.reason,
    ...(o.detail !== undefined ? { detail: withoutEmails(o.detail) } : {}),
  };
};

/**
 * Outcomes as they arrive, counted at once and, when lists are wanted (`--report`, or a caller that wants the whole
 * report back), written to spool files a window at a time, so that a million rows never sit in memory. The run hands
 * over outcomes a window of rows at a time (flush), each window after the one before, so each spool file is in row
 * order; outcomes decided after the last window (users the bulk queue failed, decided again one by one) are
 * `late`: they are few, kept in memory, and merged in by row when the report is written, replacing the user's
 * provisional entry in `imported`.
 */
export class Tally {
  imported = 0;
  skipped = 0;
  failed = 0;
  warnings = 0;
  /** Users the bulk-import queue accepted: imported unless the core fails them (then decided again, late). */
  accepted = 0;
  readonly skippedByReason: Record<string, number> = {};
  readonly failedByReason: Record<string, number> = {};
  /** The first SUMMARY_ROWS skipped (other than already imported) or failed rows by row number, and how many. */
  readonly named: NamedRow[] = [];
  namedCount = 0;
  private window: { kind: Kind; row: number; entry: Record<string, unknown> }[] = [];
  private readonly late: { kind: Kind; row: number; entry: Record<string, unknown> }[] = [];
  private readonly superseded = new Set<string>();
  private dir: string | undefined;
  private finishedAt: string | undefined;
  private acceptedSettled = false;

  /** `lists`: keep every outcome for the report (spooled to a temporary directory). */
  constructor(private readonly lists: boolean) {}

  /** The last row of the windows written to the spool: an outcome for a row up to it is late. */
  private flushedRow = 0;

  private keep(kind: Kind, row: number, entry: Record<string, unknown>): void {
    if (!this.lists) return;
    (row <= this.flushedRow ? this.late : this.window).push({ kind, row, entry });
  }

  /** An outcome, for a row of the current window or a late one (see the class). */
  add(o: Outcome): void {
    this[o.kind]++;
    if (o.kind !== "imported") {
      const by = o.kind === "skipped" ? this.skippedByReason : this.failedByReason;
      by[o.reason] = (by[o.reason] ?? 0) + 1;
      importLog(
        "row %d (id %s): %s, %s%s",
        o.row,
        o.id,
        o.kind,
        o.reason,
        o.detail ? ` (${withoutEmails(o.detail)})` : "",
      );
      if (o.kind === "failed" || o.reason !== "already-imported") this.name(o);
    }
    this.keep(o.kind, o.row, entryOf(o));
  }

  /**
   * A user the bulk-import queue took: counted and listed as imported once the queue drained (settleAccepted). A
   * report written before that (a run that stopped) leaves them out, as users not yet decided.
   */
  accept(row: number, id: string): void {
    this.accepted++;
    this.keep("accepted", row, { id });
  }

  /** A user the queue accepted was taken out of it again: not imported, its outcome follows. */
  withdraw(id: string): void {
    this.accepted--;
    this.superseded.add(id);
  }

  /** The queue drained: accepted users are imported, but for `failed` (legacy ids), which are decided again. */
  settleAccepted(failed: Iterable<string>): void {
    let n = 0;
    for (const id of failed) {
      this.superseded.add(id);
      n++;
    }
    this.imported += this.accepted - n;
    this.accepted = 0;
    this.acceptedSettled = true;
  }

  warn(w: Warning): void {
    this.warnings++;
    this.keep("warnings", w.row, entryOf(w));
  }

  private name(o: Exclude<Outcome, { kind: "imported" }>): void {
    this.namedCount++;
    if (this.named.length === SUMMARY_ROWS && o.row >= this.named[SUMMARY_ROWS - 1].row) return;
    const at = this.named.findIndex((n) => n.row > o.row);
    const entry: NamedRow = {
      row: o.row,
      id: o.id,
      reason: o.reason,
      ...(o.detail ? { detail: withoutEmails(o.detail) } : {}),
    };
    this.named.splice(at === -1 ? this.named.length : at, 0, entry);
    if (this.named.length > SUMMARY_ROWS) this.named.pop();
  }

  /** Rows decided, the queue's accepted users included. */
  get done(): number {
    return this.imported + this.skipped + this.failed + this.accepted;
  }

  /** Writes the window's outcomes to the spool files, in row order. */
  async flush(): Promise<void> {
    if (!this.lists || this.window.length === 0) return;
    const window = this.window;
    this.window = [];
    window.sort((a, b) => a.row - b.row);
    this.flushedRow = Math.max(this.flushedRow, window[window.length - 1].row);
    this.dir ??= await mkdtemp(path.join(os.tmpdir(), "supertokens-migrate-import-"));
    const chunks: Record<Kind, string[]> = { imported: [], accepted: [], skipped: [], failed: [], warnings: [] };
    for (const w of window) chunks[w.kind].push(`${w.row}\t${JSON.stringify(w.entry)}\n`);
    for (const kind of Object.keys(chunks) as Kind[])
      if (chunks[kind].length) await appendFile(this.spool(kind), chunks[kind].join(""), { mode: 0o600 });
  }

  private spool(kind: Kind): string {
    return path.join(this.dir!, `${kind}.tsv`);
  }

  /** A spool file's entries, in its (row) order. */
  private async *spooled(kind: Kind): AsyncGenerator<Entry> {
    if (this.dir === undefined) return;
    const handle = await open(this.spool(kind), "a+"); // exists, possibly empty
    await handle.close();
    const lines = createInterface({
      input: createReadStream(this.spool(kind), { encoding: "utf8" }),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      const tab = line.indexOf("\t");
      yield { row: Number(line.slice(0, tab)), text: line.slice(tab + 1) };
    }
  }

  /**
   * One list, in row order: its spool file, the late entries and, for `imported` once the queue drained, the users
   * it accepted, but for those superseded (failed by the core, or taken out of the queue).
   */
  private entries(kind: Kind): AsyncGenerator<Entry> {
    const late = this.late
      .filter((l) => l.kind === kind)
      .sort((a, b) => a.row - b.row)
      .map((l) => ({ row: l.row, text: JSON.stringify(l.entry) }));
    let list = merge(this.spooled(kind), fromArray(late));
    if (kind === "imported" && this.acceptedSettled) {
      const superseded = this.superseded;
      const accepted = async function* (entries: AsyncGenerator<Entry>) {
        for await (const e of entries)
          if (superseded.size === 0 || !superseded.has((JSON.parse(e.text) as { id: string }).id)) yield e;
      };
      list = merge(list, accepted(this.spooled("accepted")));
    }
    return list;
  }

  counts(base: Pick<ImportReport, "dryRun">, input: number): ImportReport["counts"] {
    return {
      input,
      imported: base.dryRun ? 0 : this.imported,
      wouldImport: base.dryRun ? this.imported : 0,
      skipped: this.skipped,
      failed: this.failed,
      skippedByReason: { ...this.skippedByReason },
      failedByReason: { ...this.failedByReason },
    };
  }

  private head(base: ReportBase, input: number, error: string | undefined) {
    return {
      version: 2 as const,
      dryRun: base.dryRun,
      mode: base.mode,
      target: base.target,
      startedAt: base.startedAt,
      // The same in the report file and the report returned.
      finishedAt: (this.finishedAt ??= new Date().toISOString()),
      ...(error !== undefined ? { error } : {}),
      counts: this.counts(base, input),
    };
  }

  /** The report in memory: with `lists`, the lists read back from the spool; without, empty lists. */
  async report(base: ReportBase, input: number, lists: boolean): Promise<ImportReport> {
    await this.flush();
    const list = async (kind: Kind) => {
      const out: unknown[] = [];
      if (lists && this.lists) for await (const e of this.entries(kind)) out.push(JSON.parse(e.text));
      return out;
    };
    const imported = (await list("imported")) as { id: string }[];
    return {
      ...this.head(base, input, undefined),
      imported: base.dryRun ? [] : imported,
      wouldImport: base.dryRun ? imported : [],
      skipped: (await list("skipped")) as ImportReport["skipped"],
      failed: (await list("failed")) as ImportReport["failed"],
      warnings: (await list("warnings")) as Warning[],
      notes: base.notes,
    };
  }

  /**
   * The report file, written as JSON.stringify(report, null, 2) would write it but a list entry at a time, to a
   * temporary file renamed into place: a killed run must not leave half a report that reads as complete.
   */
  async writeReport(file: string, base: ReportBase, input: number, error?: string): Promise<void> {
    await this.flush();
    const tmp = `${file}.${process.pid}.tmp`;
    const out = await open(tmp, "w", 0o600);
    try {
      let buffer = "";
      const write = async (text: string, force = false) => {
        buffer += text;
        if (force || buffer.length > 1 << 16) {
          await out.write(buffer);
          buffer = "";
        }
      };
      const head = JSON.stringify(this.head(base, input, error), null, 2);
      await write(head.slice(0, head.lastIndexOf("\n}")));
      const lists: [string, Kind | undefined][] = [
        ["imported", base.dryRun ? undefined : "imported"],
        ["wouldImport", base.dryRun ? "imported" : undefined],
        ["skipped", "skipped"],
        ["failed", "failed"],
        ["warnings", "warnings"],
      ];
      for (const [name, kind] of lists) {
        await write(`,\n  ${JSON.stringify(name)}: [`);
        let first = true;
        if (kind !== undefined && this.lists) {
          for await (const e of this.entries(kind)) {
            const entry = JSON.stringify(JSON.parse(e.text), null, 2).replace(/\n/g, "\n    ");
            await write(`${first ? "" : ","}\n    ${entry}`);
            first = false;
          }
        }
        await write(first ? "]" : "\n  ]");
      }
      const notes = JSON.stringify(base.notes, null, 2).replace(/\n/g, "\n  ");
      await write(`,\n  "notes": ${notes}\n}\n`, true);
    } finally {
      await out.close();
    }
    await rename(tmp, file);
  }

  /** Removes the spool files. */
  async close(): Promise<void> {
    if (this.dir !== undefined) await rm(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

async function* fromArray(entries: Entry[]): AsyncGenerator<Entry> {
  yield* entries;
}

/** Two lists in row order as one; on a tie, `a` first. */
async function* merge(a: AsyncGenerator<Entry>, b: AsyncGenerator<Entry>): AsyncGenerator<Entry> {
  let x = await a.next();
  let y = await b.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.row <= y.value.row)) {
      yield x.value;
      x = await a.next();
    } else {
      yield y.value;
      y = await b.next();
    }
  }
}
