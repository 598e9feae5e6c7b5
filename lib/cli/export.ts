import { createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { exportSuperTokens, formatExportReport } from "../export/index.js";
import { MIGRATION_MODES, type ExportFormat, type MigrationMode } from "../export/options.js";

interface ExportCliOptions {
  from: string;
  schema: string;
  tablePrefix: string;
  emailpasswordUsersTable?: string;
  pswdResetTokensTable?: string;
  verifiedEmailsTable?: string;
  keyValueTable?: string;
  sessionInfoTable?: string;
  migrationMode?: MigrationMode;
  appId: string;
  format: ExportFormat;
  out: string;
  tokensOut?: string;
  keysOut?: string;
  pageSize: number;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

/** pg is what the CLI connects with; loaded on use so the other commands run without it. */
async function loadPg() {
  try {
    return (await import("pg")).default;
  } catch {
    throw new Error("export needs the PostgreSQL client: npm install pg");
  }
}

/**
 * An export file: created 0600 (it holds password hashes and private keys, T17/T23) and removed again if the
 * export fails, so a half-written file is never mistaken for an export.
 */
function openFile(path: string): WriteStream {
  return createWriteStream(path, { mode: 0o600 });
}

/**
 * The connection string without `currentSchema`, which the core reads from its postgresql_connection_uri as its
 * table schema (PostgreSQLConfig) and node-postgres does not know, and that schema.
 */
export function splitCurrentSchema(uri: string): { connectionString: string; currentSchema: string | undefined } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { connectionString: uri, currentSchema: undefined };
  }
  const currentSchema = url.searchParams.get("currentSchema")?.trim() || undefined;
  if (currentSchema === undefined) return { connectionString: uri, currentSchema };
  url.searchParams.delete("currentSchema");
  return { connectionString: url.toString(), currentSchema };
}

/** What to check when the database cannot be reached, by the driver's error code. */
function connectionHint(code: string | undefined): string {
  switch (code) {
    case "ECONNREFUSED":
      return (
        "nothing accepts connections there: is PostgreSQL running, and are host and port those of the core's " +
        "database?"
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve from this machine: check the host in --from.";
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "the host does not answer: check the host and port in --from, and any firewall or VPN in between.";
    case "28P01":
    case "28000":
      return (
        "the server refused the user or password in --from: use the core's postgresql_user and password, or a " +
        "read-only role."
      );
    case "3D000":
      return "the database in --from does not exist on that server: use the core's postgresql_database_name.";
    default:
      return (
        "check that --from is the core's database URI (postgresql_connection_uri) and that the server is " +
        "reachable."
      );
  }
}

/** A connection failure as a sentence naming where we tried to connect, without the password. */
export function connectionError(connectionString: string, err: unknown): Error {
  const e = err as { code?: string; message?: string };
  let where = "the database in --from";
  try {
    const url = new URL(connectionString);
    const db = decodeURIComponent(url.pathname.replace(/^\//, "")) || "(default database)";
    where =
      `${url.hostname || "localhost"}:${url.port || "5432"}, database "${db}"` +
      (url.username ? `, user "${decodeURIComponent(url.username)}"` : "");
  } catch {
    // not a URL (e.g. a key=value string): keep the generic words
  }
  return new Error(
    `export: cannot connect to PostgreSQL at ${where}: ${e?.message ?? String(err)}. ${connectionHint(e?.code)}`,
    { cause: err },
  );
}

const finish = (s: WriteStream) =>
  new Promise<void>((resolve, reject) => {
    s.once("error", reject);
    s.end(() => resolve());
  });

/** `supertokens-migrate export`: read a SuperTokens core's PostgreSQL tables directly and write NDJSON or CSV. */
export function exportCommand(): Command {
  return new Command("export")
    .description(
      "Export users (with password hashes), valid reset-token hashes and access-token signing keys from a " +
        "SuperTokens core's PostgreSQL database",
    )
    .requiredOption(
      "--from <url>",
      "PostgreSQL connection URI of the core's database, e.g. postgres://user:pass@host/supertokens",
    )
    .option(
      "--schema <name>",
      "schema of the core's tables (the core's postgresql_table_schema, or currentSchema in --from)",
      "public",
    )
    .option(
      "--table-prefix <prefix>",
      "the core's postgresql_table_names_prefix, as in its config (st gives st_emailpassword_users)",
      "",
    )
    .option("--emailpassword-users-table <name>", "the core's postgresql_emailpassword_users_table_name")
    .option("--pswd-reset-tokens-table <name>", "the core's postgresql_emailpassword_pswd_reset_tokens_table_name")
    .option("--verified-emails-table <name>", "the core's postgresql_emailverification_verified_emails_table_name")
    .option("--key-value-table <name>", "the core's postgresql_key_value_table_name")
    .option("--session-info-table <name>", "the core's postgresql_session_info_table_name")
    .addOption(
      new Option(
        "--migration-mode <mode>",
        "the app's migration_mode when the core's config.yaml sets it (default: from the database, else LEGACY)",
      ).choices([...MIGRATION_MODES]),
    )
    .option("--app-id <id>", "app to export", "public")
    .addOption(new Option("--format <format>", "output format").choices(["ndjson", "csv"]).default("ndjson"))
    .option(
      "--out <file>",
      "users, and in NDJSON also the reset-token and key sections unless given their own files; - for stdout",
      "-",
    )
    .option("--tokens-out <file>", "still-valid password-reset token hashes to this file (required for them in CSV)")
    .option(
      "--keys-out <file>",
      "access-token signing keys, private keys included, to this file (required for them in CSV)",
    )
    .option("--page-size <n>", "users read per query", positiveInt, 1000)
    .action(async (opts: ExportCliOptions, command: Command) => {
      const targets = [opts.out, opts.tokensOut, opts.keysOut].filter((t): t is string => t !== undefined);
      if (targets.filter((t) => t === "-").length > 1)
        throw new InvalidArgumentError("only one of --out, --tokens-out, --keys-out can be - (stdout)");
      if (new Set(targets).size !== targets.length)
        throw new InvalidArgumentError("--out, --tokens-out and --keys-out must name different files");

      const { connectionString, currentSchema } = splitCurrentSchema(opts.from);
      let schema = opts.schema;
      if (currentSchema !== undefined) {
        if (
          command.getOptionValueSource("schema") === "cli" &&
          opts.schema.toLowerCase() !== currentSchema.toLowerCase()
        )
          throw new InvalidArgumentError(
            `--schema ${opts.schema} and currentSchema=${currentSchema} in --from disagree; the core uses ` +
              `currentSchema. Drop one of them.`,
          );
        schema = currentSchema;
      }
      const pg = await loadPg();
      const client = new pg.Client({ connectionString, application_name: "supertokens-migrate export" });
      client.on("error", () => {
        // A dropped connection also fails the pending query, which is where it is reported.
      });
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => {});
        throw connectionError(connectionString, err);
      }
      const files = new Map<string, WriteStream>();
      const open = (target: string | undefined) => {
        if (target === undefined) return undefined;
        if (target === "-") return process.stdout;
        const s = openFile(target);
        files.set(target, s);
        return s;
      };
      try {
        const out = open(opts.out)!;
        const tokensOut = open(opts.tokensOut);
        const keysOut = open(opts.keysOut);
        // One snapshot for every page and section: users, tokens and keys are from the same instant.
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
        const report = await exportSuperTokens({
          db: client,
          out,
          tokensOut,
          keysOut,
          schema,
          tablePrefix: opts.tablePrefix,
          tableNames: {
            emailpasswordUsers: opts.emailpasswordUsersTable,
            passwordResetTokens: opts.pswdResetTokensTable,
            verifiedEmails: opts.verifiedEmailsTable,
            keyValue: opts.keyValueTable,
            sessionInfo: opts.sessionInfoTable,
          },
          migrationMode: opts.migrationMode,
          appId: opts.appId,
          format: opts.format,
          pageSize: opts.pageSize,
        });
        await client.query("COMMIT");
        await Promise.all([...files.values()].map(finish));
        process.stderr.write(formatExportReport(report));
      } catch (err) {
        for (const [path, s] of files) {
          s.destroy();
          await unlink(path).catch(() => {});
        }
        throw err;
      } finally {
        await client.end().catch(() => {});
      }
    });
}
