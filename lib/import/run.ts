import { ConfigError } from "../errors.js";
import {
  detectBulk,
  listFailed,
  type BulkSupport,
  pendingCount,
  queueUsers,
  removeRows,
  waitForQueue,
} from "./bulk.js";
import { CoreClient } from "./core-http-client.js";
import { listExisting } from "./existing.js";
import { importLog } from "./log.js";
import {
  defaultColumns,
  resolveImportOptions,
  type ImportConfig,
  type ImportField,
  type ImportOptions,
} from "./options.js";
import { importOneUser, pool } from "./per-user.js";
import { planImport, type Candidate, type Outcome, type Warning } from "./plan.js";
import { barProgress, flushed, lineProgress, silentProgress, type Progress, type ProgressStream } from "./progress.js";
import { Tally, writeReport, type ImportReport } from "./report.js";
import { signInEmailRule, toSourceUser, type RowProblem, type SourceUser } from "./rows.js";
import { readSource } from "./sources/index.js";

export interface ImportIo {
  /** The summary. Default process.stdout. */
  stdout?: { write(chunk: string): unknown };
  /** Progress and notices. Default process.stderr. */
  stderr?: ProgressStream;
  /** Default "auto": a bar when `stderr` is a terminal, plain lines otherwise. */
  progress?: "auto" | "bar" | "lines" | "none";
}

/** The config for the debug log: no API key, no database password. */
function redacted(config: ImportConfig) {
  const source =
    config.source.kind === "postgres"
      ? { ...config.source, url: config.source.url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@") }
      : config.source;
  return { ...config, source, apiKey: config.apiKey === undefined ? undefined : "***" };
}

/** Read every row first: duplicates inside the input can only be found once all of it is known (T22). */
async function readRows(config: ImportConfig): Promise<(SourceUser | RowProblem)[]> {
  const rows: (SourceUser | RowProblem)[] = [];
  const columns = new Set<string>();
  const now = Date.now();
  const validate = config.validateEmail ?? signInEmailRule;
  for await (const raw of readSource(config.source)) {
    if ("values" in raw) for (const key of Object.keys(raw.values)) columns.add(key);
    const row = toSourceUser(raw, config, now);
    // A user the app's sign-in refuses could never sign in: never imported (issue 14).
    const refused = "reason" in row ? undefined : await validate(row.email);
    rows.push(
      refused === undefined
        ? row
        : {
            row: row.row,
            id: (row as SourceUser).id,
            reason: "invalid-email",
            detail: `the app's sign-in would refuse this email: ${refused}`,
          },
    );
  }
  if (rows.length === 0) return rows;
  const found = columns.size ? [...columns].join(", ") : "none";
  for (const field of config.mapped) {
    const column = config.columns[field][0];
    if (!columns.has(column))
      throw new ConfigError(
        "ERR_MIGRATE_MISSING_COLUMN",
        `import: --map ${field}=${column}: the source has no column ${JSON.stringify(column)}. Columns found: ` +
          `${found}.`,
      );
  }
  for (const field of ["id", "email"] as ImportField[]) {
    if (config.mapped.includes(field) || defaultColumns[field].some((c) => columns.has(c))) continue;
    throw new ConfigError(
      "ERR_MIGRATE_MISSING_COLUMN",
      `import: the source has no ${field} column (looked for ${defaultColumns[field].join(", ")}). Name it with ` +
        `--map ${field}=<column>. Columns found: ${found}.`,
    );
  }
  return rows;
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

/** Skipped and failed rows the summary names one by one; the report lists them all. */
const SUMMARY_ROWS = 10;

function summary(report: ImportReport, reportPath: string | undefined): string {
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
  const named = [...report.failed, ...report.skipped.filter((o) => o.reason !== "already-imported")];
  named.sort((a, b) => a.row - b.row);
  for (const o of named.slice(0, SUMMARY_ROWS)) {
    const id = o.id === null ? "" : ` (id ${o.id})`;
    lines.push(`  row ${o.row}${id}: ${o.reason}${o.detail ? `, ${o.detail}` : ""}`);
  }
  if (named.length > SUMMARY_ROWS) {
    const where = reportPath ? "in the report" : "(pass --report <file> to list them)";
    lines.push(`  … and ${named.length - SUMMARY_ROWS} more ${where}.`);
  }
  if (report.warnings.length)
    lines.push(`Warnings: ${report.warnings.length} (weak hashes to rehash on the next sign-in; see the report).`);
  for (const note of report.notes) lines.push(`Note: ${note}`);
  if (reportPath) lines.push(`Report: ${reportPath}`);
  return lines.join("\n") + "\n";
}

/**
 * `supertokens-migrate import`: read the legacy users, decide every row before writing anything, then create the
 * users with their hashes and legacy ids through the bulk-import API or the per-user endpoints. Re-runnable from
 * any point: users already in SuperTokens are skipped and never changed, half-made ones are finished.
 */
export async function runImport(options: ImportOptions, ioOptions: ImportIo = {}): Promise<ImportReport> {
  const io: Required<ImportIo> = {
    stdout: ioOptions.stdout ?? process.stdout,
    stderr: ioOptions.stderr ?? process.stderr,
    progress: ioOptions.progress ?? "auto",
  };
  const config = resolveImportOptions(options);
  importLog("config %O", redacted(config));
  const startedAt = new Date().toISOString();
  // What the report says if the run stops: whatever was known by then (issue 14: even unreadable input).
  let mode: ImportReport["mode"] = config.mode;
  let input = 0;
  let warnings: Warning[] = [];
  const notes: string[] = [];
  const tally = new Tally();
  let progress: Progress | undefined;
  const base = () => ({ dryRun: config.dryRun, mode, target: config.core, startedAt, warnings, notes });
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
    const rows = await readRows(config);
    const chosen = config.mode === "per-user" || !support.offered ? "per-user" : "bulk";
    mode = chosen;
    input = rows.length;
    importLog("mode %s (%s)", chosen, support.offered ? "bulk import offered" : support.why);
    const inputIds = new Set(rows.filter((r): r is SourceUser => !("reason" in r)).map((r) => r.id));

    if (chosen === "bulk") {
      // Users a killed run queued are still being processed; the plan must see them as they end up.
      const pending = await pendingCount(client);
      if (pending > 0 && config.dryRun) {
        notes.push(
          `the core's bulk-import queue holds ${pending} users not yet processed; the plan can change once they are.`,
        );
      } else if (pending > 0) {
        io.stderr.write(`import: waiting for ${pending} users already queued in the core to be processed\n`);
        await waitForQueue(client, 0, config.stallTimeoutMs, () => {});
      }
      // Failed queue rows of these users are earlier attempts; this run supersedes them.
      const stale = await listFailed(client, inputIds);
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
    const plan = planImport(rows, existing);
    warnings = plan.warnings;
    if (chosen === "per-user" && plan.candidates.some((c) => c.timeJoined !== undefined)) {
      notes.push("the per-user endpoints cannot set time joined: imported users get the time of the import.");
    }
    for (const o of plan.decided) tally.add(o);
    importLog(
      "plan: %d to import, %d decided (%d skipped, %d failed)",
      plan.candidates.length,
      tally.done,
      tally.skipped,
      tally.failed,
    );
    const shown = pickProgress(io);
    progress = shown;
    const tick = () => shown.update(tally.done, tally);
    shown.start(rows.length, tally.done);

    if (config.dryRun) {
      for (const c of plan.candidates) tally.add({ kind: "imported", row: c.row, id: c.id });
    } else {
      await importCandidates(client, config, chosen, plan.candidates, tally, tick, shown, (m) =>
        io.stderr.write(`import: ${m}\n`),
      );
    }
    tick();
  } catch (err) {
    progress?.stop();
    await flushed(io.stderr);
    if (config.report) {
      await writeReport(config.report, tally.report(base(), input, (err as Error).message)).catch(() => {});
    }
    throw err;
  }
  progress.stop();
  // Progress goes to stderr, the summary to stdout: the summary comes last wherever both end up.
  await flushed(io.stderr);
  const report = tally.report(base(), input);
  if (config.report) await writeReport(config.report, report);
  io.stdout.write(summary(report, config.report));
  return report;
}

async function importCandidates(
  client: CoreClient,
  config: ImportConfig,
  mode: "bulk" | "per-user",
  candidates: Candidate[],
  tally: Tally,
  tick: () => void,
  progress: Progress,
  notify: (message: string) => void,
): Promise<void> {
  // Half-made users and users the bulk import refused are checked against the live state again; the others
  // were checked against the snapshot just taken.
  const one = async (c: Candidate, bulkError?: string) => {
    let outcome: Outcome = await importOneUser(client, c, c.resume || bulkError !== undefined);
    if (bulkError !== undefined && outcome.kind === "failed")
      outcome = { ...outcome, detail: `bulk import: ${bulkError}; then ${outcome.detail}` };
    tally.add(outcome);
    tick();
  };
  // Half-made users (from a killed per-user run) are finished one by one in either mode: a bulk import of the
  // same legacy id would leave their placeholder behind.
  const perUser = mode === "bulk" ? candidates.filter((c) => c.resume) : candidates;
  await pool(perUser, config.concurrency, (c) => one(c));
  if (mode === "per-user") return;

  const queued = candidates.filter((c) => !c.resume);
  if (queued.length === 0) return;
  const before = tally.done;
  // The outcomes are known once the queue drained; meanwhile progress shows the queue being processed (issue 14).
  const run = await queueUsers(
    client,
    queued,
    config.batchSize,
    config.stallTimeoutMs,
    (settled, inQueue) =>
      progress.update(before + settled, {
        imported: tally.imported,
        skipped: tally.skipped,
        failed: tally.failed,
        queue: { queued: inQueue, processed: settled },
      }),
    notify,
  );
  for (const o of run.rejected) tally.add(o);
  // A failed row means the core refused the user when it processed it, most often because the email or the
  // legacy id appeared in SuperTokens after the plan was made. Each one is decided again against the live state.
  const failedRows = await listFailed(client, run.accepted);
  await removeRows(
    client,
    failedRows.map((r) => r.id),
  );
  const retry = new Map(failedRows.map((r) => [r.externalUserId!, r.errorMessage ?? "failed"]));
  for (const c of run.accepted.values()) if (!retry.has(c.id)) tally.add({ kind: "imported", row: c.row, id: c.id });
  tick();
  await pool([...retry.keys()], config.concurrency, (id) => one(run.accepted.get(id)!, retry.get(id)));
}
