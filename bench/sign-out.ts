// What making sign-out take effect at once costs: requests/s of `verifySession()` (a copied access token stays
// valid after sign-out until it expires) against `verifySession({ checkDatabase: true })` (refused at once; one
// core call per request), same app, same session, same run. spec/session/sign-out.spec.ts shows the semantics.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startCoreProcess, startServerProcess } from "./core-process.js";
import { measureHttp } from "./http-load.js";
import { phaseSeconds, type BenchRow } from "./types.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The app in its own process, unpinned (the dev core it calls is pinned to one CPU by startCoreProcess). */
function startApp(coreUrl: string) {
  return startServerProcess("bench app", path.join(root, "bench/sign-out-server.ts"), [coreUrl], { pin: false });
}

export async function bench(): Promise<BenchRow[]> {
  const core = await startCoreProcess();
  const app = await startApp(core.url);
  try {
    const login = await fetch(`${app.url}/login/bench-user`, { method: "POST" });
    if (!login.ok) throw new Error(`sign-in failed: ${login.status}`);
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const seconds = phaseSeconds(5);
    const expectUser = (b: string) => b.includes('"userId":"bench-user"');
    const measure = async (name: string, route: string) => {
      const coreBefore = core.cpuSeconds() ?? NaN;
      const appBefore = app.cpuSeconds() ?? NaN;
      const started = Date.now();
      const row = await measureHttp({
        name,
        url: app.url,
        path: route,
        headers: { cookie },
        expectBody: expectUser,
        seconds,
        warmupSeconds: 1,
      });
      // Warm-up included: the share of the phase's wall time each server process spent on CPU.
      const wall = (Date.now() - started) / 1000;
      const share = (cpu: number) => (Number.isFinite(cpu) ? `${Math.round((100 * cpu) / wall)} %` : "n/a");
      const coreCpu = (core.cpuSeconds() ?? NaN) - coreBefore;
      row.note += `, app CPU ${share((app.cpuSeconds() ?? NaN) - appBefore)}, core CPU ${share(coreCpu)}`;
      return row;
    };
    // Alternate the two sides twice and keep each side's best, so drift in machine load hits both alike.
    let local: BenchRow | undefined;
    let db: BenchRow | undefined;
    for (let i = 0; i < 2; i++) {
      const l = await measure("verifySession() (sign-out: token valid until expiry)", "/local/me");
      const d = await measure("verifySession({ checkDatabase: true }) (sign-out at once)", "/db/me");
      if (!local || l.value > local.value) local = l;
      if (!db || d.value > db.value) db = d;
    }
    const ratio = db!.value / local!.value;
    const p50 = (r: BenchRow) => r.p50Ms ?? NaN;
    const latency = `p50 ${p50(local!)} → ${p50(db!)} ms at 10 conns`;
    return [
      local!,
      db!,
      {
        name: "checkDatabase / plain verifySession",
        value: ratio,
        unit: "×",
        note: `${latency}; one core call a request (POST /recipe/session/verify)`,
      },
    ];
  } finally {
    await app.close();
    await core.close();
  }
}
