import { queryRows, quoteIdent } from "../sql.js";
import { MigrateError } from "../errors.js";
import type { ExportConfig } from "./options.js";

/**
 * Which of the core's tables (supertokens-postgresql-plugin layout, core 6.0+ with app_id columns) a database
 * holds. Only emailpassword_users is required; every other table is optional so that a core without, say, the
 * roles recipe still exports.
 */
export interface CoreLayout {
  /** Qualified, quoted name of a core table, with the configured prefix. */
  table(name: string): string;
  has(name: string): boolean;
  hasColumn(table: string, column: string): boolean;
}

export async function inspectLayout(config: ExportConfig): Promise<CoreLayout> {
  const rows = await queryRows<{ table_name: string; column_name: string }>(
    config.db,
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name LIKE $2`,
    [config.schema, `${config.tablePrefix.replace(/_/g, "\\_")}%`],
  );
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    const name = String(r.table_name).slice(config.tablePrefix.length);
    if (!columns.has(name)) columns.set(name, new Set());
    columns.get(name)!.add(String(r.column_name));
  }
  const layout: CoreLayout = {
    table: (name) => `${quoteIdent(config.schema)}.${quoteIdent(config.tablePrefix + name)}`,
    has: (name) => columns.has(name),
    hasColumn: (table, column) => columns.get(table)?.has(column) ?? false,
  };

  const where = `schema "${config.schema}"${config.tablePrefix ? ` with table prefix "${config.tablePrefix}"` : ""}`;
  if (!layout.has("emailpassword_users")) {
    throw new MigrateError(
      "ERR_MIGRATE_BAD_INPUT",
      `export: no table ${config.tablePrefix}emailpassword_users in ${where}. Point --from at the SuperTokens ` +
        `core's database and ` +
        `set --schema / --table-prefix to the core's postgresql_table_schema / postgresql_table_names_prefix.`,
      { status: 400 },
    );
  }
  if (!layout.hasColumn("emailpassword_users", "app_id")) {
    throw new MigrateError(
      "ERR_MIGRATE_BAD_INPUT",
      `export: ${config.tablePrefix}emailpassword_users in ${where} has no app_id column: this is the layout of a ` +
        `core older than 6.0. ` +
        `Upgrade the core (it migrates the tables) and export again.`,
      { status: 400 },
    );
  }
  if (layout.has("apps")) {
    const apps = await queryRows<{ app_id: string }>(
      config.db,
      `SELECT app_id FROM ${layout.table("apps")} ORDER BY app_id`,
    );
    if (!apps.some((a) => a.app_id === config.appId)) {
      const known = apps
        .map((a) => a.app_id)
        .slice(0, 20)
        .join(", ");
      throw new MigrateError(
        "ERR_MIGRATE_BAD_INPUT",
        `export: app "${config.appId}" not found in ${where}; apps there: ${known || "(none)"}.`,
        { status: 400 },
      );
    }
  }
  return layout;
}
