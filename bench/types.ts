/** One line of the results table. A bench module returns these; `run.ts` prints them. */
export interface BenchRow {
  /** What was measured, e.g. "dev core: session create (HTTP)". */
  name: string;
  value: number;
  /** "req/s", "ops/s", "×" (a ratio) … */
  unit: string;
  p50Ms?: number;
  p99Ms?: number;
  /** Free text: goal verdicts (PASS / MISS), setup details, caveats. */
  note?: string;
}

/** A bench module's entry point: `export const bench: Bench = async () => [...]`. */
export type Bench = () => Promise<BenchRow[]>;

/**
 * Seconds for one timed phase. BENCH_DURATION (seconds) overrides every phase's default, e.g.
 * `BENCH_DURATION=1` for a smoke run or `BENCH_DURATION=20` for steadier figures.
 */
export function phaseSeconds(defaultSeconds: number): number {
  const raw = process.env.BENCH_DURATION;
  if (raw === undefined || raw === "") return defaultSeconds;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(
      `BENCH_DURATION must be a positive number of seconds; received ${JSON.stringify(raw)}. Unset it to use the ` +
        `defaults.`,
    );
  }
  return n;
}
