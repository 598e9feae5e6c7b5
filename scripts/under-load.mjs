#!/usr/bin/env node
// Run spec files while every CPU is kept busy by competing processes: "a slow machine" on demand.
//
//   node scripts/under-load.mjs [--runs N] [--load N] [--log-dir DIR] [spec files...]
//
// Defaults: 1 run, 2 busy processes per core, the demo browser suite and the dualSession suites. Each run is
// `node scripts/test.mjs --test-concurrency=1 <files>`, which starts its own Redis and PostgreSQL as npm test
// does; its output goes to DIR/run-<n>.log, and a summary
// (pass/fail and duration per run) is printed at the end. Exit code 0 only when every run passed.
//
// The busy processes are always stopped: on the end of the runs, on an error, on Ctrl-C or SIGTERM; and each one
// also exits by itself when its parent (this script) is gone, so even a SIGKILLed harness leaves no load behind.
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync, createWriteStream } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: "string", default: "1" },
    load: { type: "string" },
    "log-dir": { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log("Usage: node scripts/under-load.mjs [--runs N] [--load N] [--log-dir DIR] [spec files...]");
  process.exit(0);
}

const cores = availableParallelism();
const runs = Number(values.runs);
const load = values.load === undefined ? 2 * cores : Number(values.load);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer; received ${values.runs}`);
if (!Number.isInteger(load) || load < 0) throw new Error(`--load must be an integer >= 0; received ${values.load}`);
const sessionSpecs = readdirSync(path.join(root, "spec/session"))
  .filter((f) => /^dual-session.*\.spec\.ts$/.test(f))
  .map((f) => `spec/session/${f}`);
const files = positionals.length > 0 ? positionals : ["spec/demo/demo-browser.spec.ts", ...sessionSpecs];
const logDir = path.resolve(values["log-dir"] ?? path.join(tmpdir(), `under-load-${process.pid}`));
mkdirSync(logDir, { recursive: true });

// A busy loop that checks, every few million iterations, whether its parent is still this script.
const busyLoop =
  `const parent = ${process.pid}; for (let i = 0; ; i++) if (i % 5e6 === 0 && process.ppid !== ` +
  `parent) process.exit(0);`;
const busy = [];
function startLoad() {
  for (let i = 0; i < load; i++) busy.push(spawn(process.execPath, ["-e", busyLoop], { stdio: "ignore" }));
}
function stopLoad() {
  for (const child of busy.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
process.on("exit", stopLoad);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    stopLoad();
    process.exit(130);
  });
}

function runOnce(n) {
  const file = path.join(logDir, `run-${n}.log`);
  const out = createWriteStream(file);
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(root, "scripts/test.mjs"), "--test-concurrency=1", ...files], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (chunk) => {
      text += chunk;
      out.write(chunk);
    });
  }
  return new Promise((resolve) => {
    child.on("close", (code, signal) => {
      out.end();
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
      const failed = [...text.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
      resolve({
        run: n,
        ok: code === 0,
        code,
        signal,
        seconds: Math.round((Date.now() - started) / 100) / 10,
        tests: count("tests"),
        pass: count("pass"),
        fail: count("fail"),
        failed,
        log: file,
      });
    });
  });
}

console.log(
  `under load: ${load} busy processes on ${cores} cores; ${runs} run(s) of ${files.join(" ")}; logs in ${logDir}`,
);
const results = [];
try {
  startLoad();
  for (let n = 1; n <= runs; n++) {
    const result = await runOnce(n);
    results.push(result);
    console.log(
      `run ${n}: ${result.ok ? "PASS" : "FAIL"} in ${result.seconds} s (${result.pass}/${result.tests} tests ` +
        `passed)${result.ok ? "" : `; failed: ${result.failed.join(" | ")}; log ${result.log}`}`,
    );
  }
} finally {
  stopLoad();
}
const passed = results.filter((r) => r.ok).length;
const seconds = results.map((r) => r.seconds);
const summary = {
  load,
  cores,
  files,
  runs: results.length,
  passed,
  failed: results.length - passed,
  seconds,
  minSeconds: Math.min(...seconds),
  maxSeconds: Math.max(...seconds),
};
writeFileSync(path.join(logDir, "summary.json"), JSON.stringify({ ...summary, results }, null, 2) + "\n");
console.log(`summary: ${passed}/${results.length} runs passed; durations ${seconds.join(", ")} s`);
process.exit(passed === results.length ? 0 : 1);
