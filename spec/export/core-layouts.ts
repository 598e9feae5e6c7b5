/**
 * The SuperTokens core's PostgreSQL table layouts, built the way the core builds them, for the export tests. The
 * SQL is ours; the facts (tables, columns, keys, which version added what, how names are formed) come from
 * supertokens/supertokens-postgresql-plugin: config/PostgreSQLConfig.java (a non-empty prefix gets "_" appended; a
 * per-table name setting replaces prefix and name; names are written unquoted, schema "public" unqualified),
 * queries/GeneralQueries.java and the recipe query files, and the 9.5.0 schema rework notes.
 *
 * Versions: 6 = core 6.x (plugin 3.x/4.x, app ids, no account linking), 7 = core 7.x–11.x (plugin 5.0–9.4,
 * account linking, email on reset tokens), 12 = core 12.x (plugin 9.5, recipe_user_tenants and friends, time_joined
 * on app_id_to_user_id).
 */
import type pg from "pg";

export type CoreVersion = 6 | 7 | 12;
export type Mode = "LEGACY" | "DUAL_WRITE_READ_OLD" | "DUAL_WRITE_READ_NEW" | "MIGRATED";

export interface LayoutSpec {
  version: CoreVersion;
  /** As the core's postgresql_table_schema holds it (any case; written unquoted). */
  schema: string;
  /** As the core's postgresql_table_names_prefix holds it. */
  prefix?: string;
  /** Per-table name settings, by core table name. */
  names?: Partial<
    Record<
      | "emailpassword_users"
      | "emailpassword_pswd_reset_tokens"
      | "emailverification_verified_emails"
      | "key_value"
      | "session_info",
      string
    >
  >;
}

/** The table name as the core writes it (unquoted, so PostgreSQL folds it), qualified unless the schema is public. */
export function coreTable(spec: LayoutSpec, name: string): string {
  const override = spec.names?.[name as keyof NonNullable<LayoutSpec["names"]>];
  const prefix = spec.prefix?.trim() ? `${spec.prefix.trim()}_` : "";
  const table = override ?? `${prefix}${name}`;
  return spec.schema === "public" ? table : `${spec.schema}.${table}`;
}

export function layoutDdl(spec: LayoutSpec): string[] {
  const t = (n: string) => coreTable(spec, n);
  const linking = spec.version >= 7;
  const rework = spec.version >= 12;
  // ON UPDATE CASCADE on keys to app_id_to_user_id arrived with plugin 9.5.
  const cascade = rework ? "ON DELETE CASCADE ON UPDATE CASCADE" : "ON DELETE CASCADE";
  const toUser = `(app_id, user_id) ${cascade}`;
  const selfKey = `FOREIGN KEY (app_id, primary_or_recipe_user_id) REFERENCES ${t("app_id_to_user_id")} ${toUser},`;
  const reworkColumns =
    "time_joined BIGINT NOT NULL DEFAULT 0, primary_or_recipe_user_time_joined BIGINT NOT NULL DEFAULT 0,";
  const linkingColumns =
    "primary_or_recipe_user_id CHAR(36) NOT NULL, is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE,";
  return [
    `CREATE TABLE ${t("apps")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', created_at_time BIGINT,
      PRIMARY KEY (app_id))`,
    `CREATE TABLE ${t("tenants")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public', created_at_time BIGINT, PRIMARY KEY (app_id, tenant_id),
      FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE TABLE ${t("tenant_configs")} (connection_uri_domain VARCHAR(256) DEFAULT '',
      app_id VARCHAR(64) DEFAULT 'public', tenant_id VARCHAR(64) DEFAULT 'public', core_config TEXT,
      email_password_enabled BOOLEAN, passwordless_enabled BOOLEAN, third_party_enabled BOOLEAN,
      PRIMARY KEY (connection_uri_domain, app_id, tenant_id))`,
    `CREATE TABLE ${t("key_value")} (app_id VARCHAR(64) DEFAULT 'public', tenant_id VARCHAR(64) DEFAULT 'public',
      name VARCHAR(128), value TEXT, created_at_time BIGINT, PRIMARY KEY (app_id, tenant_id, name),
      FOREIGN KEY (app_id, tenant_id) REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE TABLE ${t("app_id_to_user_id")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id CHAR(36) NOT NULL,
      recipe_id VARCHAR(128) NOT NULL,
      ${linking ? linkingColumns : ""}
      ${rework ? reworkColumns : ""}
      PRIMARY KEY (app_id, user_id),
      ${linking ? selfKey : ""}
      FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE TABLE ${t("all_auth_recipe_users")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id CHAR(36) NOT NULL,
      ${linking ? linkingColumns : ""}
      recipe_id VARCHAR(128) NOT NULL, time_joined BIGINT NOT NULL,
      ${linking ? "primary_or_recipe_user_time_joined BIGINT NOT NULL," : ""}
      PRIMARY KEY (app_id, tenant_id, user_id),
      FOREIGN KEY (app_id, tenant_id) REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE,
      FOREIGN KEY (app_id, user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE TABLE ${t("emailpassword_users")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL, password_hash VARCHAR(256) NOT NULL, time_joined BIGINT NOT NULL,
      PRIMARY KEY (app_id, user_id),
      FOREIGN KEY (app_id, user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE TABLE ${t("emailpassword_user_to_tenant")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id CHAR(36) NOT NULL, email VARCHAR(256) NOT NULL,
      UNIQUE (app_id, tenant_id, email), PRIMARY KEY (app_id, tenant_id, user_id),
      FOREIGN KEY (app_id, tenant_id, user_id) REFERENCES ${t("all_auth_recipe_users")} (app_id, tenant_id, user_id)
        ON DELETE CASCADE)`,
    `CREATE TABLE ${t("emailpassword_pswd_reset_tokens")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL, token VARCHAR(128) NOT NULL UNIQUE, ${linking ? "email VARCHAR(256)," : ""}
      token_expiry BIGINT NOT NULL, PRIMARY KEY (app_id, user_id, token),
      FOREIGN KEY (app_id, user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    // Third-party and passwordless users: the same columns from plugin 3.0 on (their *_user_to_tenant tables, which
    // the export does not read, are left out).
    `CREATE TABLE ${t("thirdparty_users")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      third_party_id VARCHAR(28) NOT NULL, third_party_user_id VARCHAR(256) NOT NULL, user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL, time_joined BIGINT NOT NULL, PRIMARY KEY (app_id, user_id),
      FOREIGN KEY (app_id, user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE TABLE ${t("passwordless_users")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id CHAR(36) NOT NULL,
      email VARCHAR(256), phone_number VARCHAR(256), time_joined BIGINT NOT NULL, PRIMARY KEY (app_id, user_id),
      FOREIGN KEY (app_id, user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE TABLE ${t("emailverification_verified_emails")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL, email VARCHAR(256) NOT NULL, PRIMARY KEY (app_id, user_id, email),
      FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE TABLE ${t("session_info")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public', session_handle VARCHAR(255) NOT NULL,
      user_id VARCHAR(128) NOT NULL, refresh_token_hash_2 VARCHAR(128) NOT NULL, session_data TEXT,
      expires_at BIGINT NOT NULL, created_at_time BIGINT NOT NULL, jwt_user_payload TEXT,
      use_static_key BOOLEAN NOT NULL, PRIMARY KEY (app_id, tenant_id, session_handle))`,
    `CREATE TABLE ${t("session_access_token_signing_keys")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT NOT NULL, value TEXT, PRIMARY KEY (app_id, created_at_time))`,
    `CREATE TABLE ${t("jwt_signing_keys")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', key_id VARCHAR(255) NOT NULL,
      key_string TEXT NOT NULL, algorithm VARCHAR(10) NOT NULL, created_at BIGINT, PRIMARY KEY (app_id, key_id))`,
    `CREATE TABLE ${t("userid_mapping")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      supertokens_user_id CHAR(36) NOT NULL, external_user_id VARCHAR(128) NOT NULL, external_user_id_info TEXT,
      PRIMARY KEY (app_id, supertokens_user_id, external_user_id), UNIQUE (app_id, supertokens_user_id),
      UNIQUE (app_id, external_user_id),
      FOREIGN KEY (app_id, supertokens_user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE TABLE ${t("user_metadata")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id VARCHAR(128) NOT NULL,
      user_metadata TEXT NOT NULL, PRIMARY KEY (app_id, user_id))`,
    `CREATE TABLE ${t("roles")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public', role VARCHAR(255) NOT NULL,
      PRIMARY KEY (app_id, role))`,
    `CREATE TABLE ${t("user_roles")} (app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public', user_id VARCHAR(128) NOT NULL, role VARCHAR(255) NOT NULL,
      PRIMARY KEY (app_id, tenant_id, user_id, role),
      FOREIGN KEY (app_id, role) REFERENCES ${t("roles")} (app_id, role) ON DELETE CASCADE)`,
    ...(rework
      ? [
          `CREATE TABLE ${t("recipe_user_account_infos")} (app_id VARCHAR(64) NOT NULL,
            recipe_user_id CHAR(36) NOT NULL,
            recipe_id VARCHAR(128) NOT NULL, account_info_type VARCHAR(8) NOT NULL, account_info_value TEXT NOT NULL,
            third_party_id VARCHAR(28), third_party_user_id VARCHAR(256), primary_user_id CHAR(36) NULL,
            PRIMARY KEY (app_id, recipe_id, recipe_user_id, account_info_type, third_party_id, third_party_user_id),
            FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
          `CREATE TABLE ${t("recipe_user_tenants")} (app_id VARCHAR(64) NOT NULL, recipe_user_id CHAR(36) NOT NULL,
            tenant_id VARCHAR(64) NOT NULL, recipe_id VARCHAR(128) NOT NULL, account_info_type VARCHAR(8) NOT NULL,
            account_info_value TEXT NOT NULL, third_party_id VARCHAR(28), third_party_user_id VARCHAR(256),
            PRIMARY KEY (app_id, tenant_id, recipe_id, account_info_type, third_party_id, third_party_user_id,
              account_info_value),
            FOREIGN KEY (app_id, tenant_id) REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
          `CREATE TABLE ${t("primary_user_tenants")} (app_id VARCHAR(64) NOT NULL, tenant_id VARCHAR(64) NOT NULL,
            account_info_type VARCHAR(8) NOT NULL, account_info_value TEXT NOT NULL, primary_user_id CHAR(36) NOT NULL,
            PRIMARY KEY (app_id, tenant_id, account_info_type, account_info_value),
            FOREIGN KEY (app_id, tenant_id) REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
        ]
      : []),
  ];
}

export interface CoreUser {
  id: string;
  email: string;
  hash: string;
  timeJoined: number;
  tenants: string[];
  /** The primary user it is linked to (core 7+). */
  primary?: string;
  /** Whether the user is linked or a primary user. */
  linked?: boolean;
}

const writesOld = (mode: Mode) => mode !== "MIGRATED";
const writesNew = (mode: Mode) => mode !== "LEGACY";

/** Writes a core: the app, its tenants, and each user as the core does under `mode` (12 only; older: LEGACY). */
export class CoreDb {
  constructor(
    readonly db: pg.Pool | pg.PoolClient,
    readonly spec: LayoutSpec,
    readonly appId = "public",
  ) {}

  t(name: string): string {
    return coreTable(this.spec, name);
  }

  async create(tenants: string[], mode?: Mode): Promise<void> {
    if (this.spec.schema !== "public") await this.db.query(`CREATE SCHEMA ${this.spec.schema}`);
    for (const sql of layoutDdl(this.spec)) await this.db.query(sql);
    await this.db.query(`INSERT INTO ${this.t("apps")} (app_id, created_at_time) VALUES ($1, 0)`, [this.appId]);
    for (const tenant of ["public", ...tenants])
      await this.db.query(`INSERT INTO ${this.t("tenants")} (app_id, tenant_id, created_at_time) VALUES ($1, $2, 0)`, [
        this.appId,
        tenant,
      ]);
    await this.db.query(
      `INSERT INTO ${this.t("tenant_configs")} (connection_uri_domain, app_id, tenant_id, core_config) VALUES ('', $1,
        'public', $2)`,
      [this.appId, JSON.stringify(mode ? { migration_mode: mode } : {})],
    );
  }

  async addUser(u: CoreUser, mode: Mode = "LEGACY"): Promise<void> {
    const v = this.spec.version;
    const primary = u.primary ?? u.id;
    const linked = u.linked ?? u.primary !== undefined;
    if (v === 6) {
      await this.db.query(
        `INSERT INTO ${this.t("app_id_to_user_id")} (app_id, user_id, recipe_id) VALUES ($1, $2,
        'emailpassword')`,
        [this.appId, u.id],
      );
    } else {
      // In LEGACY, plugin 9.5 leaves app_id_to_user_id.time_joined at its 0 sentinel.
      const times = v === 12 && writesNew(mode) ? [u.timeJoined, u.timeJoined] : [0, 0];
      await this.db.query(
        `INSERT INTO ${this.t("app_id_to_user_id")} (app_id, user_id, recipe_id, primary_or_recipe_user_id,
          is_linked_or_is_a_primary_user${v === 12 ? ", time_joined, primary_or_recipe_user_time_joined" : ""})
         VALUES ($1, $2, 'emailpassword', $3, $4${v === 12 ? ", $5, $6" : ""})`,
        [this.appId, u.id, primary, linked, ...(v === 12 ? times : [])],
      );
    }
    await this.db.query(
      `INSERT INTO ${this.t("emailpassword_users")} (app_id, user_id, email, password_hash, time_joined) VALUES ($1,
        $2, $3, $4, $5)`,
      [this.appId, u.id, u.email, u.hash, u.timeJoined],
    );
    for (const tenant of u.tenants) {
      if (writesOld(mode) || v < 12) {
        await this.db.query(
          v === 6
            ? `INSERT INTO ${this.t("all_auth_recipe_users")} (app_id, tenant_id, user_id, recipe_id, time_joined)
                VALUES ($1, $2, $3, 'emailpassword', $4)`
            : `INSERT INTO ${this.t("all_auth_recipe_users")} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
                is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
                VALUES ($1, $2, $3, $5, $6, 'emailpassword', $4, $4)`,
          v === 6
            ? [this.appId, tenant, u.id, u.timeJoined]
            : [this.appId, tenant, u.id, u.timeJoined, primary, linked],
        );
        await this.db.query(
          `INSERT INTO ${this.t("emailpassword_user_to_tenant")} (app_id, tenant_id, user_id, email) VALUES ($1, $2,
            $3, $4)`,
          [this.appId, tenant, u.id, u.email],
        );
      }
      if (v === 12 && writesNew(mode)) {
        await this.db.query(
          `INSERT INTO ${this.t("recipe_user_tenants")} (app_id, recipe_user_id, tenant_id, recipe_id,
            account_info_type, account_info_value, third_party_id, third_party_user_id)
           VALUES ($1, $2, $3, 'emailpassword', 'email', $4, '', '')`,
          [this.appId, u.id, tenant, u.email],
        );
      }
    }
    if (v === 12 && writesNew(mode)) {
      await this.db.query(
        `INSERT INTO ${this.t("recipe_user_account_infos")} (app_id, recipe_user_id, recipe_id, account_info_type,
          account_info_value, third_party_id, third_party_user_id, primary_user_id)
         VALUES ($1, $2, 'emailpassword', 'email', $3, '', '', $4)`,
        [this.appId, u.id, u.email, linked ? primary : null],
      );
    }
  }

  /** A third-party or passwordless login as the core writes it in LEGACY mode (linked to `primary` from core 7). */
  async addOtherLogin(u: {
    id: string;
    recipe: "thirdparty" | "passwordless";
    email: string | null;
    phone?: string;
    thirdParty?: { id: string; userId: string };
    timeJoined: number;
    tenants: string[];
    primary?: string;
  }): Promise<void> {
    const v = this.spec.version;
    const primary = u.primary ?? u.id;
    const linked = u.primary !== undefined;
    await this.db.query(
      v === 6
        ? `INSERT INTO ${this.t("app_id_to_user_id")} (app_id, user_id, recipe_id) VALUES ($1, $2, $3)`
        : `INSERT INTO ${this.t("app_id_to_user_id")} (app_id, user_id, recipe_id, primary_or_recipe_user_id,
            is_linked_or_is_a_primary_user) VALUES ($1, $2, $3, $4, $5)`,
      v === 6 ? [this.appId, u.id, u.recipe] : [this.appId, u.id, u.recipe, primary, linked],
    );
    if (u.recipe === "thirdparty")
      await this.db.query(`INSERT INTO ${this.t("thirdparty_users")} VALUES ($1, $2, $3, $4, $5, $6)`, [
        this.appId,
        u.thirdParty!.id,
        u.thirdParty!.userId,
        u.id,
        u.email,
        u.timeJoined,
      ]);
    else
      await this.db.query(`INSERT INTO ${this.t("passwordless_users")} VALUES ($1, $2, $3, $4, $5)`, [
        this.appId,
        u.id,
        u.email,
        u.phone ?? null,
        u.timeJoined,
      ]);
    for (const tenant of u.tenants)
      await this.db.query(
        v === 6
          ? `INSERT INTO ${this.t("all_auth_recipe_users")} (app_id, tenant_id, user_id, recipe_id, time_joined)
              VALUES ($1, $2, $3, $4, $5)`
          : `INSERT INTO ${this.t("all_auth_recipe_users")} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
              is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
              VALUES ($1, $2, $3, $6, $7, $4, $5, $5)`,
        v === 6
          ? [this.appId, tenant, u.id, u.recipe, u.timeJoined]
          : [this.appId, tenant, u.id, u.recipe, u.timeJoined, primary, linked],
      );
  }

  async map(superTokensUserId: string, externalUserId: string, info: string | null = null): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t("userid_mapping")} VALUES ($1, $2, $3, $4)`, [
      this.appId,
      superTokensUserId,
      externalUserId,
      info,
    ]);
  }

  async verify(userId: string, email: string): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t("emailverification_verified_emails")} VALUES ($1, $2, $3)`, [
      this.appId,
      userId,
      email,
    ]);
  }

  async metadata(userId: string, value: object): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t("user_metadata")} VALUES ($1, $2, $3)`, [
      this.appId,
      userId,
      JSON.stringify(value),
    ]);
  }

  async role(userId: string, role: string, tenant = "public"): Promise<void> {
    await this.db.query(`INSERT INTO ${this.t("roles")} VALUES ($1, $2) ON CONFLICT DO NOTHING`, [this.appId, role]);
    await this.db.query(`INSERT INTO ${this.t("user_roles")} VALUES ($1, $2, $3, $4)`, [
      this.appId,
      tenant,
      userId,
      role,
    ]);
  }

  async resetToken(userId: string, token: string, email: string, expiry: number): Promise<void> {
    const linking = this.spec.version >= 7;
    await this.db.query(
      `INSERT INTO ${this.t("emailpassword_pswd_reset_tokens")} (app_id, user_id, token, ${linking ? "email, " : ""}
        token_expiry) VALUES ($1, $2, $3, ${linking ? "$5, " : ""}$4)`,
      linking ? [this.appId, userId, token, expiry, email] : [this.appId, userId, token, expiry],
    );
  }
}
