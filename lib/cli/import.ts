import path from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { ConfigError } from "../errors.js";
import { importFormats, importModes, maxBatchSize, type EmailValidator } from "../import/options.js";
import { runImport } from "../import/run.js";

function positiveInt(max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new InvalidArgumentError(`expected an integer from 1 to ${max}`);
    return n;
  };
}

interface ImportCliOptions {
  from?: string;
  query?: string;
  file?: string;
  format?: "json" | "ndjson" | "csv";
  map?: string;
  core: string;
  apiKey?: string;
  appId?: string;
  mode: "auto" | "bulk" | "per-user";
  batchSize?: number;
  concurrency?: number;
  dryRun?: boolean;
  report?: string;
  stallTimeout?: number;
  validateEmail?: string;
}

/**
 * The app's own email rule, from a module it names: its default export (or `validateEmail`) is the function the
 * app gives EmailPassword's email form field, `(email) => error message | undefined`.
 */
async function loadEmailValidator(file: string): Promise<EmailValidator> {
  const url = pathToFileURL(path.resolve(file)).href;
  let mod: { default?: unknown; validateEmail?: unknown };
  try {
    mod = (await import(url)) as typeof mod;
  } catch (err) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `import: --validate-email ${file} could not be loaded: ${(err as Error).message}`,
    );
  }
  const fn = typeof mod.default === "function" ? mod.default : mod.validateEmail;
  if (typeof fn !== "function")
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `import: --validate-email ${file} must export a function (default export or validateEmail) taking an email ` +
        `and returning an error message, or undefined for a valid one.`,
    );
  return fn as EmailValidator;
}

/** `supertokens-migrate import`: move every legacy user to SuperTokens at once, keeping hashes and ids. */
export function importCommand(): Command {
  return new Command("import")
    .description(
      "Import users with their password hashes and legacy ids into SuperTokens. Safe to re-run: users already in " +
        "SuperTokens are skipped and never changed.",
    )
    .addHelpText(
      "after",
      "\nExit codes:\n" +
        "  0  every user was imported or skipped (a dry run: every user would be)\n" +
        "  1  the run stopped: bad options, unreadable input, or the core unreachable (the report says where)\n" +
        "  2  some users failed; in a dry run, some users would fail. The summary and the report name them.\n",
    )
    .option("--from <url>", "PostgreSQL URL of the legacy database (read in a read-only transaction)")
    .option("--query <sql>", "SELECT returning one row per user (with --from)")
    .option("--file <path>", "JSON (array), NDJSON or CSV (with a header row) file of users")
    .addOption(new Option("--format <format>", "format of --file (default: from its extension)").choices(importFormats))
    .option(
      "--map <pairs>",
      "source column per field, e.g. " +
        "id=user_id,email=mail,passwordHash=pw,emailVerified=verified,timeJoined=created_at,metadata=meta " +
        "(defaults: id, email, password_hash|passwordHash, email_verified|emailVerified, time_joined|timeJoined, " +
        "metadata)",
    )
    .requiredOption("--core <url>", "the SuperTokens core's URL (connectionURI), e.g. http://localhost:3567")
    .addOption(new Option("--api-key <key>", "the core's API key").env("SUPERTOKENS_API_KEY"))
    .option("--app-id <id>", "import into this app of the core (default: the one --core addresses)")
    .addOption(
      new Option("--mode <mode>", "bulk-import API, per-user endpoints, or bulk when the core offers it")
        .choices(importModes)
        .default("auto"),
    )
    .option(
      "--batch-size <n>",
      `users per bulk-import request (default 1000, at most ${maxBatchSize})`,
      positiveInt(maxBatchSize),
    )
    .option("--concurrency <n>", "users imported at once in per-user mode (default 8)", positiveInt(256))
    .option(
      "--validate-email <module>",
      "a JS module exporting the app's email rule (default export or validateEmail: (email) => error | undefined); " +
        "default: supertokens-node's default EmailPassword rule",
    )
    .option("--dry-run", "check the source, the core and every user; write nothing")
    .option("--report <file>", "write a JSON report: imported, skipped and failed users with reasons")
    .option(
      "--stall-timeout <seconds>",
      "give up when the core's bulk-import queue makes no progress this long (default 900)",
      positiveInt(86_400),
    )
    .action(async (opts: ImportCliOptions) => {
      const report = await runImport(
        {
          from: opts.from,
          query: opts.query,
          file: opts.file,
          format: opts.format,
          map: opts.map,
          core: opts.core,
          apiKey: opts.apiKey,
          appId: opts.appId,
          mode: opts.mode,
          batchSize: opts.batchSize,
          concurrency: opts.concurrency,
          dryRun: opts.dryRun ?? false,
          report: opts.report,
          stallTimeout: opts.stallTimeout,
          ...(opts.validateEmail ? { validateEmail: await loadEmailValidator(opts.validateEmail) } : {}),
        },
        // The lists go to --report only: a million users never sit in this process's memory.
        { lists: false },
      );
      if (report.counts.failed > 0) process.exitCode = 2;
    });
}
