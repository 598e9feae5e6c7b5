import { createWriteStream, type WriteStream } from "node:fs";
import { unlink } from "node:fs/promises";
import { Command, InvalidArgumentError, Option } from "commander";
import { exportSuperTokens, formatExportReport } from "../export/index.js";
import type { ExportFormat } from "../export/options.js";

interface ExportCliOptions {
  from: string;
  schema: string;
  tablePrefix: string;
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
    .option("--schema <name>", "schema of the core's tables (the core's postgresql_table_schema)", "public")
    .option("--table-prefix <prefix>", "the core's postgresql_table_names_prefix", "")
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
    .action(async (opts: ExportCliOptions) => {
      const targets = [opts.out, opts.tokensOut, opts.keysOut].filter((t): t is string => t !== undefined);
      if (targets.filter((t) => t === "-").length > 1)
        throw new InvalidArgumentError("only one of --out, --tokens-out, --keys-out can be - (stdout)");
      if (new Set(targets).size !== targets.length)
        throw new InvalidArgumentError("--out, --tokens-out and --keys-out must name different files");

      const pg = await loadPg();
      const client = new pg.Client({ connectionString: opts.from, application_name: "supertokens-migrate export" });
      client.on("error", () => {
        // A dropped connection also fails the pending query, which is where it is reported.
      });
      await client.connect();
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
          schema: opts.schema,
          tablePrefix: opts.tablePrefix,
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
