import autocannon from "autocannon";
import type { BenchRow } from "./types.js";

export interface LoadOptions {
  name: string;
  url: string;
  path: string;
  headers?: Record<string, string>;
  /** Default: POST when there are bodies, else GET. */
  method?: "GET" | "POST";
  /** JSON request bodies, used round-robin across all connections (one body when every request is the same). */
  bodies?: string[];
  /** A response body that fails this is counted as a mismatch, and any mismatch fails the bench. */
  expectBody: (body: string) => boolean;
  seconds: number;
  /** Unrecorded run first, so the figure excludes JIT warm-up and first-use work such as key generation. */
  warmupSeconds: number;
  connections?: number;
  /** CPU seconds used so far by the server process; when given, the row reports the server's CPU cost. */
  serverCpuSeconds?: () => number | undefined;
}

export interface LoadRow extends BenchRow {
  /** Requests per CPU-second of the server process, when `serverCpuSeconds` was given. */
  perCpuSecond?: number;
}

async function fire(o: LoadOptions, seconds: number) {
  let next = 0;
  const bodies = o.bodies ?? [];
  const method = o.method ?? (bodies.length ? "POST" : "GET");
  const result = await autocannon({
    url: o.url,
    connections: o.connections ?? 10,
    pipelining: 1, // autocannon keeps each connection alive; one request in flight per connection
    duration: seconds,
    method,
    headers: bodies.length ? { "content-type": "application/json", ...o.headers } : { ...o.headers },
    body: bodies[0],
    requests: [
      {
        path: o.path,
        method,
        setupRequest: (req) => (bodies.length <= 1 ? req : { ...req, body: bodies[next++ % bodies.length] }),
      },
    ],
    verifyBody: (body) => o.expectBody(String(body)),
  });
  const failed = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (failed > 0) {
    throw new Error(
      `${o.name}: ${failed} failed requests (errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ` +
        `${result.non2xx}, ` +
        `unexpected body ${result.mismatches}); the figure would be meaningless`,
    );
  }
  return result;
}

/** Closed-loop load with autocannon; requests/s is completed requests over the measured wall time. */
export async function measureHttp(o: LoadOptions): Promise<LoadRow> {
  if (o.warmupSeconds > 0) await fire(o, o.warmupSeconds);
  const cpuBefore = o.serverCpuSeconds?.();
  const r = await fire(o, o.seconds);
  const cpuAfter = o.serverCpuSeconds?.();
  const row: LoadRow = {
    name: o.name,
    value: r.requests.total / r.duration,
    unit: "req/s",
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    note: `${r.connections} conns, ${r.duration.toFixed(1)} s`,
  };
  if (cpuBefore !== undefined && cpuAfter !== undefined && cpuAfter > cpuBefore) {
    const cpu = cpuAfter - cpuBefore;
    row.perCpuSecond = r.requests.total / cpu;
    // Below ~95 % the server was waiting for the load generator or for a CPU other processes held.
    row.note += `, server CPU ${Math.round((100 * cpu) / r.duration)} %`;
  }
  return row;
}

/**
 * A fixed number of requests (`amount`), timed from the start to the last response. autocannon itself ends such
 * a run on its next one-second sample tick, so its own duration (or the wall time around it) rounds every run up
 * to whole seconds: 2,000 requests done in 4.1 s read as 5 s, and two sides of a ratio look alike.
 */
export async function fireFixed(
  options: autocannon.Options & { amount: number },
): Promise<{ result: autocannon.Result; seconds: number }> {
  const started = process.hrtime.bigint();
  let last = started;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (err: unknown, res) =>
      err ? reject(err instanceof Error ? err : new Error(`autocannon failed: ${JSON.stringify(err)}`)) : resolve(res),
    );
    instance.on("response", () => {
      last = process.hrtime.bigint();
    });
  });
  return { result, seconds: Number(last - started) / 1e9 };
}
