import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Everything the demo reads from its command line and environment, resolved once at start-up. */
export interface DemoConfig {
  /** `false`: the legacy app (express-session login). `true`: SuperTokens with dualSession() and legacyAuth(). */
  migration: boolean;
  /**
   * Started on the legacy app: its pages have the "Switch to SuperTokens" button, which moves this running process
   * to the migrated app. `false` with `--no-switch` (`npm run demo:legacy`): the old app alone, as it was.
   */
  switchable: boolean;
  port: number;
  host: string;
  /** Where the embedded PostgreSQL (PGlite) keeps its files, when `databaseUrl` is not set. */
  dataDir: string;
  /** A real PostgreSQL instead of the embedded one. */
  databaseUrl?: string;
  /** Schema of the demo's own tables (users, notes, session) on a real PostgreSQL. Default `public`. */
  schema: string;
  /** Schema the in-process dev core keeps its data in, on either database. */
  coreSchema: string;
  /** A real Redis for the legacy sessions (connect-redis) instead of the session table. */
  redisUrl?: string;
  redisPrefix: string;
  /** A real SuperTokens core instead of the in-process dev core. */
  connectionUri?: string;
  apiKey?: string;
  /** Seconds; only the in-process dev core can be told (a real core reads its own config.yaml). */
  accessTokenValidity?: number;
  /** express-session's secret: the legacy app's and, for dualSession(), the migrated app's. */
  sessionSecret: string;
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** The project root: demo-app/'s parent. */
const projectRoot = path.dirname(here);

/**
 * The data directory as the demo shows it (start-up log, admin page): relative to the project, e.g.
 * `demo-app/data`, so no absolute path on disk (home directory, user name) ends up on a page or a screenshot.
 * A directory outside the project is named only by its last segment.
 */
export function displayDataDir(dataDir: string, root = projectRoot): string {
  const relative = path.relative(root, dataDir);
  if (relative === "") return ".";
  if (relative === ".." || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative))
    return `…/${path.basename(dataDir)} (--data-dir)`;
  return relative.split(path.sep).join("/");
}

function flag(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^(1|on|true|yes)$/i.test(value)) return true;
  if (/^(0|off|false|no)$/i.test(value)) return false;
  throw new Error(`MIGRATION must be "on" or "off"; received ${JSON.stringify(value)}.`);
}

function integer(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${name} must be an integer >= ${min}; received ${JSON.stringify(value)}.`);
  return n;
}

const usage =
  "Usage: node --import tsx demo-app/main.ts [--legacy | --migration] [--no-switch] [--port N] [--data-dir DIR] " +
  `[--access-token-validity SECONDS]

  --legacy      start on the old app: express-session and its own login form (the default); a button on every
                page switches the running demo to SuperTokens
  --migration   start on SuperTokens with dualSession() and legacyAuth() (or MIGRATION=on)
  --no-switch   the old app without the switch button (to switch, restart it with --migration)

Environment: PORT, HOST, MIGRATION, DATABASE_URL, DEMO_SCHEMA, DEMO_CORE_SCHEMA, REDIS_URL, DEMO_REDIS_PREFIX,
SUPERTOKENS_CONNECTION_URI, SUPERTOKENS_API_KEY, DEMO_ACCESS_TOKEN_VALIDITY, SESSION_SECRET. See demo-app/README.md.`;

export function resolveDemoConfig(argv: string[], env: NodeJS.ProcessEnv): DemoConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      migration: { type: "boolean" },
      legacy: { type: "boolean" },
      "no-switch": { type: "boolean" },
      port: { type: "string" },
      host: { type: "string" },
      "data-dir": { type: "string" },
      "access-token-validity": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  if (values.migration && values.legacy) throw new Error("--migration and --legacy contradict each other; pass one.");
  if (values.migration && values["no-switch"])
    throw new Error("--no-switch is for the old app; with --migration the demo starts already switched. Pass one.");
  const migration = values.migration ? true : values.legacy ? false : (flag(env.MIGRATION) ?? false);
  const schema = env.DEMO_SCHEMA || "public";
  return Object.freeze({
    migration,
    switchable: !migration && !values["no-switch"],
    port: integer("--port / PORT", values.port ?? env.PORT, 0) ?? 3000,
    host: values.host ?? env.HOST ?? "127.0.0.1",
    dataDir: path.resolve(values["data-dir"] ?? env.DEMO_DATA_DIR ?? path.join(here, "data")),
    databaseUrl: env.DATABASE_URL || undefined,
    schema,
    coreSchema: env.DEMO_CORE_SCHEMA || (schema === "public" ? "supertokens" : `${schema}_supertokens`),
    redisUrl: env.REDIS_URL || undefined,
    redisPrefix: env.DEMO_REDIS_PREFIX || "sess:",
    connectionUri: env.SUPERTOKENS_CONNECTION_URI || undefined,
    apiKey: env.SUPERTOKENS_API_KEY || undefined,
    accessTokenValidity: integer(
      "--access-token-validity / DEMO_ACCESS_TOKEN_VALIDITY",
      values["access-token-validity"] ?? env.DEMO_ACCESS_TOKEN_VALIDITY,
      1,
    ),
    sessionSecret: env.SESSION_SECRET || "demo-only-session-secret-change-me",
  });
}
