import { quoteIdent } from "../../sql.js";

/**
 * The part of the SuperTokens core's PostgreSQL layout that the dev core uses, so that a database written by
 * the dev core reads like one written by the real core (and `supertokens-migrate export` can be tested on it).
 *
 * Table names, column names and types, keys and foreign keys follow supertokens/supertokens-postgresql-plugin:
 *   - src/main/java/io/supertokens/storage/postgresql/queries/GeneralQueries.java (apps, tenants, key_value,
 *     app_id_to_user_id, all_auth_recipe_users and their indexes)
 *   - queries/EmailPasswordQueries.java, SessionQueries.java, JWTSigningQueries.java, UserIdMappingQueries.java,
 *     UserMetadataQueries.java, EmailVerificationQueries.java, MultitenancyQueries.java
 *   - src/main/resources/db/migration/common/V3__4.0.0.sql (multitenancy: app_id/tenant_id keys) and
 *     V4__5.0.0.sql (account linking columns, `email` on emailpassword_pswd_reset_tokens)
 * cross-checked against a pg_dump of a core 10/plugin 8 database. Tables of recipes the dev core does not
 * implement (third party, passwordless, roles, TOTP, dashboard, OAuth, WebAuthn, bulk import) are not created.
 *
 * Constraint and index names are the core's names for the `public` schema; they are unique per schema, so
 * each schema holds one core.
 */
export function coreLayoutDdl(schema: string): string[] {
  const t = (name: string) => `${quoteIdent(schema)}.${name}`;
  return [
    `CREATE TABLE IF NOT EXISTS ${t("apps")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT,
      CONSTRAINT apps_pkey PRIMARY KEY (app_id))`,

    `CREATE TABLE IF NOT EXISTS ${t("tenants")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT,
      CONSTRAINT tenants_pkey PRIMARY KEY (app_id, tenant_id),
      CONSTRAINT tenants_app_id_fkey FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
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
      CONSTRAINT tenant_configs_pkey PRIMARY KEY (connection_uri_domain, app_id, tenant_id))`,

    ...["tenant_first_factors", "tenant_required_secondary_factors"].flatMap((name) => [
      `CREATE TABLE IF NOT EXISTS ${t(name)} (
        connection_uri_domain VARCHAR(256) NOT NULL DEFAULT '',
        app_id VARCHAR(64) NOT NULL DEFAULT 'public',
        tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
        factor_id VARCHAR(128) NOT NULL,
        CONSTRAINT ${name}_pkey PRIMARY KEY (connection_uri_domain, app_id, tenant_id, factor_id),
        CONSTRAINT ${name}_tenant_id_fkey FOREIGN KEY (connection_uri_domain, app_id, tenant_id)
          REFERENCES ${t("tenant_configs")} (connection_uri_domain, app_id, tenant_id) ON DELETE CASCADE)`,
      `CREATE INDEX IF NOT EXISTS ${name}_tenant_id_index ON ${t(name)} (connection_uri_domain, app_id, tenant_id)`,
    ]),

    `CREATE TABLE IF NOT EXISTS ${t("key_value")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      name VARCHAR(128) NOT NULL,
      value TEXT,
      created_at_time BIGINT,
      CONSTRAINT key_value_pkey PRIMARY KEY (app_id, tenant_id, name),
      CONSTRAINT key_value_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS key_value_tenant_id_index ON ${t("key_value")} (app_id, tenant_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("app_id_to_user_id")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      recipe_id VARCHAR(128) NOT NULL,
      primary_or_recipe_user_id CHAR(36) NOT NULL,
      is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE,
      CONSTRAINT app_id_to_user_id_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT app_id_to_user_id_primary_or_recipe_user_id_fkey FOREIGN KEY (app_id, primary_or_recipe_user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE,
      CONSTRAINT app_id_to_user_id_app_id_fkey FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE
        CASCADE)`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_app_id_index ON ${t("app_id_to_user_id")} (app_id)`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_primary_user_id_index ON ${t("app_id_to_user_id")} ` +
      `(primary_or_recipe_user_id, app_id)`,
    `CREATE INDEX IF NOT EXISTS app_id_to_user_id_user_id_index ON ${t("app_id_to_user_id")} (user_id, app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("all_auth_recipe_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      primary_or_recipe_user_id CHAR(36) NOT NULL,
      is_linked_or_is_a_primary_user BOOLEAN NOT NULL DEFAULT FALSE,
      recipe_id VARCHAR(128) NOT NULL,
      time_joined BIGINT NOT NULL,
      primary_or_recipe_user_time_joined BIGINT NOT NULL,
      CONSTRAINT all_auth_recipe_users_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT all_auth_recipe_users_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE,
      CONSTRAINT all_auth_recipe_users_primary_or_recipe_user_id_fkey FOREIGN KEY (app_id, primary_or_recipe_user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE,
      CONSTRAINT all_auth_recipe_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_users_pagination_index1 ON ${t("all_auth_recipe_users")}
      (app_id, tenant_id, primary_or_recipe_user_time_joined DESC, primary_or_recipe_user_id DESC)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_users_pagination_index2 ON ${t("all_auth_recipe_users")}
      (app_id, tenant_id, primary_or_recipe_user_time_joined ASC, primary_or_recipe_user_id DESC)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_user_id_index ON ${t("all_auth_recipe_users")} (user_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_user_id_app_id_index ON ${t("all_auth_recipe_users")} (app_id, ` +
      `user_id)`,
    `CREATE INDEX IF NOT EXISTS all_auth_recipe_tenant_id_index ON ${t("all_auth_recipe_users")} (app_id, tenant_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_users")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL,
      password_hash VARCHAR(256) NOT NULL,
      time_joined BIGINT NOT NULL,
      CONSTRAINT emailpassword_users_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT emailpassword_users_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS emailpassword_users_email_index ON ${t("emailpassword_users")} (app_id, email)`,

    // The unique (app_id, tenant_id, email) key is what makes sign-up race-safe, in the core and here.
    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_user_to_tenant")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      tenant_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      email VARCHAR(256) NOT NULL,
      CONSTRAINT emailpassword_user_to_tenant_email_key UNIQUE (app_id, tenant_id, email),
      CONSTRAINT emailpassword_user_to_tenant_pkey PRIMARY KEY (app_id, tenant_id, user_id),
      CONSTRAINT emailpassword_user_to_tenant_user_id_fkey FOREIGN KEY (app_id, tenant_id, user_id)
        REFERENCES ${t("all_auth_recipe_users")} (app_id, tenant_id, user_id) ON DELETE CASCADE)`,

    // `token` holds sha256hex of the token sent to the user; `email` is nullable for pre-5.0 rows.
    `CREATE TABLE IF NOT EXISTS ${t("emailpassword_pswd_reset_tokens")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id CHAR(36) NOT NULL,
      token VARCHAR(128) NOT NULL,
      email VARCHAR(256),
      token_expiry BIGINT NOT NULL,
      CONSTRAINT emailpassword_pswd_reset_tokens_token_key UNIQUE (token),
      CONSTRAINT emailpassword_pswd_reset_tokens_pkey PRIMARY KEY (app_id, user_id, token),
      CONSTRAINT emailpassword_pswd_reset_tokens_user_id_fkey FOREIGN KEY (app_id, user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE ON UPDATE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS emailpassword_password_reset_token_expiry_index ON ` +
      `${t("emailpassword_pswd_reset_tokens")} (token_expiry)`,
    `CREATE INDEX IF NOT EXISTS emailpassword_pswd_reset_tokens_user_id_index ON ` +
      `${t("emailpassword_pswd_reset_tokens")} (app_id, user_id)`,

    // Dynamic access-token keys: kid is "d-" + created_at_time; value is base64(SPKI DER) "|" base64(PKCS#8 DER).
    `CREATE TABLE IF NOT EXISTS ${t("session_access_token_signing_keys")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      created_at_time BIGINT NOT NULL,
      value TEXT,
      CONSTRAINT session_access_token_signing_keys_pkey PRIMARY KEY (app_id, created_at_time),
      CONSTRAINT session_access_token_signing_keys_app_id_fkey FOREIGN KEY (app_id)
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
      CONSTRAINT session_info_pkey PRIMARY KEY (app_id, tenant_id, session_handle),
      CONSTRAINT session_info_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
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
      CONSTRAINT jwt_signing_keys_pkey PRIMARY KEY (app_id, key_id),
      CONSTRAINT jwt_signing_keys_app_id_fkey FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS jwt_signing_keys_app_id_index ON ${t("jwt_signing_keys")} (app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("userid_mapping")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      supertokens_user_id CHAR(36) NOT NULL,
      external_user_id VARCHAR(128) NOT NULL,
      external_user_id_info TEXT,
      CONSTRAINT userid_mapping_pkey PRIMARY KEY (app_id, supertokens_user_id, external_user_id),
      CONSTRAINT userid_mapping_supertokens_user_id_key UNIQUE (app_id, supertokens_user_id),
      CONSTRAINT userid_mapping_external_user_id_key UNIQUE (app_id, external_user_id),
      CONSTRAINT userid_mapping_supertokens_user_id_fkey FOREIGN KEY (app_id, supertokens_user_id)
        REFERENCES ${t("app_id_to_user_id")} (app_id, user_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS userid_mapping_supertokens_user_id_index ON ${t("userid_mapping")} (app_id, ` +
      `supertokens_user_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("user_metadata")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      user_metadata TEXT NOT NULL,
      CONSTRAINT user_metadata_pkey PRIMARY KEY (app_id, user_id),
      CONSTRAINT user_metadata_app_id_fkey FOREIGN KEY (app_id) REFERENCES ${t("apps")} (app_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS user_metadata_app_id_index ON ${t("user_metadata")} (app_id)`,

    `CREATE TABLE IF NOT EXISTS ${t("emailverification_verified_emails")} (
      app_id VARCHAR(64) NOT NULL DEFAULT 'public',
      user_id VARCHAR(128) NOT NULL,
      email VARCHAR(256) NOT NULL,
      CONSTRAINT emailverification_verified_emails_pkey PRIMARY KEY (app_id, user_id, email),
      CONSTRAINT emailverification_verified_emails_app_id_fkey FOREIGN KEY (app_id)
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
      CONSTRAINT emailverification_tokens_token_key UNIQUE (token),
      CONSTRAINT emailverification_tokens_pkey PRIMARY KEY (app_id, tenant_id, user_id, email, token),
      CONSTRAINT emailverification_tokens_tenant_id_fkey FOREIGN KEY (app_id, tenant_id)
        REFERENCES ${t("tenants")} (app_id, tenant_id) ON DELETE CASCADE)`,
    `CREATE INDEX IF NOT EXISTS emailverification_tokens_index ON ${t("emailverification_tokens")} (token_expiry)`,
    `CREATE INDEX IF NOT EXISTS emailverification_tokens_tenant_id_index ON ${t("emailverification_tokens")} ` +
      `(app_id, tenant_id)`,
  ];
}
