import type { Writable } from "node:stream";
import { log } from "../debug.js";
import { inspectLayout, KNOWN_LAYOUTS } from "./layout.js";
import type { MigrationMode } from "./options.js";
import { resolveExportOptions, type ExportFormat, type ExportOptions } from "./options.js";
import {
  countOtherRecipeUsers,
  readResetTokens,
  readSigningKeys,
  readUsers,
  tenantsFromNewTables,
  type ExportedRecipe,
} from "./read.js";
import {
  csvRow,
  exportFormatName,
  exportFormatVersion,
  keyCsv,
  keyCsvColumns,
  ndjsonLine,
  tokenCsv,
  tokenCsvColumns,
  userCsv,
  userCsvColumns,
  writeChunk,
} from "./write.js";

const debug = log.extend("export");

export interface ExportReport {
  /** Version of this report's shape. */
  version: 1;
  appId: string;
  /** The schema the core's tables were found in. */
  schema: string;
  /** The table layout found, e.g. "core 12.x (postgresql plugin 9.5)". */
  coreLayout: string;
  /** The app's migration_mode the tenants were read under (LEGACY before core 12), and where it came from. */
  migrationMode: MigrationMode;
  migrationModeSource: "option" | "tenant config" | "default";
  format: ExportFormat;
  /** Logins exported (one record each), of every recipe. */
  users: number;
  /** Of those, per login method. */
  logins: Record<ExportedRecipe, number>;
  /** Of those, logins linked to another primary user (account linking): their records carry that user's id. */
  linkedLogins: number;
  /** Email-password logins per password-hash format (bcrypt, argon2, firebase_scrypt, unknown …). */
  hashFormats: Record<string, number>;
  /**
   * Users whose hash is not bcrypt: the next system needs a reset or a lazy reverse migration for them (never a
   * conversion).
   */
  usersNeedingAttention: number;
  mappedUsers: number;
  verifiedUsers: number;
  usersWithMetadata: number;
  /** null when the database has no user_roles table. */
  usersWithRoles: number | null;
  /** Still-valid reset tokens written; null when not exported (CSV without a tokens output). */
  resetTokens: number | null;
  /** Keys written; null when not exported (CSV without a keys output). */
  signingKeys: { dynamic: number; static: number } | null;
  /**
   * Users of recipes the export does not cover (WebAuthn; third party or passwordless in a database without their
   * tables), left in the core.
   */
  otherRecipeUsers: number;
  warnings: string[];
  durationMs: number;
}

type Section = "user" | "reset_token" | "signing_key";

/**
 * Export a SuperTokens core's users, still-valid reset-token hashes and access-token signing keys by reading its
 * PostgreSQL tables directly (the core need not run). Streams: one page of users in memory at a time, writes
 * wait for the outputs to drain. The outputs are not ended; the caller owns them.
 *
 * NDJSON: a `header` line (format name, version, app, sections), records with a `type` field (`user`,
 * `reset_token`, `signing_key`), and a `trailer` line with the counts, so a truncated file is detectable.
 * CSV: a header row, then one row per record, every row starting with the format version.
 */
export async function exportSuperTokens(options: ExportOptions): Promise<ExportReport> {
  const config = resolveExportOptions(options);
  const started = Date.now();
  debug(
    "export app %s from schema %s (prefix %o) as %s, page size %d",
    config.appId,
    config.schema,
    config.tablePrefix,
    config.format,
    config.pageSize,
  );
  const layout = await inspectLayout(config);
  let fromNewTables = 0;
  const warnings: string[] = [];
  // A renamed table the export cannot find would otherwise mean wrong data without a word: every user unverified,
  // no reset tokens.
  for (const [table, what, flag] of [
    ["emailverification_verified_emails", "every user is exported with emailVerified false", "--verified-emails-table"],
    ["emailpassword_pswd_reset_tokens", "no reset tokens are exported", "--pswd-reset-tokens-table"],
  ] as const) {
    if (!layout.has(table))
      warnings.push(
        `no table ${config.tableName(table)} in schema "${layout.schema}": ${what}. If the core sets its name ` +
          `(postgresql_${table}_table_name), pass it with ${flag}.`,
      );
  }
  const ndjson = config.format === "ndjson";

  // Where each section goes: its own output if given, else (NDJSON only) the main one.
  const destination = (own: Writable | undefined, what: string, flag: string): Writable | undefined => {
    if (own) return own;
    if (ndjson) return config.out;
    warnings.push(`${what} not exported: CSV puts them in a separate file; pass ${flag}.`);
    return undefined;
  };
  const tokensOut = destination(config.tokensOut, "reset tokens", "--tokens-out (tokensOut)");
  const keysOut = destination(config.keysOut, "signing keys", "--keys-out (keysOut)");

  const sectionsOf = new Map<Writable, Section[]>([[config.out, ["user"]]]);
  for (const [out, section] of [
    [tokensOut, "reset_token"],
    [keysOut, "signing_key"],
  ] as const) {
    if (out) sectionsOf.set(out, [...(sectionsOf.get(out) ?? []), section]);
  }
  const counts = new Map<Section, number>([
    ["user", 0],
    ["reset_token", 0],
    ["signing_key", 0],
  ]);

  if (ndjson) {
    const exportedAt = new Date(config.now).toISOString();
    for (const [out, sections] of sectionsOf) {
      await writeChunk(
        out,
        ndjsonLine({
          type: "header",
          format: exportFormatName,
          version: exportFormatVersion,
          appId: config.appId,
          schema: layout.schema,
          tablePrefix: config.tablePrefix,
          coreLayout: KNOWN_LAYOUTS[layout.id],
          migrationMode: layout.migrationMode,
          exportedAt,
          sections,
        }),
      );
    }
  }

  const report: ExportReport = {
    version: 1,
    appId: config.appId,
    schema: layout.schema,
    coreLayout: KNOWN_LAYOUTS[layout.id],
    migrationMode: layout.migrationMode,
    migrationModeSource: layout.migrationModeSource,
    format: config.format,
    users: 0,
    logins: { emailpassword: 0, thirdparty: 0, passwordless: 0 },
    linkedLogins: 0,
    hashFormats: {},
    usersNeedingAttention: 0,
    mappedUsers: 0,
    verifiedUsers: 0,
    usersWithMetadata: 0,
    usersWithRoles: layout.has("user_roles") ? 0 : null,
    resetTokens: null,
    signingKeys: null,
    otherRecipeUsers: 0,
    warnings,
    durationMs: 0,
  };

  if (!ndjson) await writeChunk(config.out, csvRow([...userCsvColumns]));
  for await (const page of readUsers(config, layout)) {
    let chunk = "";
    for (const u of page) {
      chunk += ndjson ? ndjsonLine({ type: "user", ...u }) : userCsv(u);
      report.users++;
      report.logins[u.recipeId]++;
      if (u.passwordHashFormat !== null) {
        report.hashFormats[u.passwordHashFormat] = (report.hashFormats[u.passwordHashFormat] ?? 0) + 1;
        if (u.passwordHashFormat !== "bcrypt") report.usersNeedingAttention++;
      }
      if (u.recipeUserId !== u.superTokensUserId) report.linkedLogins++;
      if (tenantsFromNewTables in u) fromNewTables++;
      if (u.userId !== u.superTokensUserId) report.mappedUsers++;
      if (u.emailVerified) report.verifiedUsers++;
      if (u.metadata !== null) report.usersWithMetadata++;
      if (u.roles?.length && report.usersWithRoles !== null) report.usersWithRoles++;
    }
    await writeChunk(config.out, chunk);
    counts.set("user", report.users);
    debug("exported %d users", report.users);
  }

  if (tokensOut) {
    report.resetTokens = 0;
    if (!ndjson) await writeChunk(tokensOut, csvRow([...tokenCsvColumns]));
    for await (const page of readResetTokens(config, layout)) {
      await writeChunk(
        tokensOut,
        page.map((t) => (ndjson ? ndjsonLine({ type: "reset_token", ...t }) : tokenCsv(t))).join(""),
      );
      report.resetTokens += page.length;
    }
    counts.set("reset_token", report.resetTokens);
  }

  if (keysOut) {
    const { keys, warnings: keyWarnings } = await readSigningKeys(config, layout);
    warnings.push(...keyWarnings);
    if (!ndjson) await writeChunk(keysOut, csvRow([...keyCsvColumns]));
    await writeChunk(
      keysOut,
      keys.map((k) => (ndjson ? ndjsonLine({ type: "signing_key", ...k }) : keyCsv(k))).join(""),
    );
    report.signingKeys = {
      dynamic: keys.filter((k) => k.kind === "dynamic").length,
      static: keys.filter((k) => k.kind === "static").length,
    };
    counts.set("signing_key", keys.length);
  }

  if (ndjson) {
    for (const [out, sections] of sectionsOf) {
      await writeChunk(
        out,
        ndjsonLine({ type: "trailer", counts: Object.fromEntries(sections.map((s) => [s, counts.get(s)])) }),
      );
    }
  }
  if (fromNewTables > 0) {
    warnings.push(
      `${fromNewTables} users have tenants only in recipe_user_tenants although the app's migration_mode reads as ` +
        `${layout.migrationMode} (${layout.migrationModeSource}): their tenants were taken from there. If the core's ` +
        `config.yaml sets migration_mode, pass it with --migration-mode.`,
    );
  }
  report.otherRecipeUsers = await countOtherRecipeUsers(config, layout);
  if (report.otherRecipeUsers > 0) {
    warnings.push(
      `${report.otherRecipeUsers} users of other recipes are not exported: this export covers email-password, ` +
        `third-party and passwordless logins (the latter two where the database has thirdparty_users and ` +
        `passwordless_users tables).`,
    );
  }
  report.durationMs = Date.now() - started;
  debug(
    "export done: %d users, %o reset tokens, %o keys in %d ms",
    report.users,
    report.resetTokens,
    report.signingKeys,
    report.durationMs,
  );
  return report;
}

/** The report as the CLI prints it on stderr: one fact per line. */
export function formatExportReport(r: ExportReport): string {
  const formats =
    Object.entries(r.hashFormats)
      .map(([f, n]) => `${f} ${n}`)
      .join(", ") || "none";
  const lines = [
    `exported ${r.users} logins of app "${r.appId}" (schema "${r.schema}", ${r.format}) in ${r.durationMs} ms: ` +
      `${r.logins.emailpassword} email-password, ${r.logins.thirdparty} third-party, ` +
      `${r.logins.passwordless} passwordless`,
    `  layout: ${r.coreLayout}, migration_mode ${r.migrationMode} (${r.migrationModeSource})`,
    ...(r.linkedLogins ? [`  ${r.linkedLogins} logins are linked to another user and exported under its id`] : []),
    `  password hashes: ${formats}`,
    ...(r.usersNeedingAttention
      ? [`  ${r.usersNeedingAttention} users without a bcrypt hash need a password reset or a lazy reverse migration`]
      : []),
    `  mapped to an external id: ${r.mappedUsers}; email verified: ${r.verifiedUsers}; with metadata: ` +
      `${r.usersWithMetadata}; with roles: ${r.usersWithRoles ?? "no user_roles table"}`,
    `  valid reset tokens: ${r.resetTokens ?? "not exported"}`,
    `  signing keys: ` +
      `${r.signingKeys ? `${r.signingKeys.dynamic} dynamic, ${r.signingKeys.static} static` : "not exported"}`,
    ...r.warnings.map((w) => `warning: ${w}`),
  ];
  return `${lines.join("\n")}\n`;
}
