import { statusLog } from "./log.js";

/** How far a long read is: given to `onProgress`, and logged, at most every `PROGRESS_EVERY_MS` and once at the end. */
export interface StatusProgress {
  /** `legacy-users`: the users query, read through a cursor; `core-users`: the core's users, read a page at a time. */
  phase: "legacy-users" | "core-users";
  /** Rows (or users) read so far in this phase. */
  done: number;
  /** How many there are in all, when known before the phase (the core's count); else undefined. */
  total: number | undefined;
  /** Milliseconds since the phase began. */
  elapsedMs: number;
  /** Milliseconds left at the rate so far, when `total` is known; else undefined. */
  etaMs: number | undefined;
}

export const PROGRESS_EVERY_MS = 2000;

/** A reporter for one phase: `advance(n)` after each page, `finish()` at the end. */
export function progressOf(
  phase: StatusProgress["phase"],
  total: number | undefined,
  onProgress: ((p: StatusProgress) => void) | undefined,
  clock: () => number = Date.now,
) {
  const started = clock();
  let done = 0;
  let last = started;
  const report = () => {
    const elapsedMs = clock() - started;
    const rate = elapsedMs > 0 ? done / elapsedMs : 0;
    const etaMs =
      total === undefined ? undefined : done >= total ? 0 : rate > 0 ? Math.round((total - done) / rate) : undefined;
    statusLog(
      "%s: %d%s read in %d s%s",
      phase,
      done,
      total === undefined ? "" : ` of ${total}`,
      Math.round(elapsedMs / 1000),
      etaMs === undefined ? "" : `, about ${Math.ceil(etaMs / 1000)} s left`,
    );
    onProgress?.({ phase, done, total, elapsedMs, etaMs });
  };
  return {
    advance(n: number) {
      done += n;
      const now = clock();
      if (now - last >= PROGRESS_EVERY_MS) {
        last = now;
        report();
      }
    },
    finish: report,
  };
}

/** One line for an operator's terminal, e.g. "status: core users 302,000 of 1,000,000 (30%), about 71 s left". */
export function formatProgress(p: StatusProgress): string {
  const what = p.phase === "core-users" ? "core users" : "legacy users";
  const n = (x: number) => x.toLocaleString("en-US");
  const of =
    p.total === undefined ? "" : ` of ${n(p.total)} (${p.total ? Math.floor((100 * p.done) / p.total) : 100}%)`;
  const eta = p.etaMs === undefined ? "" : `, about ${Math.ceil(p.etaMs / 1000)} s left`;
  return `status: ${what} ${n(p.done)}${of} read in ${Math.round(p.elapsedMs / 1000)} s${eta}\n`;
}
