// The dev core's session throughput against the ceiling set by RSA signing on the same machine (issue goal:
// session creates ≥ 0.8 × raw RS256 sign rate, i.e. HTTP, JSON and storage cost at most a fifth).
import { generateKeyPairSync, sign, verify } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { startCoreProcess, startServerProcess, type CoreProcess } from "./core-process.js";
import { measureHttp, type LoadRow } from "./http-load.js";
import { accessTokenSigningInput } from "./token-shape.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const createGoal = 0.8;
const poolSize = 2000;
const headers = { "cdi-version": "5.4" };
const here = path.dirname(fileURLToPath(import.meta.url));

interface Rate {
  perSecond: number;
  perCpuSecond: number;
}

/** Calls of `op` per second of wall time and per CPU-second of this process, after a short warm-up. */
function rate(op: () => void, seconds: number): Rate {
  const warmEnd = performance.now() + Math.min(300, seconds * 100);
  while (performance.now() < warmEnd) op();
  let calls = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    op();
    calls++;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpuStart);
  return { perSecond: (calls * 1000) / (now - start), perCpuSecond: (calls * 1e6) / (cpu.user + cpu.system) };
}

const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingInput = accessTokenSigningInput();
const rawSign = (seconds: number) => rate(() => sign("sha256", signingInput, privateKey), seconds);

const createBody = (userId: string) =>
  JSON.stringify({
    userId,
    userDataInJWT: {},
    userDataInDatabase: {},
    enableAntiCsrf: false,
    useDynamicSigningKey: true,
  });
const isOk = (body: string) => body.startsWith('{"status":"OK"');

async function createTokens(url: string, count: number): Promise<string[]> {
  const tokens: string[] = [];
  const worker = async () => {
    while (tokens.length < count) {
      const res = await fetch(`${url}/public/recipe/session`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: createBody(`pool-${tokens.length}`),
      });
      const body = (await res.json()) as { status: string; accessToken?: { token: string } };
      if (body.status !== "OK" || !body.accessToken)
        throw new Error(`session create for the token pool failed: ${JSON.stringify(body)}`);
      tokens.push(body.accessToken.token);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return tokens.slice(0, count);
}

async function withServer<T>(start: () => Promise<CoreProcess>, use: (server: CoreProcess) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

const pinning = (server: CoreProcess) =>
  server.cpu === undefined ? "server unpinned" : `server pinned to CPU ${server.cpu}`;

export async function bench(): Promise<BenchRow[]> {
  const seconds = phaseSeconds(5);
  const warmupSeconds = Math.min(1, seconds / 3);

  // Raw crypto first, alone on the machine, before any server process exists.
  const signBefore = rawSign(phaseSeconds(3));
  const signature = sign("sha256", signingInput, privateKey);
  const verifyRate = rate(() => verify("sha256", signingInput, publicKey, signature), Math.min(phaseSeconds(1), 1));

  const floor = await withServer(
    () => startServerProcess("sign floor server", path.join(here, "sign-floor-server.ts")),
    async (server) => {
      const row = await measureHttp({
        name: "node:http floor: parse, sign, answer",
        url: server.url,
        path: "/",
        bodies: [createBody("bench-user")],
        expectBody: isOk,
        seconds,
        warmupSeconds,
        serverCpuSeconds: server.cpuSeconds,
      });
      row.note += `, ${pinning(server)}`;
      return row;
    },
  );

  const { creates, verifies } = await withServer(startCoreProcess, async (core) => {
    // The pool first: its first create generates the signing key (RSA key generation takes from 0.1 s to over a
    // second on a busy machine) and the rest warm the JIT, so no measured request waits for either.
    const tokens = await createTokens(core.url, poolSize);
    const creates = await measureHttp({
      name: "dev core: session create (HTTP)",
      url: core.url,
      path: "/public/recipe/session",
      headers,
      bodies: [createBody("bench-user")],
      expectBody: isOk,
      seconds,
      warmupSeconds,
      serverCpuSeconds: core.cpuSeconds,
    });
    creates.note += `, ${pinning(core)}`;
    const verifies = await measureHttp({
      name: "dev core: verify, checkDatabase (HTTP)",
      url: core.url,
      path: "/recipe/session/verify",
      headers,
      bodies: tokens.map((accessToken) =>
        JSON.stringify({ accessToken, doAntiCsrfCheck: false, enableAntiCsrf: false, checkDatabase: true }),
      ),
      expectBody: isOk,
      seconds,
      warmupSeconds,
      serverCpuSeconds: core.cpuSeconds,
    });
    verifies.note += `, pool of ${tokens.length} tokens`;
    return { creates, verifies };
  });

  // Sampled again after the HTTP phases: on a shared machine the sign rate drifts, and the ratios use the mean.
  const signAfter = rawSign(Math.min(phaseSeconds(1), 1));
  const signMean: Rate = {
    perSecond: (signBefore.perSecond + signAfter.perSecond) / 2,
    perCpuSecond: (signBefore.perCpuSecond + signAfter.perCpuSecond) / 2,
  };
  const drift = Math.abs(signBefore.perSecond - signAfter.perSecond) / signMean.perSecond;

  // The same ratios per CPU-second of the process doing the work: closer to what the server reaches with a core
  // to itself, and moved much less than the wall-clock ratios by other processes on the machine.
  const perCpu = (row: LoadRow, base: number | undefined) =>
    row.perCpuSecond === undefined || base === undefined
      ? ""
      : `per CPU-second: ${(row.perCpuSecond / base).toFixed(2)}×`;
  const ratio = (
    name: string,
    row: LoadRow,
    base: { perSecond: number; perCpuSecond?: number },
    note = "",
  ): BenchRow => ({
    name,
    value: row.value / base.perSecond,
    unit: "×",
    note: [note, perCpu(row, base.perCpuSecond)].filter(Boolean).join("; "),
  });
  const createRatio = creates.value / signMean.perSecond;
  const floorBase = { perSecond: floor.value, perCpuSecond: floor.perCpuSecond };

  return [
    {
      name: "node:crypto RS256 sign (raw)",
      value: signMean.perSecond,
      unit: "ops/s",
      note:
        `2048-bit key, ${signingInput.length}-byte input, 1 thread, ${Math.round(signMean.perCpuSecond)} per CPU-s; ` +
        `before/after HTTP ${Math.round(signBefore.perSecond)}/${Math.round(signAfter.perSecond)}` +
        (drift > 0.1 ? " (machine busy: ratios unreliable)" : ""),
    },
    { name: "node:crypto RS256 verify (raw)", value: verifyRate.perSecond, unit: "ops/s", note: "for scale; 1 thread" },
    floor,
    creates,
    verifies,
    ratio(
      "creates / raw sign",
      creates,
      signMean,
      `goal ≥ ${createGoal}×: ${createRatio >= createGoal ? "PASS" : "MISS"}`,
    ),
    ratio("floor / raw sign", floor, signMean, "best any 1-core node:http server does here"),
    ratio("creates / floor", creates, floorBase, "share of the floor the dev core keeps"),
    ratio("verifies / raw sign", verifies, signMean),
  ];
}
