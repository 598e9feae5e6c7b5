// `supertokens-migrate import` into the dev core (issue goal: ≥ 2,000 users/s for 100,000 bcrypt users, no
// re-hashing). The CLI runs as its own process, exactly as an operator runs it, against the dev core in another
// process; the figure is users over the CLI's whole wall time, start-up and file reading included.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import bcrypt from "bcrypt";
import { startCoreProcess, type CoreProcess } from "./core-process.js";
import type { BenchRow } from "./types.js";

const goal = 2000;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const headers = { "content-type": "application/json", "cdi-version": "5.4" };

function count(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${name} must be a positive integer; received ${JSON.stringify(raw)}. Unset it for ${fallback}.`);
  return n;
}

/**
 * Users with real cost-10 bcrypt hashes. Hashing 100,000 passwords would take minutes and measure bcrypt, not the
 * import, so a few distinct passwords share their hashes while every user has their own id and email.
 */
async function writeUsers(file: string, n: number, prefix: string): Promise<{ email: string; password: string }> {
  const passwords = ["Bench-pw-0", "Bench-pw-1", "Bench-pw-2", "Bench-pw-3"];
  const hashes = await Promise.all(passwords.map((p) => bcrypt.hash(p, 10)));
  const lines: string[] = [];
  const joined = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        id: `${prefix}-${i}`,
        email: `${prefix}.${i}@example.com`,
        password_hash: hashes[i % hashes.length],
        email_verified: i % 2 === 0,
        time_joined: joined + i,
      }),
    );
  }
  await writeFile(file, lines.join("\n") + "\n");
  return { email: `${prefix}.0@example.com`, password: passwords[0] };
}

async function createApp(url: string, appId: string): Promise<string> {
  const res = await fetch(`${url}/recipe/multitenancy/app/v2`, {
    method: "PUT",
    headers,
    body: JSON.stringify({ appId, coreConfig: {} }),
  });
  if (((await res.json()) as { status: string }).status !== "OK") throw new Error(`creating app ${appId} failed`);
  return `${url}/appid-${appId}`;
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "lib/cli/main.ts"), "import", ...args], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (c: string) => (stderr = (stderr + c).slice(-4000)));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

interface Run {
  seconds: number;
  coreCpuSeconds: number | undefined;
}

/** One import, checked: every user counted by the core, and a user signs in with the hash as given. */
async function importInto(core: CoreProcess, dir: string, n: number, mode: "bulk" | "per-user"): Promise<Run> {
  const appId = `bench-import-${mode}-${Date.now()}`;
  const uri = await createApp(core.url, appId);
  const file = path.join(dir, `${mode}.ndjson`);
  const probe = await writeUsers(file, n, appId);
  const report = path.join(dir, `${mode}-report.json`);
  const cpuBefore = core.cpuSeconds();
  const start = performance.now();
  const args = ["--file", file, "--core", uri, "--mode", mode, "--report", report];
  const res = await runCli(mode === "bulk" ? [...args, "--batch-size", "10000"] : [...args, "--concurrency", "16"]);
  const seconds = (performance.now() - start) / 1000;
  const cpuAfter = core.cpuSeconds();
  if (res.code !== 0) throw new Error(`import (${mode}) exited with ${res.code}: ${res.stderr}`);
  const imported = (JSON.parse(await readFile(report, "utf8")) as { counts: { imported: number } }).counts.imported;
  const counted = ((await (await fetch(`${uri}/users/count`, { headers })).json()) as { count: number }).count;
  if (imported !== n || counted !== n)
    throw new Error(`import (${mode}): report says ${imported}, core counts ${counted}, expected ${n}`);
  const signIn = await fetch(`${uri}/public/recipe/signin`, { method: "POST", headers, body: JSON.stringify(probe) });
  const body = (await signIn.json()) as { status: string; user?: { id: string } };
  if (body.status !== "OK" || body.user?.id !== `${appId}-0`)
    throw new Error(`import (${mode}): sign-in with the imported hash failed: ${JSON.stringify(body)}`);
  return {
    seconds,
    coreCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}

export async function bench(): Promise<BenchRow[]> {
  const bulkUsers = count("BENCH_IMPORT_USERS", 100_000);
  const perUserUsers = count("BENCH_IMPORT_PER_USER_USERS", Math.min(2000, bulkUsers));
  const dir = await mkdtemp(path.join(os.tmpdir(), "bench-import-"));
  const core = await startCoreProcess();
  try {
    const pinned = core.cpu === undefined ? "dev core not pinned" : `dev core pinned to CPU ${core.cpu}`;
    const cpuNote = (r: Run, n: number) =>
      r.coreCpuSeconds ? `; ${Math.round(n / r.coreCpuSeconds).toLocaleString("en-US")} users per core CPU-second` : "";
    const bulk = await importInto(core, dir, bulkUsers, "bulk");
    const perUser = await importInto(core, dir, perUserUsers, "per-user");
    const bulkRate = bulkUsers / bulk.seconds;
    // The same bulk import against the queue processed as a real core's cron does it: a tick, rounds of 8,000
    // users, 1 s pauses. The interval is cut from the core's fixed 300 s to 1 s: a real core adds up to one whole
    // interval before its first tick, which the note adds back.
    const cronCore = await startCoreProcess({
      dev_core_bulk_import_cron_interval_ms: 1000,
      dev_core_bulk_import_round_pause_ms: 1000,
    });
    let cron: Run;
    try {
      cron = await importInto(cronCore, dir, bulkUsers, "bulk");
    } finally {
      await cronCore.close();
    }
    const rounds = Math.ceil(bulkUsers / 8000);
    return [
      {
        name: `import: ${bulkUsers.toLocaleString("en-US")} bcrypt users, bulk-import API (CLI end to end)`,
        value: bulkRate,
        unit: "users/s",
        note:
          `goal ≥ ${goal.toLocaleString("en-US")} users/s: ${bulkRate >= goal ? "PASS" : "MISS"}; ` +
          `${bulk.seconds.toFixed(1)} s wall incl. CLI start-up${cpuNote(bulk, bulkUsers)}; ${pinned}`,
      },
      {
        name: `import: ${bulkUsers.toLocaleString("en-US")} bcrypt users, bulk-import API, real-core cron (1 s tick)`,
        value: bulkUsers / cron.seconds,
        unit: "users/s",
        note:
          `${cron.seconds.toFixed(1)} s wall: ${rounds} rounds of up to 8,000 users, ${rounds - 1} s of pauses; a ` +
          `real core's 300 s interval adds up to 300 s before the first round`,
      },
      {
        name: `import: ${perUserUsers.toLocaleString("en-US")} bcrypt users, per-user endpoints (CLI end to end)`,
        value: perUserUsers / perUser.seconds,
        unit: "users/s",
        note:
          `for comparison (cores without bulk import); 16 users at once, 4 to 6 requests ` +
          `each${cpuNote(perUser, perUserUsers)}`,
      },
    ];
  } finally {
    await core.close();
    await rm(dir, { recursive: true, force: true });
  }
}
