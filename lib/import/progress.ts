import { Writable } from "node:stream";
import cliProgress from "cli-progress";

export interface ProgressCounts {
  imported: number;
  skipped: number;
  failed: number;
  /**
   * Bulk mode, while the core works through its queue: users queued so far and how many of them it has processed.
   * Their outcomes are counted once the queue drained (a processed user can still have failed).
   */
  queue?: { queued: number; processed: number };
}

/** Where progress goes: a bar with rate and ETA on a terminal, plain lines otherwise (logs, CI, pipes). */
export interface Progress {
  start(total: number, alreadyDone: number): void;
  update(done: number, counts: ProgressCounts): void;
  stop(): void;
}

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

function rateOf(done: number, base: number, since: number): number {
  const seconds = (Date.now() - since) / 1000;
  return seconds > 0 ? (done - base) / seconds : 0;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * One line per percent of progress or per second, whichever comes first; users decided before the first write
 * (already imported, unsupported hashes) count as done but not towards the rate.
 */
export function lineProgress(stream: ProgressStream): Progress {
  let total = 0;
  let base = 0;
  let since = 0;
  let lastLine = 0;
  let lastDone = -1;
  let printed = "";
  let latest: { done: number; counts: ProgressCounts } = { done: 0, counts: { imported: 0, skipped: 0, failed: 0 } };
  const state = (done: number, c: ProgressCounts) =>
    `${done} ${c.imported} ${c.skipped} ${c.failed} ${c.queue?.queued} ${c.queue?.processed}`;
  const line = (done: number, c: ProgressCounts) => {
    const rate = rateOf(done, base, since);
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const eta = rate > 0 ? formatEta((total - done) / rate) : "?";
    const queue = c.queue ? `; bulk import: queued ${c.queue.queued}, processed by the core ${c.queue.processed}` : "";
    stream.write(
      `import: ${done}/${total} (${pct}%) imported ${c.imported}, skipped ${c.skipped}, failed ${c.failed}${queue}; ` +
        `${Math.round(rate)} users/s, eta ${eta}\n`,
    );
    lastLine = Date.now();
    lastDone = done;
    printed = state(done, c);
  };
  return {
    start(t, alreadyDone) {
      total = t;
      base = alreadyDone;
      since = Date.now();
    },
    update(done, counts) {
      latest = { done, counts: { ...counts } };
      if (done === lastDone) return;
      const step = Math.max(1, Math.floor(total / 100));
      if (Math.floor(done / step) !== Math.floor(lastDone / step) || Date.now() - lastLine >= 1000) line(done, counts);
    },
    stop() {
      // The last counts (bulk results are tallied after the queue drained) even when `done` did not move.
      if (state(latest.done, latest.counts) !== printed) line(latest.done, latest.counts);
    },
  };
}

export function barProgress(stream: NodeJS.WritableStream): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        "import |{bar}| {percentage}% | {value}/{total} users | {rate} users/s | ETA {eta_formatted} | skipped " +
        "{skipped} failed {failed}",
      etaBuffer: 50,
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let base = 0;
  let since = 0;
  // The bar hides the cursor; an interrupted run must give it back before it dies of the signal.
  const onSignal = (signal: NodeJS.Signals) => {
    bar.stop();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM"];
  return {
    start(total, alreadyDone) {
      base = alreadyDone;
      since = Date.now();
      for (const s of signals) process.once(s, onSignal);
      bar.start(total, alreadyDone, { rate: 0, skipped: 0, failed: 0 });
    },
    update(done, counts) {
      bar.update(done, { rate: Math.round(rateOf(done, base, since)), skipped: counts.skipped, failed: counts.failed });
    },
    stop() {
      for (const s of signals) process.removeListener(s, onSignal);
      bar.stop();
    },
  };
}

export const silentProgress: Progress = { start() {}, update() {}, stop() {} };

/**
 * Resolves once everything written to `stream` so far has reached it. A pipe's writes can land after a later
 * write to another stream (issue 14: progress lines after the summary); a Writable calls back in write order.
 */
export function flushed(stream: ProgressStream): Promise<void> {
  if (!(stream instanceof Writable) || stream.destroyed || !stream.writable) return Promise.resolve();
  return new Promise((resolve) => stream.write("", () => resolve()));
}
