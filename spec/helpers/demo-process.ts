/**
 * The demo app as its users run it: `node --import tsx demo-app/main.ts`, a child process on a free port. Its
 * "restart with the migration on" is a real restart: the process exits, its embedded database is closed, and
 * the next one opens the same data directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface DemoProcess {
  url: string;
  /** Everything it printed so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, and wait for a clean exit (SIGKILL after 10 s). Resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface DemoProcessOptions {
  migration: boolean;
  dataDir: string;
  /** Seconds, for the in-process dev core. */
  accessTokenValidity?: number;
  /**
   * Extra environment. The runner's DATABASE_URL, REDIS_URL and SuperTokens variables are not passed on unless given
   * here.
   */
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

/** Variables that would switch the demo away from its embedded defaults. */
const switches = [
  "DATABASE_URL",
  "REDIS_URL",
  "SUPERTOKENS_CONNECTION_URI",
  "SUPERTOKENS_API_KEY",
  "MIGRATION",
  "PORT",
  "HOST",
  "DEMO_SCHEMA",
  "DEMO_CORE_SCHEMA",
  "DEMO_REDIS_PREFIX",
  "DEMO_DATA_DIR",
  "DEMO_ACCESS_TOKEN_VALIDITY",
];

export async function startDemoProcess(options: DemoProcessOptions): Promise<DemoProcess> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !switches.includes(k)) env[k] = v;
  Object.assign(env, options.env);
  const args = [
    "--import",
    "tsx",
    "demo-app/main.ts",
    options.migration ? "--migration" : "--legacy",
    "--port",
    "0",
    "--data-dir",
    options.dataDir,
  ];
  if (options.accessTokenValidity !== undefined)
    args.push("--access-token-validity", String(options.accessTokenValidity));
  const child: ChildProcess = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the demo did not start within ${options.startTimeoutMs ?? 60_000} ms:\n${output}`));
    }, options.startTimeoutMs ?? 60_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with code ${code} before listening:\n${output}`));
    });
  });

  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
