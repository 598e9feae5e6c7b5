import { queryRows, quoteIdent } from "../sql.js";
import { MigrateError } from "../errors.js";
import { log } from "../debug.js";
import { MIGRATION_MODES, type ExportConfig, type MigrationMode } from "./options.js";

const debug = log.extend("export");

/**
 * The core table layouts this export reads, oldest first. Facts from supertokens/supertokens-postgresql-plugin:
 * plugin 3.0 (core 6.0) added `app_id` everywhere and `app_id_to_user_id`; plugin 5.0 (core 7.0) added account
 * linking (`primary_or_recipe_user_id`, `is_linked_or_is_a_primary_user`) and `email` on reset tokens; plugin 9.5
 * (core 12.0) added `recipe_user_tenants` and friends, `time_joined` on `app_id_to_user_id`, and `migration_mode`,
 * under which the old `all_auth_recipe_users` stops being written (MIGRATED).
 */
export const KNOWN_LAYOUTS = {
  "core-6": "core 6.x (postgresql plugin 3.x–4.x)",
  "core-7": "core 7.x–11.x (postgresql plugin 5.x–9.4)",
  "core-12": "core 12.x (postgresql plugin 9.5)",
} as const;
export type LayoutId = keyof typeof KNOWN_LAYOUTS;

/** Which of the core's tables a database holds, under the configured schema, prefix and table names. */
export interface CoreLayout {
  /** Qualified, quoted name of a core table (its core name, e.g. "emailpassword_users"). */
  table(name: string): string;
  has(name: string): boolean;
  hasColumn(table: string, column: string): boolean;
  /** The schema the tables were found in (the `search_path` answer when the core's schema is "public"). */
  schema: string;
  id: LayoutId;
  /** Account linking columns are present (core 7.0+). */
  linking: boolean;
  /** Where tenants of a user are read from: the core's mode for the app (LEGACY before core 12). */
  migrationMode: MigrationMode;
  /** How the mode was decided, for the report. */
  migrationModeSource: "option" | "tenant config" | "default";
}

/** Every core table the export may read or check. */
const CORE_TABLES = [
  "apps",
  "tenants",
  "tenant_configs",
  "key_value",
  "session_info",
  "app_id_to_user_id",
  "all_auth_recipe_users",
  "recipe_user_tenants",
  "emailpassword_users",
  "emailpassword_pswd_reset_tokens",
  "thirdparty_users",
  "passwordless_users",
  "emailverification_verified_emails",
  "session_access_token_signing_keys",
  "jwt_signing_keys",
  "userid_mapping",
  "user_metadata",
  "user_roles",
] as const;

const badInput = (message: string) => new MigrateError("ERR_MIGRATE_BAD_INPUT", message, { status: 400 });

/**
 * The schema holding the core's tables. A core configured with schema "public" writes unqualified names, which
 * PostgreSQL resolves through its role's search_path; we resolve them through ours (the CLI sets it from
 * `currentSchema` in the URI, as the core does).
 */
async function resolveSchema(config: ExportConfig): Promise<string> {
  if (config.schema !== "public") return config.schema;
  const rows = await queryRows<{ schema: string | null }>(
    config.db,
    `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [quoteIdent(config.tableName("emailpassword_users"))],
  );
  return rows[0]?.schema ?? "public";
}

export async function inspectLayout(config: ExportConfig): Promise<CoreLayout> {
  const schema = await resolveSchema(config);
  const actual = new Map(CORE_TABLES.map((n) => [config.tableName(n), n]));
  const rows = await queryRows<{ table_name: string; column_name: string }>(
    config.db,
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2)`,
    [schema, [...actual.keys()]],
  );
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    const name = actual.get(String(r.table_name));
    if (name === undefined) continue;
    if (!columns.has(name)) columns.set(name, new Set());
    columns.get(name)!.add(String(r.column_name));
  }
  const has = (name: string) => columns.has(name);
  const hasColumn = (table: string, column: string) => columns.get(table)?.has(column) ?? false;

  const users = config.tableName("emailpassword_users");
  const where =
    `schema "${schema}"` +
    (config.schema === "public" && schema !== "public" ? " (found through search_path)" : "") +
    (config.tablePrefix.trim() ? ` with table prefix "${config.tablePrefix.trim()}"` : "");
  if (!has("emailpassword_users")) {
    const hint = /_$/.test(config.tablePrefix.trim())
      ? ` The core puts "_" after the prefix itself: pass ` +
        `--table-prefix ${config.tablePrefix.trim().replace(/_+$/, "")} ` +
        `if its postgresql_table_names_prefix has no trailing "_".`
      : "";
    throw badInput(
      `export: no table ${users} in ${where}. Point --from at the SuperTokens core's database and set --schema / ` +
        `--table-prefix / --emailpassword-users-table to the core's postgresql_table_schema / ` +
        `postgresql_table_names_prefix / postgresql_emailpassword_users_table_name.${hint}`,
    );
  }
  if (!hasColumn("emailpassword_users", "app_id")) {
    throw badInput(
      `export: ${users} in ${where} has no app_id column: this is the layout of a core older than 6.0 ` +
        `(postgresql plugin before 3.0), which this export does not read. Upgrade the core (it migrates the tables) ` +
        `and export again.`,
    );
  }

  const id = identifyLayout(has, hasColumn);
  if (typeof id !== "string") {
    throw badInput(
      `export: the tables in ${where} have a layout this export does not know: ${id.found}. It reads ` +
        `${Object.values(KNOWN_LAYOUTS).join(", ")}. Export with a supertokens-migrate release that supports this ` +
        `core, or report the layout.`,
    );
  }

  const layout: Omit<CoreLayout, "migrationMode" | "migrationModeSource"> = {
    table: (name) => `${quoteIdent(schema)}.${quoteIdent(config.tableName(name))}`,
    has,
    hasColumn,
    schema,
    id,
    linking: id !== "core-6",
  };

  if (has("apps")) {
    const apps = await queryRows<{ app_id: string }>(
      config.db,
      `SELECT app_id FROM ${layout.table("apps")} ORDER BY app_id`,
    );
    if (!apps.some((a) => a.app_id === config.appId)) {
      const known = apps
        .map((a) => a.app_id)
        .slice(0, 20)
        .join(", ");
      throw badInput(`export: app "${config.appId}" not found in ${where}; apps there: ${known || "(none)"}.`);
    }
  }

  const mode = await migrationModeOf(config, layout);
  debug("layout %s in schema %s, migration mode %s (%s)", id, schema, mode.migrationMode, mode.migrationModeSource);
  return { ...layout, ...mode };
}

/**
 * The layout's id from the tables and columns present, or what was found when no known layout matches (a layout
 * newer than this export, or tables half-created by hand).
 */
export function identifyLayout(
  has: (name: string) => boolean,
  hasColumn: (table: string, column: string) => boolean,
): LayoutId | { found: string } {
  const marks = {
    appIdToUserId: has("app_id_to_user_id"),
    oldTenants: has("all_auth_recipe_users"),
    linking: hasColumn("app_id_to_user_id", "primary_or_recipe_user_id"),
    newTenants: has("recipe_user_tenants"),
    timeJoined: hasColumn("app_id_to_user_id", "time_joined"),
  };
  if (marks.appIdToUserId && marks.oldTenants && !marks.newTenants && !marks.timeJoined)
    return marks.linking ? "core-7" : "core-6";
  if (marks.appIdToUserId && marks.oldTenants && marks.linking && marks.newTenants && marks.timeJoined)
    return hasColumn("recipe_user_tenants", "recipe_user_id") && hasColumn("recipe_user_tenants", "tenant_id")
      ? "core-12"
      : { found: "recipe_user_tenants without the recipe_user_id and tenant_id columns of postgresql plugin 9.5" };
  const found: string[] = [];
  if (!marks.appIdToUserId) found.push("no app_id_to_user_id table (every core from 6.0 has one)");
  if (!marks.oldTenants && marks.newTenants)
    found.push(
      "recipe_user_tenants without all_auth_recipe_users: a core newer than 12.x (postgresql plugin after 9.5), " +
        "which dropped the old user tables",
    );
  else if (!marks.oldTenants) found.push("no all_auth_recipe_users table and no recipe_user_tenants table");
  if (marks.newTenants !== marks.timeJoined)
    found.push(
      marks.newTenants
        ? "recipe_user_tenants (plugin 9.5) but no time_joined column on app_id_to_user_id"
        : "time_joined on app_id_to_user_id (plugin 9.5) but no recipe_user_tenants table",
    );
  if (marks.newTenants && !marks.linking) found.push("plugin 9.5 tables without the account linking columns");
  return { found: found.join("; ") || "an unexpected combination of tables" };
}

/**
 * The app's migration_mode: the option, else the app's tenant config row (where the core keeps a mode set through
 * its API), else LEGACY (the core's default). Only core 12 layouts have one.
 */
async function migrationModeOf(
  config: ExportConfig,
  layout: Pick<CoreLayout, "id" | "has" | "table">,
): Promise<Pick<CoreLayout, "migrationMode" | "migrationModeSource">> {
  if (layout.id !== "core-12") return { migrationMode: "LEGACY", migrationModeSource: "default" };
  if (config.migrationMode) return { migrationMode: config.migrationMode, migrationModeSource: "option" };
  if (layout.has("tenant_configs")) {
    const rows = await queryRows<{ core_config: string | null }>(
      config.db,
      `SELECT core_config FROM ${layout.table("tenant_configs")} WHERE app_id = $1 AND tenant_id = 'public'
        ORDER BY connection_uri_domain LIMIT 1`,
      [config.appId],
    );
    let mode: unknown;
    try {
      mode = (JSON.parse(rows[0]?.core_config ?? "{}") as { migration_mode?: unknown }).migration_mode;
    } catch {
      mode = undefined;
    }
    if (typeof mode === "string" && (MIGRATION_MODES as readonly string[]).includes(mode))
      return { migrationMode: mode as MigrationMode, migrationModeSource: "tenant config" };
  }
  return { migrationMode: "LEGACY", migrationModeSource: "default" };
}

/** Whether the core reads tenants from recipe_user_tenants in this mode (MigrationMode.readsFromNewTables). */
export const readsNewTables = (mode: MigrationMode): boolean => mode === "DUAL_WRITE_READ_NEW" || mode === "MIGRATED";
