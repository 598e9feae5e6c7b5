import { quoteIdent } from "../../sql.js";

/**
 * A core table's name as the plugin forms it: prefix (with its "_") and name, qualified unless the schema is
 * "public". The parts are validated identifiers; quoting them keeps the lower case the core's unquoted names get.
 */
export function coreTableName(schema: string, tablePrefix: string, name: string): string {
  const table = quoteIdent(`${tablePrefix}${name}`);
  return schema === "public" ? table : `${quoteIdent(schema)}.${table}`;
}

/**
 * The SuperTokens core's PostgreSQL layout as supertokens-postgresql-plugin 9.5 creates it (released with core 12;
 * checked against plugin 9.5.5 / core 12.1.1), in migration_mode LEGACY, the plugin's default: a database the dev
 * core created is one a real core of that version starts on and signs users up in, and one
 * `supertokens-migrate export` reads as it reads a real core's.
 *
 * Facts from supertokens/supertokens-postgresql-plugin at v9.5.5 (the SQL is ours):
 *   - src/main/java/io/supertokens/storage/postgresql/config/PostgreSQLConfig.java: names. A non-empty
 *     postgresql_table_names_prefix gets "_" appended; schema "public" leaves names unqualified (search_path);
 *     every name is written unquoted.
 *   - src/main/java/io/supertokens/storage/postgresql/utils/Utils.java (getConstraintName): constraint names are
 *     the prefixed table name, the column, and pkey / fkey / key; index names carry no prefix.
 *   - src/main/java/io/supertokens/storage/postgresql/queries/GeneralQueries.java (apps, tenants, key_value,
 *     app_id_to_user_id, all_auth_recipe_users, recipe_user_account_infos, recipe_user_tenants,
 *     primary_user_tenants and their indexes), EmailPasswordQueries.java, SessionQueries.java,
 *     JWTSigningQueries.java, UserIdMappingQueries.java, UserMetadataQueries.java, EmailVerificationQueries.java,
 *     MultitenancyQueries.java, UserRolesQueries.java (with the (app_id, user_id) index of user_roles that plugin
 *     8.1.2 added).
 *   - CHANGELOG.md, 9.5.0 (the reservation tables, time_joined and primary_or_recipe_user_time_joined on
 *     app_id_to_user_id with four pagination indexes, ON UPDATE CASCADE on every key to app_id_to_user_id) and 9.5.3
 *     (in LEGACY, app_id_to_user_id.time_joined keeps its 0 sentinel, which is what the dev core leaves there).
 *   - ThirdPartyQueries.java, PasswordlessQueries.java and MultitenancyQueries.java (tenant_thirdparty_providers,
 *     tenant_thirdparty_provider_clients).
 * Tables of recipes the dev core does not implement (TOTP, dashboard, OAuth, WebAuthn, bulk import) are not
 * created; the core creates them on its first start.
 */
export function coreLayoutDdl(schema: string, tablePrefix = ""): string[] {
  const t = (name: string) => coreTableName(schema, tablePrefix, name);
  // Plugin 9.5.0 put ON UPDATE CASCADE on every foreign key to app_id_to_user_id (app_id, user_id).
  const cascade = "ON DELETE CASCADE ON UPDATE CASCADE";
  return [
    `CREATE TABLE IF NOT EXISTS ${t("apps")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT,
      CONSTRAINT ${tablePrefix}apps_pkey PRIMARY KEY (app_id))`,

    `CREATE TABLE IF NOT EXISTS ${t("tenants")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT,
      CONSTRAINT ${tablePrefix}tenants_pkey PRIMARY KEY (app_id, tenant_id),
      CONSTRAINT ${tablePrefix}tenants_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS tenants_app_id_index ON ${t("tenants")} (app_id)`,

    // No foreign key to tenants: the core writes tenant_configs first and keeps it for the base tenant too.
    `CREATE TABLE IF NOT EXISTS ${t("tenant_configs")} (
      connection_uri_domain VARCHAR(256) NOT NULL DEFAULT '',
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      core_config TEXT,
      email_password_enabled BOOLEAN,
      passwordless_enabled BOOLEAN,
      third_party_enabled BOOLEAN,
      is_first_factors_null BOOLEAN,
      CONSTRAINT ${tablePrefix}tenant_configs_pkey PRIMARY KEY (connection_uri_domain, app_id, tenant_id))`,

    ...["tenant_first_factors", "tenant_required_secondary_factors"].flatMap((name) => [
      `CREATE TABLE IF NOT EXISTS ${t(name)} (
        connection_uri_domain VARCHAR(256) NOT NULL DEFAULT '',
        app_id VARCHAR(64) NOT NULL DEFAULT 'public',
        tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
        factor_id VARCHAR(128) NOT NULL,
        CONSTRAINT ${tablePrefix}${name}_pkey PRIMARY KEY (connection_uri_domain, app_id, tenant_id, factor_id),
        CONSTRAINT ${tablePrefix}${name}_tenant_id_fkey FOREIGN KEY (connection_uri_domain, app_id, tenant_id)
          REFERENCES ${t("tenant_configs")} (connection_uri_domain, app_id, tenant_id) ON DELETE CASCADE)`,
      `CREATE INDEX IF NOT EXISTS ${name}_tenant_id_index ON ${t(name)} (connection_uri_domain, app_id, tenant_id)`,
    ]),

    `CREATE TABLE IF NOT EXISTS ${t("key_value")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      name VARCHAR(128) NOT NULL,
      value TEXT,
      created_at_time BIGINT,
      CONSTRAINT ${tablePrefix}key_value_pkey PRIMARY KEY (app_id, tenant_id, name),
      CONSTRAINT ${tablePrefix}key_value_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS key_value_tenant_id_index ON ${t("key_value")} (app_id, tenant_id)`,

    // time_joined and primary_or_recipe_user_time_joined: plugin 9.5.0; 0 is the LEGACY-mode sentinel (9.5.3).
    `CREATE TABLE IF NOT EXISTS ${t("app_id_to_user_id")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      recipe_id VARCHAR(128) NOT NULL,
      primary_or_recipe_user_id CHAR(36) NOT NULL,
      is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE,
      time_joined BIGINT NOT NULL DEFAULT 0,
      primary_or_recipe_user_time_joined BIGINT NOT NULL DEFAULT 0,
      CONSTRAINT ${tablePrefix}app_id_to_user_id_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT ${tablePrefix}app_id_to_user_id_primary_or_recipe_user_id_fkey FOREIGN KEY (app_id,
        primary_or_recipe_user_id) REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade},
      CONSTRAINT ${tablePrefix}app_id_to_user_id_app_id_fkey FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON
        DELETE CASCADE)`,
    // A database created before plugin 9.5 (or by an earlier dev core) gets the columns as plugin 9.5 adds them on
    // its first start (CHANGELOG 9.5.0, migration notes), before the indexes that use them.
    `ALTER TABLE ${t("app_id_to_user_id")}
      ADD COLUMN IF NOT EXISTS time_joined BIGINT NOT NULL DEFAULT 0,
      ADD COLUMN IF NOT EXISTS primary_or_recipe_user_time_joined BIGINT NOT NULL DEFAULT 0`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_app_id_index ON ${t("app_id_to_user_id")} (app_id)`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_primary_user_id_index ON ${t("app_id_to_user_id")} ` +
      `(primary_or_recipe_user_id, app_id)`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_user_id_index ON ${t("app_id_to_user_id")} (user_id, app_id)`,
    ...paginationIndexes("app_id_to_user_id", t("app_id_to_user_id"), ""),

    `CREATE TABLE IF NOT EXISTS ${t("all_auth_recipe_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      primary_or_recipe_user_id CHAR(36) NOT NULL,
      is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE,
      recipe_id VARCHAR(128) NOT NULL,
      time_joined BIGINT NOT NULL,
      primary_or_recipe_user_time_joined BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}all_auth_recipe_users_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT ${tablePrefix}all_auth_recipe_users_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE,
      CONSTRAINT ${tablePrefix}all_auth_recipe_users_primary_or_recipe_user_id_fkey
        FOREIGN KEY (app_id, primary_or_recipe_user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade},
      CONSTRAINT ${tablePrefix}all_auth_recipe_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    ...paginationIndexes("all_auth_recipe_users", t("all_auth_recipe_users"), "tenant_id, "),
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_user_id_index ON ${t("all_auth_recipe_users")} (user_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_user_id_app_id_index ON ${t("all_auth_recipe_users")} (app_id, ` +
      `user_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_user_app_id_index ON ${t("all_auth_recipe_users")} (app_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_tenant_id_index ON ${t("all_auth_recipe_users")} (app_id, tenant_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_users_primary_user_id_index ON ${t("all_auth_recipe_users")} ` +
      `(primary_or_recipe_user_id, app_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_users_recipe_id_index ON ${t("all_auth_recipe_users")} ` +
      `(app_id, recipe_id, tenant_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL,
      password_hash VARCHAR(256) NOT NULL,
      time_joined BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}emailpassword_users_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT ${tablePrefix}emailpassword_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE INDEX IF NOT EXISTS emailpassword_users_email_index ON ${t("emailpassword_users")} (app_id, email)`,

    // The unique (app_id, tenant_id, email) key is what makes sign-up race-safe, in the core and here.
    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_user_to_tenant")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL,
      CONSTRAINT ${tablePrefix}emailpassword_user_to_tenant_email_key UNIQUE (app_id, tenant_id, email),
      CONSTRAINT ${tablePrefix}emailpassword_user_to_tenant_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT ${tablePrefix}emailpassword_user_to_tenant_user_id_fkey FOREIGN KEY (app_id, tenant_id, user_id)
        REFERENCES ${t("all_auth_recipe_users")} (app_id, tenant_id, user_id) ON DELETE CASCADE)`,

    // `token` holds sha256hex of the token sent to the user; `email` is nullable for pre-5.0 rows.
    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_pswd_reset_tokens")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      token VARCHAR(128) NOT NULL,
      email VARCHAR(256),
      token_expiry BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}emailpassword_pswd_reset_tokens_token_key UNIQUE (token),
      CONSTRAINT ${tablePrefix}emailpassword_pswd_reset_tokens_pkey PRIMARY KEY (app_id, user_id, token),
      CONSTRAINT ${tablePrefix}emailpassword_pswd_reset_tokens_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE INDEX IF NOT EXISTS emailpassword_password_reset_token_expiry_index ON ` +
      `${t("emailpassword_pswd_reset_tokens")} (token_expiry)`,
    `CREATE INDEX IF NOT EXISTS emailpassword_pswd_reset_tokens_user_id_index ON ` +
      `${t("emailpassword_pswd_reset_tokens")} (app_id, user_id)`,

    // Dynamic access-token keys: kid is "d-" + created_at_time; value is base64(SPKI DER) "|" base64(PKCS#8 DER).
    `CREATE TABLE IF NOT EXISTS ${t("session_access_token_signing_keys")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT NOT NULL,
      value TEXT,
      CONSTRAINT ${tablePrefix}session_access_token_signing_keys_pkey PRIMARY KEY (app_id, created_at_time),
      CONSTRAINT ${tablePrefix}session_access_token_signing_keys_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS access_token_signing_keys_app_id_index ON ${t("session_access_token_signing_keys")} ` +
      `(app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("session_info")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      session_handle VARCHAR(255) NOT NULL,
      user_id VARCHAR(128) NOT NULL,
      refresh_token_hash_2 VARCHAR(128) NOT NULL,
      session_data TEXT,
      expires_at BIGINT NOT NULL,
      created_at_time BIGINT NOT NULL,
      jwt_user_payload TEXT,
      use_static_key BOOLEAN NOT NULL,
      CONSTRAINT ${tablePrefix}session_info_pkey PRIMARY KEY (app_id, tenant_id, session_handle),
      CONSTRAINT ${tablePrefix}session_info_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS session_expiry_index ON ${t("session_info")} (expires_at)`,
    `CREATE INDEX IF NOT EXISTS session_info_tenant_id_index ON ${t("session_info")} (app_id, tenant_id)`,
    `CREATE INDEX IF NOT EXISTS session_info_user_id_app_id_index ON ${t("session_info")} (user_id, app_id)`,

    // Static keys (kid "s-<uuid>"), shared with POST /recipe/jwt; key_string is public "|" private.
    `CREATE TABLE IF NOT EXISTS ${t("jwt_signing_keys")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      key_id VARCHAR(255) NOT NULL,
      key_string TEXT NOT NULL,
      algorithm VARCHAR(10) NOT NULL,
      created_at BIGINT,
      CONSTRAINT ${tablePrefix}jwt_signing_keys_pkey PRIMARY KEY (app_id, key_id),
      CONSTRAINT ${tablePrefix}jwt_signing_keys_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS jwt_signing_keys_app_id_index ON ${t("jwt_signing_keys")} (app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("userid_mapping")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      supertokens_user_id CHAR(36) NOT NULL,
      external_user_id VARCHAR(128) NOT NULL,
      external_user_id_info TEXT,
      CONSTRAINT ${tablePrefix}userid_mapping_pkey PRIMARY KEY (app_id, supertokens_user_id, external_user_id),
      CONSTRAINT ${tablePrefix}userid_mapping_supertokens_user_id_key UNIQUE (app_id, supertokens_user_id),
      CONSTRAINT ${tablePrefix}userid_mapping_external_user_id_key UNIQUE (app_id, external_user_id),
      CONSTRAINT ${tablePrefix}userid_mapping_supertokens_user_id_fkey FOREIGN KEY (app_id, supertokens_user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE INDEX IF NOT EXISTS userid_mapping_supertokens_user_id_index ON ${t("userid_mapping")} (app_id, ` +
      `supertokens_user_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("user_metadata")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      user_metadata TEXT NOT NULL,
      CONSTRAINT ${tablePrefix}user_metadata_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT ${tablePrefix}user_metadata_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS user_metadata_app_id_index ON ${t("user_metadata")} (app_id)`,

    // UserRoles: roles are per app, holds per tenant. user_roles has no foreign key to roles: the core checks the
    // role when it adds a hold, and deletes the holds itself when a role goes.
    `CREATE TABLE IF NOT EXISTS ${t("roles")} (
      app_id VARCHAR(64) DEFAULT 'public',
      role VARCHAR(255) NOT NULL,
      CONSTRAINT ${tablePrefix}roles_pkey PRIMARY KEY (app_id, role),
      CONSTRAINT ${tablePrefix}roles_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS roles_app_id_index ON ${t("roles")} (app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("role_permissions")} (
      app_id VARCHAR(64) DEFAULT 'public',
      role VARCHAR(255) NOT NULL,
      permission VARCHAR(255) NOT NULL,
      CONSTRAINT ${tablePrefix}role_permissions_pkey PRIMARY KEY (app_id, role, permission),
      CONSTRAINT ${tablePrefix}role_permissions_role_fkey FOREIGN KEY (app_id, role)
        REFERENCES ${t("roles")} (app_id, role) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS role_permissions_permission_index ON ${t("role_permissions")} (app_id, permission)`,
    `CREATE INDEX IF NOT EXISTS role_permissions_role_index ON ${t("role_permissions")} (app_id, role)`,

    `CREATE TABLE IF NOT EXISTS ${t("user_roles")} (
      app_id VARCHAR(64) DEFAULT 'public',
      tenant_id VARCHAR(64) DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      role VARCHAR(255) NOT NULL,
      CONSTRAINT ${tablePrefix}user_roles_pkey PRIMARY KEY (app_id, tenant_id, user_id, role),
      CONSTRAINT ${tablePrefix}user_roles_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS user_roles_role_index ON ${t("user_roles")} (app_id, tenant_id, role)`,
    `CREATE INDEX IF NOT EXISTS user_roles_tenant_id_index ON ${t("user_roles")} (app_id, tenant_id)`,
    `CREATE INDEX IF NOT EXISTS user_roles_app_id_role_index ON ${t("user_roles")} (app_id, role)`,
    `CREATE INDEX IF NOT EXISTS user_roles_app_id_user_id_index ON ${t("user_roles")} (app_id, user_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("emailverification_verified_emails")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      email VARCHAR(256) NOT NULL,
      CONSTRAINT ${tablePrefix}emailverification_verified_emails_pkey PRIMARY KEY (app_id, user_id, email),
      CONSTRAINT ${tablePrefix}emailverification_verified_emails_app_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS emailverification_verified_emails_app_id_index ON ` +
      `${t("emailverification_verified_emails")} (app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("emailverification_tokens")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      email VARCHAR(256) NOT NULL,
      token VARCHAR(128) NOT NULL,
      token_expiry BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}emailverification_tokens_token_key UNIQUE (token),
      CONSTRAINT ${tablePrefix}emailverification_tokens_pkey PRIMARY KEY (app_id, tenant_id, user_id, email, token),
      CONSTRAINT ${tablePrefix}emailverification_tokens_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS emailverification_tokens_index ON ${t("emailverification_tokens")} (token_expiry)`,
    `CREATE INDEX IF NOT EXISTS emailverification_tokens_tenant_id_index ON ${t("emailverification_tokens")} ` +
      `(app_id, tenant_id)`,
    // Third-party and passwordless users (ThirdPartyQueries.java, PasswordlessQueries.java): a row per recipe user
    // and one per tenant it is in, whose unique keys make a provider identity, and a passwordless email or phone
    // number, unique per tenant.
    `CREATE TABLE IF NOT EXISTS ${t("thirdparty_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      third_party_id VARCHAR(28) NOT NULL,
      third_party_user_id VARCHAR(256) NOT NULL,
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL,
      time_joined BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}thirdparty_users_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT ${tablePrefix}thirdparty_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE INDEX IF NOT EXISTS thirdparty_users_email_index ON ${t("thirdparty_users")} (app_id, email)`,
    `CREATE INDEX IF NOT EXISTS thirdparty_users_thirdparty_user_id_index ON ${t("thirdparty_users")} ` +
      `(app_id, third_party_id, third_party_user_id)`,
    `CREATE TABLE IF NOT EXISTS ${t("thirdparty_user_to_tenant")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      third_party_id VARCHAR(28) NOT NULL,
      third_party_user_id VARCHAR(256) NOT NULL,
      CONSTRAINT ${tablePrefix}thirdparty_user_to_tenant_third_party_user_id_key
        UNIQUE (app_id, tenant_id, third_party_id, third_party_user_id),
      CONSTRAINT ${tablePrefix}thirdparty_user_to_tenant_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT ${tablePrefix}thirdparty_user_to_tenant_user_id_fkey FOREIGN KEY (app_id, tenant_id, user_id)
        REFERENCES ${t("all_auth_recipe_users")} (app_id, tenant_id, user_id) ON DELETE CASCADE)`,

    `CREATE TABLE IF NOT EXISTS ${t("passwordless_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256),
      phone_number VARCHAR(256),
      time_joined BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}passwordless_users_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT ${tablePrefix}passwordless_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ${cascade})`,
    `CREATE INDEX IF NOT EXISTS passwordless_users_email_index ON ${t("passwordless_users")} (app_id, email)`,
    `CREATE INDEX IF NOT EXISTS passwordless_users_phone_number_index ON ${t("passwordless_users")} ` +
      `(app_id, phone_number)`,
    `CREATE TABLE IF NOT EXISTS ${t("passwordless_user_to_tenant")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256),
      phone_number VARCHAR(256),
      CONSTRAINT ${tablePrefix}passwordless_user_to_tenant_email_key UNIQUE (app_id, tenant_id, email),
      CONSTRAINT ${tablePrefix}passwordless_user_to_tenant_phone_number_key UNIQUE (app_id, tenant_id, phone_number),
      CONSTRAINT ${tablePrefix}passwordless_user_to_tenant_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT ${tablePrefix}passwordless_user_to_tenant_user_id_fkey FOREIGN KEY (app_id, tenant_id, user_id)
        REFERENCES ${t("all_auth_recipe_users")} (app_id, tenant_id, user_id) ON DELETE CASCADE)`,

    // A tenant's third-party provider configs and their clients (MultitenancyQueries.java); maps and objects are
    // JSON text, scopes a text array.
    `CREATE TABLE IF NOT EXISTS ${t("tenant_thirdparty_providers")} (
      connection_uri_domain VARCHAR(256) NOT NULL DEFAULT '',
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      third_party_id VARCHAR(28) NOT NULL,
      name VARCHAR(64),
      authorization_endpoint TEXT,
      authorization_endpoint_query_params TEXT,
      token_endpoint TEXT,
      token_endpoint_body_params TEXT,
      user_info_endpoint TEXT,
      user_info_endpoint_query_params TEXT,
      user_info_endpoint_headers TEXT,
      jwks_uri TEXT,
      oidc_discovery_endpoint TEXT,
      require_email BOOLEAN,
      user_info_map_from_id_token_payload_user_id VARCHAR(64),
      user_info_map_from_id_token_payload_email VARCHAR(64),
      user_info_map_from_id_token_payload_email_verified VARCHAR(64),
      user_info_map_from_user_info_endpoint_user_id VARCHAR(64),
      user_info_map_from_user_info_endpoint_email VARCHAR(64),
      user_info_map_from_user_info_endpoint_email_verified VARCHAR(64),
      CONSTRAINT ${tablePrefix}tenant_thirdparty_providers_pkey
        PRIMARY KEY (connection_uri_domain, app_id, tenant_id, third_party_id),
      CONSTRAINT ${tablePrefix}tenant_thirdparty_providers_tenant_id_fkey FOREIGN KEY (connection_uri_domain, app_id,
        tenant_id) REFERENCES ${t("tenant_configs")} (connection_uri_domain, app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS tenant_thirdparty_providers_tenant_id_index ON ${t("tenant_thirdparty_providers")} ` +
      `(connection_uri_domain, app_id, tenant_id)`,
    `CREATE TABLE IF NOT EXISTS ${t("tenant_thirdparty_provider_clients")} (
      connection_uri_domain VARCHAR(256) NOT NULL DEFAULT '',
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      third_party_id VARCHAR(28) NOT NULL,
      client_type VARCHAR(64) NOT NULL DEFAULT '',
      client_id VARCHAR(256) NOT NULL,
      client_secret TEXT,
      scope VARCHAR(128)[],
      force_pkce BOOLEAN,
      additional_config TEXT,
      CONSTRAINT ${tablePrefix}tenant_thirdparty_provider_clients_pkey
        PRIMARY KEY (connection_uri_domain, app_id, tenant_id, third_party_id, client_type),
      CONSTRAINT ${tablePrefix}tenant_thirdparty_provider_clients_third_party_id_fkey FOREIGN KEY
        (connection_uri_domain, app_id, tenant_id, third_party_id) REFERENCES ${t("tenant_thirdparty_providers")}
        (connection_uri_domain, app_id, tenant_id, third_party_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS tenant_thirdparty_provider_clients_third_party_id_index ON ` +
      `${t("tenant_thirdparty_provider_clients")} (connection_uri_domain, app_id, tenant_id, third_party_id)`,

    // Passwordless sign-in attempts (PasswordlessQueries.java): a device per attempt, keyed by the hash of its id, and
    // the codes sent for it; each is tenant-specific, and a code's link_code_hash is unique in its tenant.
    `CREATE TABLE IF NOT EXISTS ${t("passwordless_devices")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      device_id_hash CHAR(44) NOT NULL,
      email VARCHAR(256),
      phone_number VARCHAR(256),
      link_code_salt CHAR(44) NOT NULL,
      failed_attempts INT NOT NULL,
      CONSTRAINT ${tablePrefix}passwordless_devices_pkey PRIMARY KEY (app_id, tenant_id, device_id_hash),
      CONSTRAINT ${tablePrefix}passwordless_devices_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS passwordless_devices_email_index ON ${t("passwordless_devices")} ` +
      `(app_id, tenant_id, email)`,
    `CREATE INDEX IF NOT EXISTS passwordless_devices_phone_number_index ON ${t("passwordless_devices")} ` +
      `(app_id, tenant_id, phone_number)`,
    `CREATE INDEX IF NOT EXISTS passwordless_devices_tenant_id_index ON ${t("passwordless_devices")} ` +
      `(app_id, tenant_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("passwordless_codes")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      code_id CHAR(36) NOT NULL,
      device_id_hash CHAR(44) NOT NULL,
      link_code_hash CHAR(44) NOT NULL,
      created_at BIGINT NOT NULL,
      CONSTRAINT ${tablePrefix}passwordless_codes_link_code_hash_key UNIQUE (app_id, tenant_id, link_code_hash),
      CONSTRAINT ${tablePrefix}passwordless_codes_pkey PRIMARY KEY (app_id, tenant_id, code_id),
      CONSTRAINT ${tablePrefix}passwordless_codes_device_id_hash_fkey FOREIGN KEY (app_id, tenant_id, device_id_hash)
        REFERENCES ${t("passwordless_devices")} (app_id, tenant_id, device_id_hash)
        ON DELETE CASCADE ON UPDATE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS passwordless_codes_created_at_index ON ${t("passwordless_codes")} ` +
      `(app_id, tenant_id, created_at)`,
    `CREATE INDEX IF NOT EXISTS passwordless_codes_device_id_hash_index ON ${t("passwordless_codes")} ` +
      `(app_id, tenant_id, device_id_hash)`,

    // The reservation tables of plugin 9.5.0. In LEGACY mode the core creates them and leaves them empty; so does the
    // dev core. third_party_id and third_party_user_id are '' outside third party (part of the keys).
    `CREATE TABLE IF NOT EXISTS ${t("recipe_user_account_infos")} (
      app_id VARCHAR(64) NOT NULL,
      recipe_user_id CHAR(36) NOT NULL,
      recipe_id VARCHAR(128) NOT NULL,
      account_info_type VARCHAR(8) NOT NULL,
      account_info_value TEXT NOT NULL,
      third_party_id VARCHAR(28),
      third_party_user_id VARCHAR(256),
      primary_user_id CHAR(36) NULL,
      CONSTRAINT ${tablePrefix}recipe_user_account_infos_pkey PRIMARY KEY (app_id, recipe_id, recipe_user_id,
        account_info_type, third_party_id, third_party_user_id),
      CONSTRAINT ${tablePrefix}recipe_user_account_infos_tenant_id_fkey FOREIGN KEY (app_id)
        REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS idx_recipe_user_account_infos_app_recipe_user ON ${t("recipe_user_account_infos")} ` +
      `(app_id, recipe_user_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("recipe_user_tenants")} (
      app_id VARCHAR(64) NOT NULL,
      recipe_user_id CHAR(36) NOT NULL,
      tenant_id VARCHAR(64) NOT NULL,
      recipe_id VARCHAR(128) NOT NULL,
      account_info_type VARCHAR(8) NOT NULL,
      account_info_value TEXT NOT NULL,
      third_party_id VARCHAR(28),
      third_party_user_id VARCHAR(256),
      CONSTRAINT ${tablePrefix}recipe_user_tenants_pkey PRIMARY KEY (app_id, tenant_id, recipe_id, account_info_type,
        third_party_id, third_party_user_id, account_info_value),
      CONSTRAINT ${tablePrefix}recipe_user_tenants_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS idx_recipe_user_tenants_tenant ON ${t("recipe_user_tenants")} (app_id, tenant_id)`,
    `CREATE INDEX IF NOT EXISTS idx_recipe_user_tenants_recipe_user_id ON ${t("recipe_user_tenants")} ` +
      `(app_id, recipe_user_id)`,
    `CREATE INDEX IF NOT EXISTS idx_recipe_user_tenants_account_info ON ${t("recipe_user_tenants")} ` +
      `(app_id, tenant_id, account_info_type, account_info_value)`,

    `CREATE TABLE IF NOT EXISTS ${t("primary_user_tenants")} (
      app_id VARCHAR(64) NOT NULL,
      tenant_id VARCHAR(64) NOT NULL,
      account_info_type VARCHAR(8) NOT NULL,
      account_info_value TEXT NOT NULL,
      primary_user_id CHAR(36) NOT NULL,
      CONSTRAINT ${tablePrefix}primary_user_tenants_pkey PRIMARY KEY (app_id, tenant_id, account_info_type,
        account_info_value),
      CONSTRAINT ${tablePrefix}primary_user_tenants_app_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS idx_primary_user_tenants_primary ON ${t("primary_user_tenants")} (primary_user_id)`,
  ];
}

/**
 * The four pagination indexes the plugin keeps on a users table: by app (and tenant, on all_auth_recipe_users),
 * optionally by recipe, on primary_or_recipe_user_time_joined both ways.
 */
function paginationIndexes(name: string, table: string, tenant: string): string[] {
  const cols = (recipe: boolean, order: "ASC" | "DESC") =>
    `(${recipe ? "recipe_id, " : ""}app_id, ${tenant}primary_or_recipe_user_time_joined ${order}, ` +
    `primary_or_recipe_user_id DESC)`;
  return [
    [false, "DESC"],
    [false, "ASC"],
    [true, "DESC"],
    [true, "ASC"],
  ].map(
    ([recipe, order], i) =>
      `CREATE INDEX IF NOT EXISTS ${name}_pagination_index${i + 1} ON ${table} ` +
      cols(recipe as boolean, order as "ASC" | "DESC"),
  );
}
