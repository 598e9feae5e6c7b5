// The dev core's session throughput against the ceiling set by RSA signing on the same machine (issue goal:
// session creates ≥ 0.8 × raw RS256 sign rate, i.e. HTTP, JSON and storage cost at most a fifth).
import { generateKeyPairSync, randomUUID, sign, verify, createHash, type KeyObject } from "node:crypto";
import { performance } from "node:perf_hooks";
import { startCoreProcess } from "./core-process.js";
import { measureHttp } from "./http-load.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const createGoal = 0.8;
const poolSize = 2000;
const headers = { "cdi-version": "5.4" };

/** The signing input of a v5 access token as the dev core mints it, so the payload size matches (~520 bytes). */
function accessTokenSigningInput(): Buffer {
  const header = { kid: `d-${Date.now()}`, typ: "JWT", version: "5", alg: "RS256" };
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: "bench-user", exp: now + 3600, iat: now, tId: "public", rsub: "bench-user", sessionHandle: randomUUID(),
    refreshTokenHash1: createHash("sha256").update(randomUUID()).digest("hex"), parentRefreshTokenHash1: null, antiCsrfToken: null,
  };
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return Buffer.from(`${b64(header)}.${b64(payload)}`);
}

/** Calls of `op` per second of wall time and per CPU-second of this process, after a short warm-up. */
function rate(op: () => void, seconds: number): { perSecond: number; perCpuSecond: number } {
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

function rawCrypto(seconds: number): { signRow: BenchRow; signPerCpuSecond: number; verifyRow: BenchRow } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 }) as { privateKey: KeyObject; publicKey: KeyObject };
  const data = accessTokenSigningInput();
  const signature = sign("sha256", data, privateKey);
  const s = rate(() => sign("sha256", data, privateKey), seconds);
  const v = rate(() => verify("sha256", data, publicKey, signature), Math.min(seconds, 1));
  return {
    signPerCpuSecond: s.perCpuSecond,
    signRow: { name: "node:crypto RS256 sign (raw)", value: s.perSecond, unit: "ops/s", note: `2048-bit KeyObject, ${data.length}-byte input, 1 thread, ${Math.round(s.perCpuSecond)} per CPU-s` },
    verifyRow: { name: "node:crypto RS256 verify (raw)", value: v.perSecond, unit: "ops/s", note: "for scale; 1 thread" },
  };
}

const createBody = (userId: string) =>
  JSON.stringify({ userId, userDataInJWT: {}, userDataInDatabase: {}, enableAntiCsrf: false, useDynamicSigningKey: true });

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
      if (body.status !== "OK" || !body.accessToken) throw new Error(`session create for the token pool failed: ${JSON.stringify(body)}`);
      tokens.push(body.accessToken.token);
    }
  };
  await Promise.all(Array.from({ length: 10 }, worker));
  return tokens.slice(0, count);
}

export async function bench(): Promise<BenchRow[]> {
  // Raw crypto first, alone on the machine, before the server process exists.
  const { signRow, signPerCpuSecond, verifyRow } = rawCrypto(phaseSeconds(3));

  const core = await startCoreProcess();
  try {
    const seconds = phaseSeconds(5);
    const warmupSeconds = Math.min(1, seconds / 3);
    const isOk = (body: string) => body.startsWith('{"status":"OK"');
    const pinned = core.cpu === undefined ? "server unpinned" : `server pinned to CPU ${core.cpu}`;

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
    creates.note += `, ${pinned}`;

    const tokens = await createTokens(core.url, poolSize);
    const verifies = await measureHttp({
      name: "dev core: verify, checkDatabase (HTTP)",
      url: core.url,
      path: "/recipe/session/verify",
      headers,
      bodies: tokens.map((accessToken) => JSON.stringify({ accessToken, doAntiCsrfCheck: false, enableAntiCsrf: false, checkDatabase: true })),
      expectBody: isOk,
      seconds,
      warmupSeconds,
      serverCpuSeconds: core.cpuSeconds,
    });
    verifies.note += `, pool of ${tokens.length} tokens`;

    const createRatio = creates.value / signRow.value;
    // The same ratio per CPU-second: what the server would reach with its core to itself. It stays put when
    // other processes share the machine, which moves the wall-clock figures by ±30 % on a busy 2-core box.
    const perCpu = (row: typeof creates) =>
      row.perCpuSecond === undefined ? "" : `per CPU-second: ${(row.perCpuSecond / signPerCpuSecond).toFixed(2)}×`;
    return [
      signRow,
      verifyRow,
      creates,
      verifies,
      {
        name: "creates / raw sign",
        value: createRatio,
        unit: "×",
        note: `goal ≥ ${createGoal}×: ${createRatio >= createGoal ? "PASS" : "MISS"}; ${perCpu(creates)}`,
      },
      { name: "verifies / raw sign", value: verifies.value / signRow.value, unit: "×", note: perCpu(verifies) },
    ];
  } finally {
    await core.close();
  }
}
