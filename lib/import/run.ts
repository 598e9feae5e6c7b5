import { ConfigError } from "../errors.js";
import {
  BulkSender,
  detectBulk,
  listFailed,
  type BulkSupport,
  pendingCount,
  removeRows,
  waitForQueue,
} from "./bulk.js";
import { CoreClient } from "./core-http-client.js";
import { listExisting, type ExistingUsers } from "./existing.js";
import { readUsers, scanInput, type InputScan } from "./input.js";
import { importLog } from "./log.js";
import { resolveImportOptions, type ImportConfig, type ImportOptions } from "./options.js";
import { importOneUser, pool } from "./per-user.js";
import { decideRow, type Candidate, type Outcome } from "./plan.js";
import { barProgress, flushed, lineProgress, silentProgress, type Progress, type ProgressStream } from "./progress.js";
import { SUMMARY_ROWS, Tally, type ImportReport, type ReportBase } from "./report.js";

export interface ImportIo {
  /** The summary. Default process.stdout. */
  stdout?: { write(chunk: string): unknown };
  /** Progress and notices. Default process.stderr. */
  stderr?: ProgressStream;
  /** Default "auto": a bar when `stderr` is a terminal, plain lines otherwise. */
  progress?: "auto" | "bar" | "lines" | "none";
  /**
   * Whether the returned report lists every user (default true). With false its lists are empty and only the
   * `--report` file has them: the CLI's way, so that a million-row import runs in bounded memory.
   */
  lists?: boolean;
}

/** The config for the debug log: no API key, no database password. */
function redacted(config: ImportConfig) {
  const source =
    config.source.kind === "postgres"
      ? { ...config.source, url: config.source.url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@") }
      : config.source;
  return { ...config, source, apiKey: config.apiKey === undefined ? undefined : "***" };
}

async function checkCore(client: CoreClient): Promise<void> {
  const res = await client.call<{ versions?: unknown }>("GET", "/apiversion");
  const versions = res.json?.versions;
  if (res.status !== 200 || !Array.isArray(versions)) {
    // An unknown app gets 400 "AppId or tenantId not found"; a server that is no core, 404 or HTML.
    throw new ConfigError(
      "ERR_MIGRATE_UNSUPPORTED_CORE",
      `import: ${client.base} did not answer GET /apiversion as a SuperTokens core does (${res.status}: ` +
        `${res.text.trim().slice(0, 200)}).`,
    );
  }
  if (!versions.includes("5.4")) {
    throw new ConfigError(
      "ERR_MIGRATE_UNSUPPORTED_CORE",
      `import: the core at ${client.base} does not speak CDI 5.4 (it offers ${versions.join(", ")}).`,
    );
  }
}

function pickProgress(io: Required<ImportIo>): Progress {
  const kind = io.progress === "auto" ? (io.stderr.isTTY ? "bar" : "lines") : io.progress;
  if (kind === "bar") return barProgress(io.stderr as NodeJS.WritableStream);
  if (kind === "lines") return lineProgress(io.stderr);
  return silentProgress;
}

function summary(report: ImportReport, tally: Tally, reportPath: string | undefined): string {
  const reasons = (by: Record<string, number>) =>
    Object.entries(by)
      .map(([r, n]) => `${r} ${n}`)
      .join(", ");
  const { counts } = report;
  const how = report.mode === "bulk" ? "the bulk-import API" : "the per-user endpoints";
  const lines = [
    report.dryRun
      ? `Dry run, nothing was written: would import ${counts.wouldImport} of ${counts.input} users into ` +
        `${report.target} through ${how}.`
      : `Imported ${counts.imported} of ${counts.input} users into ${report.target} through ${how}.`,
  ];
  if (counts.skipped)
    lines.push(`${report.dryRun ? "Would skip" : "Skipped"} ${counts.skipped}: ${reasons(counts.skippedByReason)}.`);
  if (counts.skippedByReason["missing-hash"])
    lines.push(
      "Hint: rows without a password hash are left to legacyAuth() or a reset. If the source names its hash " +
        "column otherwise (not password_hash or passwordHash), pass --map passwordHash=<column>.",
    );
  if (counts.failed)
    lines.push(`${report.dryRun ? "Would fail" : "Failed"} ${counts.failed}: ${reasons(counts.failedByReason)}.`);
  // The rows behind the counts, by number, so that a fix needs no report file (issue 14: "invalid-row 1" alone
  // named nothing). The first few only: a million-row run with a systematic problem would drown the terminal.
  // Users a re-run finds already imported are the expected case, not something to fix.
  for (const o of tally.named) {
    const id = o.id === null ? "" : ` (id ${o.id})`;
    lines.push(`  row ${o.row}${id}: ${o.reason}${o.detail ? `, ${o.detail}` : ""}`);
  }
  if (tally.namedCount > SUMMARY_ROWS) {
    const where = reportPath ? "in the report" : "(pass --report <file> to list them)";
    lines.push(`  … and ${tally.namedCount - SUMMARY_ROWS} more ${where}.`);
  }
  if (tally.warnings)
    lines.push(`Warnings: ${tally.warnings} (weak hashes to rehash on the next sign-in; see the report).`);
  for (const note of report.notes) lines.push(`Note: ${note}`);
  if (reportPath) lines.push(`Report: ${reportPath}`);
  return lines.join("\n") + "\n";
}

/**
 * `supertokens-migrate import`: read the legacy users, decide each row before writing it, then create the users
 * with their hashes and legacy ids through the bulk-import API or the per-user endpoints. Re-runnable from any
 * point: users already in SuperTokens are skipped and never changed, half-made ones are finished.
 *
 * The input is read, never held: a first pass counts the rows and finds ids and emails more than one row has
 * (input.ts), then the rows are decided and imported a window at a time, outcomes counted as they come and listed
 * in spool files for the report (report.ts). What stays in memory grows by 22 to 46 bytes per input row and per
 * user SuperTokens already holds (an id and an email hash, compact-set.ts), not by the rows themselves.
 */
export async function runImport(options: ImportOptions, ioOptions: ImportIo = {}): Promise<ImportReport> {
  const io: Required<ImportIo> = {
    stdout: ioOptions.stdout ?? process.stdout,
    stderr: ioOptions.stderr ?? process.stderr,
    progress: ioOptions.progress ?? "auto",
    lists: ioOptions.lists ?? true,
  };
  const config = resolveImportOptions(options);
  importLog("config %O", redacted(config));
  const startedAt = new Date().toISOString();
  // What the report says if the run stops: whatever was known by then (issue 14: even unreadable input).
  let mode: ImportReport["mode"] = config.mode;
  let input = 0;
  const notes: string[] = [];
  const tally = new Tally(io.lists || config.report !== undefined);
  let progress: Progress | undefined;
  const base = (): ReportBase => ({ dryRun: config.dryRun, mode, target: config.core, startedAt, notes });
  try {
    try {
      // The core first: a wrong URL or key should fail in a second, not after reading a million rows.
      const client = new CoreClient(config.core, config.apiKey);
      await checkCore(client);
      const support: BulkSupport =
        config.mode === "per-user" ? { offered: false, why: "--mode per-user" } : await detectBulk(client);
      if (config.mode === "bulk" && !support.offered) {
        throw new ConfigError(
          "ERR_MIGRATE_UNSUPPORTED_CORE",
          `import: --mode bulk, but the core at ${config.core} does not offer the bulk-import API ` +
            `(${support.why}). Use --mode per-user or auto.`,
        );
      }
      const now = Date.now();
      const scan = await scanInput(config, now);
      const chosen = config.mode === "per-user" || !support.offered ? "per-user" : "bulk";
      mode = chosen;
      input = scan.rows;
      importLog("mode %s (%s)", chosen, support.offered ? "bulk import offered" : support.why);

      if (chosen === "bulk") {
        // Users a killed run queued are still being processed; the plan must see them as they end up.
        const pending = await pendingCount(client);
        if (pending > 0 && config.dryRun) {
          notes.push(
            `the core's bulk-import queue holds ${pending} users not yet processed; the plan can change once they ` +
              `are.`,
          );
        } else if (pending > 0) {
          io.stderr.write(`import: waiting for ${pending} users already queued in the core to be processed\n`);
          await waitForQueue(client, 0, config.stallTimeoutMs, () => {});
        }
        // Failed queue rows of these users are earlier attempts; this run supersedes them.
        const stale = await listFailed(client, scan.ids);
        if (stale.length && !config.dryRun)
          await removeRows(
            client,
            stale.map((r) => r.id),
          );
        if (stale.length)
          notes.push(
            `${config.dryRun ? "would remove" : "removed"} ${stale.length} failed bulk-import queue rows left by ` +
              `earlier attempts for these users.`,
          );
      }

      const existing = await listExisting(client);
      const shown = pickProgress(io);
      progress = shown;
      shown.start(scan.rows, 0);
      input = await importRows(
        { client, config, mode: chosen, scan, existing, tally, progress: shown, notes, now },
        (m) => io.stderr.write(`import: ${m}\n`),
      );
    } catch (err) {
      progress?.stop();
      await flushed(io.stderr);
      if (config.report) {
        await tally.writeReport(config.report, base(), input, (err as Error).message).catch(() => {});
      }
      throw err;
    }
    progress.stop();
    // Progress goes to stderr, the summary to stdout: the summary comes last wherever both end up.
    await flushed(io.stderr);
    if (config.report) await tally.writeReport(config.report, base(), input);
    const report = await tally.report(base(), input, io.lists);
    io.stdout.write(summary(report, tally, config.report));
    return report;
  } finally {
    await tally.close();
  }
}

interface ImportRun {
  client: CoreClient;
  config: ImportConfig;
  mode: "bulk" | "per-user";
  scan: InputScan;
  existing: ExistingUsers;
  tally: Tally;
  progress: Progress;
  notes: string[];
  now: number;
}

/** Nobody: how a user the bulk queue failed is read again, to be decided against the live state instead. */
const nobody: ExistingUsers = { byId: () => undefined, hasEmail: () => false, pending: 0, size: 0 };

/**
 * Read the input again, decide each row and import the users a window of rows at a time; returns the rows read.
 * Within a window, half-made users (from a killed per-user run) are finished one by one in either mode (a bulk
 * import of the same legacy id would leave their placeholder behind); in bulk mode the others are queued, and the
 * next window is read while the core works through them.
 */
async function importRows(run: ImportRun, notify: (message: string) => void): Promise<number> {
  const { client, config, mode, scan, existing, tally, progress } = run;
  const tick = () => progress.update(tally.done, tally);
  const one = async (c: Candidate, bulkError?: string) => {
    let outcome: Outcome = await importOneUser(client, c, c.resume || bulkError !== undefined);
    if (bulkError !== undefined && outcome.kind === "failed")
      outcome = { ...outcome, detail: `bulk import: ${bulkError}; then ${outcome.detail}` };
    tally.add(outcome);
    tick();
  };
  const sender =
    mode === "bulk" && !config.dryRun
      ? new BulkSender(
          client,
          config.batchSize,
          config.stallTimeoutMs,
          {
            accepted: (c) => tally.accept(c.row, c.id),
            withdrawn: (c) => tally.withdraw(c.id),
            rejected: (o) => tally.add(o),
            // The outcomes are known once the queue drained; meanwhile progress shows it being processed (issue 14).
            settled: (settled, queued) =>
              progress.update(tally.done - queued + settled, {
                imported: tally.imported,
                skipped: tally.skipped,
                failed: tally.failed,
                queue: { queued, processed: settled },
              }),
            notify,
          },
          scan.rows,
        )
      : undefined;

  // A window: as many rows as one bulk-import request holds (at least 1,000).
  const windowRows = Math.max(config.batchSize, 1000);
  let window: Candidate[] = [];
  let rowsInWindow = 0;
  let timeNote = false;
  const flush = async () => {
    if (config.dryRun) {
      for (const c of window) tally.add({ kind: "imported", row: c.row, id: c.id });
    } else {
      await pool(sender ? window.filter((c) => c.resume) : window, config.concurrency, (c) => one(c));
      if (sender) await sender.send(window.filter((c) => !c.resume));
    }
    window = [];
    rowsInWindow = 0;
    await tally.flush();
    tick();
  };
  let rows = 0;
  for await (const row of readUsers(config, run.now, { check: false, refused: scan.refused })) {
    rows++;
    const decided = decideRow(row, scan, existing);
    if ("outcome" in decided) tally.add(decided.outcome);
    else {
      if (decided.warning) tally.warn(decided.warning);
      window.push(decided.candidate);
      if (mode === "per-user" && !timeNote && decided.candidate.timeJoined !== undefined) {
        timeNote = true;
        run.notes.push("the per-user endpoints cannot set time joined: imported users get the time of the import.");
      }
    }
    if (++rowsInWindow >= windowRows) await flush();
  }
  await flush();
  if (!sender) return rows;

  await sender.finish();
  // A failed row means the core refused the user when it processed it, most often because the email or the
  // legacy id appeared in SuperTokens after the plan was made. Each one is decided again against the live state.
  // Failed rows of these users from earlier attempts were removed before the run, so these are this run's.
  const failedRows = await listFailed(client, scan.ids);
  await removeRows(
    client,
    failedRows.map((r) => r.id),
  );
  const errors = new Map(failedRows.map((r) => [r.externalUserId!, r.errorMessage ?? "failed"]));
  const retry = new Map(errors);
  tally.settleAccepted(retry.keys());
  tick();
  if (retry.size === 0) return rows;
  // Their rows, read once more: only these users are held.
  const again: Candidate[] = [];
  for await (const row of readUsers(config, run.now, { check: false, refused: scan.refused })) {
    if ("reason" in row || !retry.has(row.id)) continue;
    const decided = decideRow(row, scan, nobody);
    if ("candidate" in decided) again.push(decided.candidate);
    else tally.add(decided.outcome);
    retry.delete(row.id);
  }
  // Users whose row is gone from the source since (it changed during the run): failed, with the core's reason.
  for (const [id, error] of retry)
    tally.add({ kind: "failed", row: 0, id, reason: "core-rejected", detail: `bulk import: ${error}` });
  await pool(again, config.concurrency, (c) => one(c, errors.get(c.id) ?? "failed"));
  return rows;
}
