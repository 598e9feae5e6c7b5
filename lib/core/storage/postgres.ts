import { createPrivateKey, createPublicKey } from "node:crypto";
import { readOptions, type OptionKeys } from "../../options.js";
import { log } from "../../debug.js";
import { ConfigError } from "../../errors.js";
import { queryRows, quoteIdent } from "../../sql.js";
import { importUsersOneByOne, mergeMetadata } from "./import-users.js";
import { PostgresPasswordlessCodeStorage } from "./passwordless-postgres.js";
import { coreLayoutDdl, coreTableName } from "./postgres-schema.js";
import { PostgresRoleStorage } from "./roles-postgres.js";
import type {
  AppRecord,
  AppStorage,
  CoreStorage,
  ImportUserOutcome,
  ImportUserRecord,
  ListUsersQuery,
  OneTimeTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  TenantRecord,
  UserIdMappingRecord,
  UserRecord,
  AccountInfoQuery,
  AuthRecipeId,
  EmailPasswordUserRecord,
  InsertUserResult,
  UserPatch,
  PasswordlessUserRecord,
} from "./types.js";
import { applyPatch } from "./users.js";

const debug = log.extend("core");

/** Users per batch statement of importUsers: a few hundred kB of JSON, well under a second of work. */
const importBatchSize = 1000;

/**
 * What PostgresStorage needs from a driver. A `pg.Pool`, a `pg.Client` and PGlite all fit. Every method below
 * is one SQL statement (data-modifying CTEs where several tables change), so no call needs a transaction that
 * spans queries, and a pool may send each query down a different connection.
 */
export interface SqlQueryable {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** A row as the driver returns it; each query below names the columns it reads (BIGINT: string, number or bigint). */
type Row = Record<string, unknown>;

type CountRow = { n: number };
type SessionRow = {
  session_handle: string;
  user_id: string;
  primary_user_id?: string | null;
  tenant_id: string;
  jwt_user_payload: string | null;
  session_data: string | null;
  refresh_token_hash_2: string;
  expires_at: unknown;
  created_at_time: unknown;
  use_static_key: unknown;
};
type AnyUserRow = {
  user_id: string;
  recipe_id: string;
  primary_id: string;
  linked: boolean;
  email: string | null;
  password_hash: string | null;
  third_party_id: string | null;
  third_party_user_id: string | null;
  phone_number: string | null;
  time_joined: unknown;
  tenant_ids: string[];
};
type UserRow = { user_id: string; email: string; password_hash: string; time_joined: unknown; tenant_ids: string[] };
type ResetTokenRow = { user_id: string; token: string; email: string | null; token_expiry: unknown };
type ConfigRow = {
  core_config: string | null;
  is_first_factors_null: unknown;
  first_factors: string[] | null;
  required_secondary_factors: string[] | null;
};

export interface PostgresStorageOptions {
  /**
   * Schema holding the core's tables: the core's `postgresql_table_schema`, as its config holds it (written unquoted,
   * so folded to lower case). With `"public"` the names are left unqualified and the connection's `search_path`
   * decides, as in the core. Default `"public"`, as the core's own default.
   */
  schema?: string;
  /**
   * The core's `postgresql_table_names_prefix`, as its config holds it: `"st"` gives `st_emailpassword_users`. Two
   * cores may share a schema with different prefixes. Default `""`.
   */
  tablePrefix?: string;
}

interface PostgresStorageConfig {
  readonly schema: string;
  /** With its "_" when not empty, lower-cased. */
  readonly tablePrefix: string;
}

const POSTGRES_STORAGE_KEYS = { schema: true, tablePrefix: true } satisfies OptionKeys<PostgresStorageOptions>;

/** Every default of PostgresStorage, and nowhere else. */
export const POSTGRES_STORAGE_DEFAULTS = Object.freeze({ schema: "public", tablePrefix: "" });

function resolveOptions(options: PostgresStorageOptions): PostgresStorageConfig {
  readOptions("PostgresStorage", options, POSTGRES_STORAGE_KEYS);
  const schema = options.schema ?? POSTGRES_STORAGE_DEFAULTS.schema;
  // What PostgreSQL takes unquoted; it folds ASCII letters to lower case, and so do we.
  if (typeof schema !== "string" || !/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(schema.trim())) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `PostgresStorage: \`schema\` must be a PostgreSQL identifier ([A-Za-z_][A-Za-z0-9_$]*, at most 63 ` +
        `characters), as the core's postgresql_table_schema; ` +
        `received ${JSON.stringify(schema)}. Leave it undefined for "public".`,
    );
  }
  const prefix = options.tablePrefix ?? POSTGRES_STORAGE_DEFAULTS.tablePrefix;
  if (typeof prefix !== "string" || !/^[A-Za-z0-9_]{0,30}$/.test(prefix.trim())) {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      `PostgresStorage: \`tablePrefix\` must be letters, digits and _ (at most 30), as the core's ` +
        `postgresql_table_names_prefix; received ${JSON.stringify(prefix)}. Leave it undefined for no prefix.`,
    );
  }
  // The core trims the prefix and puts "_" between a non-empty prefix and each table name.
  const folded = prefix.trim().toLowerCase();
  return Object.freeze({ schema: schema.trim().toLowerCase(), tablePrefix: folded ? `${folded}_` : "" });
}

/** The key_value row where the core keeps its refresh-token key; the dev core keeps its refresh MAC secret there. */
const refreshKeyName = "refresh_token_key";
/** `connection_uri_domain` of every tenant_configs row the dev core writes (it routes by app and tenant only). */
const noDomain = "";

// BIGINT arrives as a string from pg and as a number or bigint from other drivers.
const num = (v: unknown): number => Number(v);
const json = (v: unknown): string => JSON.stringify(v);
// JSON lives in TEXT columns (core_config, session_data, jwt_user_payload, user_metadata).
const parseJson = <T>(v: string | null | undefined, fallback: T): T =>
  v === null || v === undefined ? fallback : (JSON.parse(v) as T);

/** The core's key string: base64 SPKI DER "|" base64 PKCS#8 DER (older cores used ";"). */
function keyStringFromPem(record: SigningKeyRecord): string {
  const pub = createPublicKey(record.publicKey).export({ type: "spki", format: "der" }).toString("base64");
  const priv = createPrivateKey(record.privateKey).export({ type: "pkcs8", format: "der" }).toString("base64");
  return `${pub}|${priv}`;
}

function pemFromKeyString(keyString: string): { publicKey: string; privateKey: string } {
  const [pub, priv] = keyString.split(/[|;]/);
  return {
    publicKey: createPublicKey({ key: Buffer.from(pub ?? "", "base64"), format: "der", type: "spki" })
      .export({ type: "spki", format: "pem" })
      .toString(),
    privateKey: createPrivateKey({ key: Buffer.from(priv ?? "", "base64"), format: "der", type: "pkcs8" })
      .export({ type: "pkcs8", format: "pem" })
      .toString(),
  };
}

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e?.code !== "23505") return false;
  // The constraint carries the table prefix in front (the core's Utils.getConstraintName).
  return typeof e.constraint === "string" ? e.constraint.endsWith(constraint) : String(e.message).includes(constraint);
}

/** Provider config keys and the tenant_thirdparty_providers columns that hold them (JSON text for objects). */
const providerFields: [string, string, "text" | "json" | "bool"][] = [
  ["thirdPartyId", "third_party_id", "text"],
  ["name", "name", "text"],
  ["authorizationEndpoint", "authorization_endpoint", "text"],
  ["authorizationEndpointQueryParams", "authorization_endpoint_query_params", "json"],
  ["tokenEndpoint", "token_endpoint", "text"],
  ["tokenEndpointBodyParams", "token_endpoint_body_params", "json"],
  ["userInfoEndpoint", "user_info_endpoint", "text"],
  ["userInfoEndpointQueryParams", "user_info_endpoint_query_params", "json"],
  ["userInfoEndpointHeaders", "user_info_endpoint_headers", "json"],
  ["jwksURI", "jwks_uri", "text"],
  ["oidcDiscoveryEndpoint", "oidc_discovery_endpoint", "text"],
  ["requireEmail", "require_email", "bool"],
];
const userInfoMapFields: [string, string, string][] = [
  ["fromIdTokenPayload", "userId", "user_info_map_from_id_token_payload_user_id"],
  ["fromIdTokenPayload", "email", "user_info_map_from_id_token_payload_email"],
  ["fromIdTokenPayload", "emailVerified", "user_info_map_from_id_token_payload_email_verified"],
  ["fromUserInfoAPI", "userId", "user_info_map_from_user_info_endpoint_user_id"],
  ["fromUserInfoAPI", "email", "user_info_map_from_user_info_endpoint_email"],
  ["fromUserInfoAPI", "emailVerified", "user_info_map_from_user_info_endpoint_email_verified"],
];
const providerColumns = [...providerFields.map(([, c]) => c), ...userInfoMapFields.map(([, , c]) => c)];
const clientFields: [string, string][] = [
  ["clientType", "client_type"],
  ["clientId", "client_id"],
  ["clientSecret", "client_secret"],
  ["scope", "scope"],
  ["forcePKCE", "force_pkce"],
  ["additionalConfig", "additional_config"],
];

type Obj = Record<string, unknown>;

/** A provider config as rows of tenant_thirdparty_providers and tenant_thirdparty_provider_clients. */
function providerToRow(p: Obj): { row: Obj; clients: Obj[] } {
  const row: Obj = {};
  for (const [key, col, kind] of providerFields) {
    const v = p[key];
    row[col] = v == null ? null : kind === "json" ? json(v) : kind === "bool" ? String(v === true) : v;
  }
  const map = (p.userInfoMap ?? {}) as Record<string, Obj | undefined>;
  for (const [part, key, col] of userInfoMapFields) row[col] = map[part]?.[key] ?? null;
  const clients = ((p.clients ?? []) as Obj[]).map((c) => {
    const out: Obj = { third_party_id: p.thirdPartyId };
    for (const [key, col] of clientFields) out[col] = c[key] ?? null;
    out.client_type ??= "";
    if (out.additional_config !== null) out.additional_config = json(out.additional_config);
    return out;
  });
  return { row, clients };
}

/** tenantRows' column: a tenant's providers with their clients, as JSON built from the rows. */
function providerColumn(t: Tables): string {
  const providerJson = [
    ...providerFields.map(([key, col, kind]) => `'${key}', ${kind === "json" ? `p.${col}::json` : `p.${col}`}`),
    ...userInfoMapFields.map(([part, key, col]) => `'${part}.${key}', p.${col}`),
  ];
  const clientJson = clientFields.map(
    ([key, col]) => `'${key}', ${col === "additional_config" ? `c.${col}::json` : `c.${col}`}`,
  );
  return `(SELECT json_agg(json_build_object(${providerJson.join(", ")},
      'clients', COALESCE((SELECT json_agg(json_build_object(${clientJson.join(", ")}) ORDER BY c.client_type)
                    FROM ${t.tenant_thirdparty_provider_clients} c
                   WHERE c.connection_uri_domain = p.connection_uri_domain AND c.app_id = p.app_id
                     AND c.tenant_id = p.tenant_id AND c.third_party_id = p.third_party_id), '[]'::json))
      ORDER BY p.third_party_id)
    FROM ${t.tenant_thirdparty_providers} p
   WHERE p.connection_uri_domain = '' AND p.app_id = t.app_id AND p.tenant_id = t.tenant_id) AS providers`;
}

/** A provider config from providerColumn's JSON: absent values left out, as the core's JSON leaves them. */
function providerFromRow(raw: Obj): Obj {
  const p: Obj = {};
  const userInfoMap: Record<string, Obj> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === null || key === "clients") continue;
    const dot = key.indexOf(".");
    if (dot < 0) p[key] = value;
    else (userInfoMap[key.slice(0, dot)] ??= {})[key.slice(dot + 1)] = value;
  }
  if (Object.keys(userInfoMap).length > 0) p.userInfoMap = userInfoMap;
  p.clients = (raw.clients as Obj[]).map((c) => {
    const client: Obj = {};
    for (const [key, value] of Object.entries(c))
      if (value !== null && !(key === "clientType" && value === "")) client[key] = value;
    return client;
  });
  return p;
}

/** Which per-tenant unique key a failed insert or update hit, as the storage's outcome. */
function duplicateOf(
  err: unknown,
): "EMAIL_ALREADY_EXISTS" | "PHONE_NUMBER_ALREADY_EXISTS" | "THIRD_PARTY_USER_ALREADY_EXISTS" | undefined {
  if (isUniqueViolation(err, "emailpassword_user_to_tenant_email_key")) return "EMAIL_ALREADY_EXISTS";
  if (isUniqueViolation(err, "passwordless_user_to_tenant_email_key")) return "EMAIL_ALREADY_EXISTS";
  if (isUniqueViolation(err, "passwordless_user_to_tenant_phone_number_key")) return "PHONE_NUMBER_ALREADY_EXISTS";
  if (isUniqueViolation(err, "thirdparty_user_to_tenant_third_party_user_id_key"))
    return "THIRD_PARTY_USER_ALREADY_EXISTS";
  return undefined;
}

/** Table names for one schema and prefix, as the core forms them (coreTableName). */
function tables(schema: string, prefix: string) {
  const names = [
    "apps",
    "tenants",
    "tenant_configs",
    "tenant_first_factors",
    "tenant_required_secondary_factors",
    "key_value",
    "app_id_to_user_id",
    "all_auth_recipe_users",
    "emailpassword_users",
    "emailpassword_user_to_tenant",
    "emailpassword_pswd_reset_tokens",
    "thirdparty_users",
    "thirdparty_user_to_tenant",
    "passwordless_users",
    "passwordless_user_to_tenant",
    "tenant_thirdparty_providers",
    "tenant_thirdparty_provider_clients",
    "session_access_token_signing_keys",
    "session_info",
    "jwt_signing_keys",
    "userid_mapping",
    "user_metadata",
    "emailverification_verified_emails",
    "emailverification_tokens",
    "passwordless_devices",
    "passwordless_codes",
    "roles",
    "role_permissions",
    "user_roles",
  ] as const;
  return Object.fromEntries(names.map((n) => [n, coreTableName(schema, prefix, n)])) as Record<
    (typeof names)[number],
    string
  >;
}
type Tables = ReturnType<typeof tables>;

/**
 * Columns of an app's or tenant's config row, joined from tenant_configs and its factor tables. The core has no
 * "required secondary factors are null" flag: no rows reads as null.
 */
function configColumns(t: Tables, appCol: string, tenantCol: string): string {
  const factors = (table: string) =>
    `(SELECT json_agg(f.factor_id ORDER BY f.factor_id) FROM ${table} f
      WHERE f.connection_uri_domain = '' AND f.app_id = ${appCol} AND f.tenant_id = ${tenantCol})`;
  return `c.core_config, c.is_first_factors_null,
    ${factors(t.tenant_first_factors)} AS first_factors,
    ${factors(t.tenant_required_secondary_factors)} AS required_secondary_factors`;
}

function configFromRow(r: ConfigRow) {
  const firstFactors = r.is_first_factors_null === false ? (r.first_factors ?? []) : null;
  return {
    coreConfig: parseJson<Record<string, unknown>>(r.core_config, {}),
    firstFactors,
    requiredSecondaryFactors: r.required_secondary_factors ?? null,
  };
}

/**
 * One statement that writes a tenant's row in `tenants` (kept if present), its tenant_configs row and its
 * factor sets. Parameters: $1 app, $2 tenant, $3 created-at, $4 core_config JSON, $5 first factors are null,
 * $6 first factors JSON array, $7 required secondary factors JSON array.
 */
function putConfigCtes(t: Tables): string {
  const factorCtes = (name: string, table: string, param: string) => `
    ${name}_del AS (DELETE FROM ${table} WHERE connection_uri_domain = '' AND app_id = $1 AND tenant_id = $2
      AND factor_id NOT IN (SELECT json_array_elements_text(${param}::json))),
    ${name}_ins AS (INSERT INTO ${table} (connection_uri_domain, app_id, tenant_id, factor_id)
      SELECT '', $1::text, $2::text, x FROM json_array_elements_text(${param}::json) AS x ON CONFLICT DO NOTHING)`;
  return `
    ten AS (INSERT INTO ${t.tenants} (app_id, tenant_id, created_at_time) VALUES ($1, $2, $3::bigint) ON CONFLICT
      DO NOTHING),
    cfg AS (INSERT INTO ${t.tenant_configs}
        (connection_uri_domain, app_id, tenant_id, core_config, email_password_enabled, passwordless_enabled,
         third_party_enabled, is_first_factors_null)
      VALUES ('${noDomain}', $1, $2, $4, TRUE, TRUE, TRUE, $5::boolean)
      ON CONFLICT (connection_uri_domain, app_id, tenant_id)
      DO UPDATE SET core_config = EXCLUDED.core_config, is_first_factors_null = EXCLUDED.is_first_factors_null),
    ${factorCtes("ff", t.tenant_first_factors, "$6")},
    ${factorCtes("sf", t.tenant_required_secondary_factors, "$7")}`;
}

function configParams(
  appId: string,
  tenantId: string,
  createdAt: number,
  c: Omit<TenantRecord, "tenantId">,
): unknown[] {
  return [
    appId,
    tenantId,
    createdAt,
    json(c.coreConfig ?? {}),
    c.firstFactors == null,
    json(c.firstFactors ?? []),
    json(c.requiredSecondaryFactors ?? []),
  ];
}

/**
 * When importUsers runs ANALYZE. On tables never analysed (a fresh schema; autovacuum comes by within a minute or
 * so, later on a busy server), the planner checks the foreign key of emailpassword_user_to_tenant through the
 * (app_id, tenant_id) index of all_auth_recipe_users instead of its primary key, so each check reads every user of
 * the tenant and an import slows down as it grows (measured: 1,000 users took 0.4 s, then 2.5, 2.9, 4.4 s). Statistics
 * taken after 1,000 users imported by this process, then at 10,000, 100,000 and so on, keep the plans right at a
 * cost of four ANALYZE runs per million users (autovacuum keeps them fresh from there).
 */
class ImportStatistics {
  private imported = 0;
  private next = importBatchSize;

  constructor(
    private readonly db: SqlQueryable,
    private readonly t: Tables,
  ) {}

  async add(users: number): Promise<void> {
    this.imported += users;
    if (this.imported < this.next) return;
    this.next = this.imported * 10;
    const t = this.t;
    const written = [
      t.app_id_to_user_id,
      t.all_auth_recipe_users,
      t.emailpassword_users,
      t.emailpassword_user_to_tenant,
      t.userid_mapping,
      t.emailverification_verified_emails,
      t.user_metadata,
    ];
    // Without the right to analyse a table, PostgreSQL skips it with a warning, not an error.
    await this.db.query(`ANALYZE ${written.join(", ")}`);
    debug("postgres storage: analysed the user tables after %d users imported", this.imported);
  }
}

class PostgresAppStorage implements AppStorage {
  constructor(
    private readonly db: SqlQueryable,
    private readonly t: Tables,
    private readonly appId: string,
    private readonly statistics: ImportStatistics,
  ) {}

  private q<R = Row>(sql: string, params: unknown[] = []): Promise<R[]> {
    return queryRows<R>(this.db, sql, [this.appId, ...params]);
  }

  private passwordlessCodeStorage: PostgresPasswordlessCodeStorage | undefined;
  get passwordlessCodes(): PostgresPasswordlessCodeStorage {
    return (this.passwordlessCodeStorage ??= new PostgresPasswordlessCodeStorage(this.db, this.t, this.appId));
  }

  private roleStorage: PostgresRoleStorage | undefined;
  get roles(): PostgresRoleStorage {
    return (this.roleStorage ??= new PostgresRoleStorage(this.db, this.t, this.appId));
  }

  // ---- signing keys: dynamic in session_access_token_signing_keys, static in jwt_signing_keys, refresh in key_value

  async listSigningKeys(): Promise<SigningKeyRecord[]> {
    const rows = await this.q<{ kid: string; type: SigningKeyRecord["type"]; created_at: unknown; key_string: string }>(
      `SELECT 'dynamic' AS type, 'd-' || created_at_time AS kid, created_at_time AS created_at, value AS key_string
         FROM ${this.t.session_access_token_signing_keys} WHERE app_id = $1
       UNION ALL
       SELECT 'static', key_id, created_at, key_string FROM ${this.t.jwt_signing_keys} WHERE app_id = $1
         AND algorithm = 'RS256'
       UNION ALL
       SELECT 'refresh', name, created_at_time, value FROM ${this.t.key_value}
         WHERE app_id = $1 AND tenant_id = 'public' AND name = '${refreshKeyName}'
       ORDER BY created_at`,
    );
    return rows.map((r) => {
      const base = { kid: String(r.kid), type: r.type, createdAt: num(r.created_at) };
      if (r.type === "refresh") return { ...base, privateKey: String(r.key_string), publicKey: "" };
      return { ...base, ...pemFromKeyString(String(r.key_string)) };
    });
  }

  async addSigningKey(key: SigningKeyRecord): Promise<void> {
    if (key.type === "refresh") {
      await this.q(
        `INSERT INTO ${this.t.key_value} (app_id, tenant_id, name, value, created_at_time) VALUES ($1, 'public', ` +
          `'${refreshKeyName}', $2, $3)`,
        [key.privateKey, key.createdAt],
      );
    } else if (key.type === "static") {
      await this.q(
        `INSERT INTO ${this.t.jwt_signing_keys} (app_id, key_id, key_string, algorithm, created_at) VALUES ($1, $2, ` +
          `$3, 'RS256', $4)`,
        [key.kid, keyStringFromPem(key), key.createdAt],
      );
    } else {
      // The core derives a dynamic key's kid from its row ("d-" + created_at_time) and stores no kid.
      if (key.kid !== `d-${key.createdAt}`)
        throw new Error(`dynamic signing key kid must be "d-${key.createdAt}", got "${key.kid}"`);
      await this.q(
        `INSERT INTO ${this.t.session_access_token_signing_keys} (app_id, created_at_time, value) VALUES ($1, $2, $3)`,
        [key.createdAt, keyStringFromPem(key)],
      );
    }
  }

  async removeSigningKeys(kids: string[]): Promise<void> {
    await this.q(
      `WITH k AS (SELECT json_array_elements_text($2::json) AS kid),
       d AS (DELETE FROM ${this.t.session_access_token_signing_keys} WHERE app_id = $1 AND 'd-' || created_at_time IN
         (SELECT kid FROM k)),
       s AS (DELETE FROM ${this.t.jwt_signing_keys} WHERE app_id = $1 AND key_id IN (SELECT kid FROM k)),
       r AS (DELETE FROM ${this.t.key_value} WHERE app_id = $1 AND tenant_id = 'public' AND name = '${refreshKeyName}'
             AND name IN (SELECT kid FROM k))
       SELECT 1`,
      [json(kids)],
    );
  }

  // ---- sessions (session_info.user_id is the recipe user id, as in the core; the primary user id is read through
  // the login method's account-linking columns and the id mapping)

  private sessionFromRow(r: SessionRow): SessionRecord {
    return {
      handle: r.session_handle,
      userId: r.primary_user_id ?? r.user_id,
      recipeUserId: r.user_id,
      tenantId: r.tenant_id,
      userDataInJWT: parseJson(r.jwt_user_payload, {}),
      userDataInDatabase: parseJson(r.session_data, {}),
      refreshTokenHash2: r.refresh_token_hash_2,
      expiry: num(r.expires_at),
      createdAt: num(r.created_at_time),
      useStaticKey: r.use_static_key === true,
    };
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.q(
      `INSERT INTO ${this.t.session_info} (app_id, tenant_id, session_handle, user_id, refresh_token_hash_2,
        session_data,
         expires_at, created_at_time, jwt_user_payload, use_static_key)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        s.tenantId,
        s.handle,
        s.recipeUserId,
        s.refreshTokenHash2,
        json(s.userDataInDatabase),
        s.expiry,
        s.createdAt,
        json(s.userDataInJWT),
        s.useStaticKey,
      ],
    );
  }

  async getSession(handle: string) {
    const [row] = await this.q<SessionRow>(
      `SELECT s.*, (SELECT COALESCE(pm.external_user_id, a.primary_or_recipe_user_id::text)
           FROM ${this.t.app_id_to_user_id} a
           LEFT JOIN ${this.t.userid_mapping} pm ON pm.app_id = a.app_id
             AND pm.supertokens_user_id = a.primary_or_recipe_user_id
          WHERE a.app_id = s.app_id AND a.is_linked_or_is_a_primary_user
            AND a.user_id = COALESCE((SELECT m.supertokens_user_id FROM ${this.t.userid_mapping} m
                                       WHERE m.app_id = s.app_id AND m.external_user_id = s.user_id), s.user_id)
        ) AS primary_user_id
         FROM ${this.t.session_info} s WHERE s.app_id = $1 AND s.session_handle = $2`,
      [handle],
    );
    return row ? this.sessionFromRow(row) : undefined;
  }

  /** Compare-and-set on refresh_token_hash_2 in one UPDATE: of two racing refreshes exactly one wins. */
  async rotateSession(handle: string, expectedHash2: string, next: { refreshTokenHash2: string; expiry: number }) {
    const rows = await this.q(
      `UPDATE ${this.t.session_info} SET refresh_token_hash_2 = $3, expires_at = $4
       WHERE app_id = $1 AND session_handle = $2 AND refresh_token_hash_2 = $5 RETURNING 1`,
      [handle, next.refreshTokenHash2, next.expiry, expectedHash2],
    );
    return rows.length > 0;
  }

  async updateSession(
    handle: string,
    patch: Partial<Pick<SessionRecord, "userDataInJWT" | "userDataInDatabase" | "useStaticKey">>,
  ) {
    const rows = await this.q(
      `UPDATE ${this.t.session_info} SET jwt_user_payload = COALESCE($3, jwt_user_payload),
         session_data = COALESCE($4, session_data), use_static_key = COALESCE($5::boolean, use_static_key)
       WHERE app_id = $1 AND session_handle = $2 RETURNING 1`,
      [
        handle,
        patch.userDataInJWT === undefined ? null : json(patch.userDataInJWT),
        patch.userDataInDatabase === undefined ? null : json(patch.userDataInDatabase),
        patch.useStaticKey ?? null,
      ],
    );
    return rows.length > 0;
  }

  async deleteSessions(handles: string[]) {
    if (handles.length === 0) return [];
    const rows = await this.q<{ session_handle: string }>(
      `DELETE FROM ${this.t.session_info} WHERE app_id = $1 AND session_handle IN
        (SELECT json_array_elements_text($2::json))
       RETURNING session_handle`,
      [json(handles)],
    );
    const gone = new Set(rows.map((r) => r.session_handle));
    return handles.filter((h) => gone.has(h));
  }

  async findSessionHandles(userIds: string[], now: number, tenantId?: string) {
    const rows = await this.q<{ session_handle: string }>(
      `SELECT session_handle FROM ${this.t.session_info}
       WHERE app_id = $1 AND user_id IN (SELECT json_array_elements_text($2::json)) AND expires_at > $3
         AND ($4::text IS NULL OR tenant_id = $4) ORDER BY created_at_time, session_handle`,
      [json(userIds), now, tenantId ?? null],
    );
    return rows.map((r) => r.session_handle);
  }

  // ---- auth recipe users (email-password, third-party, passwordless)

  /**
   * Tenants come from all_auth_recipe_users, whose (app_id, user_id) index serves the lookup (the per-tenant email
   * table has none).
   */
  private userSelect(where: string, tail = "") {
    return `SELECT u.user_id::text AS user_id, u.email, u.password_hash, u.time_joined,
        COALESCE((SELECT json_agg(r.tenant_id ORDER BY r.tenant_id) FROM ${this.t.all_auth_recipe_users} r
                  WHERE r.app_id = u.app_id AND r.user_id = u.user_id), '[]'::json) AS tenant_ids
      FROM ${this.t.emailpassword_users} u WHERE u.app_id = $1 AND ${where} ${tail}`;
  }

  private userFromRow(r: UserRow): EmailPasswordUserRecord {
    return {
      id: r.user_id,
      recipeId: "emailpassword",
      email: r.email,
      passwordHash: r.password_hash,
      timeJoined: num(r.time_joined),
      tenantIds: r.tenant_ids,
    };
  }

  /**
   * Recipe users of every recipe: app_id_to_user_id (recipe and account-linking columns) with the recipe's own row.
   * A primary user whose own login method was deleted while others stay linked keeps only its app_id_to_user_id
   * row, and is no recipe user.
   */
  private anyUserSelect(where: string, tail = "") {
    const t = this.t;
    return `SELECT a.user_id::text AS user_id, a.recipe_id, a.primary_or_recipe_user_id::text AS primary_id,
        a.is_linked_or_is_a_primary_user AS linked, COALESCE(e.email, tp.email, pl.email) AS email, e.password_hash,
        tp.third_party_id, tp.third_party_user_id, pl.phone_number,
        COALESCE(e.time_joined, tp.time_joined, pl.time_joined) AS time_joined,
        COALESCE((SELECT json_agg(r.tenant_id ORDER BY r.tenant_id) FROM ${t.all_auth_recipe_users} r
                  WHERE r.app_id = a.app_id AND r.user_id = a.user_id), '[]'::json) AS tenant_ids
      FROM ${t.app_id_to_user_id} a
      LEFT JOIN ${t.emailpassword_users} e ON a.recipe_id = 'emailpassword' AND e.app_id = a.app_id
        AND e.user_id = a.user_id
      LEFT JOIN ${t.thirdparty_users} tp ON a.recipe_id = 'thirdparty' AND tp.app_id = a.app_id
        AND tp.user_id = a.user_id
      LEFT JOIN ${t.passwordless_users} pl ON a.recipe_id = 'passwordless' AND pl.app_id = a.app_id
        AND pl.user_id = a.user_id
      WHERE a.app_id = $1 AND COALESCE(e.user_id, tp.user_id, pl.user_id) IS NOT NULL AND ${where} ${tail}`;
  }

  private anyUserFromRow(r: AnyUserRow): UserRecord {
    const base = { id: r.user_id, timeJoined: num(r.time_joined), tenantIds: r.tenant_ids };
    const link: Pick<UserRecord, "primaryOrRecipeUserId" | "isLinkedOrPrimary"> = {};
    if (r.primary_id !== r.user_id) link.primaryOrRecipeUserId = r.primary_id;
    if (r.linked) link.isLinkedOrPrimary = true;
    if (r.recipe_id === "thirdparty") {
      return {
        ...base,
        recipeId: "thirdparty",
        email: r.email!,
        thirdParty: { id: r.third_party_id!, userId: r.third_party_user_id! },
        ...link,
      };
    }
    if (r.recipe_id === "passwordless") {
      const u: PasswordlessUserRecord = { ...base, recipeId: "passwordless", ...link };
      if (r.email !== null) u.email = r.email;
      if (r.phone_number !== null) u.phoneNumber = r.phone_number;
      return u;
    }
    return { ...base, recipeId: "emailpassword", email: r.email!, passwordHash: r.password_hash!, ...link };
  }

  /**
   * The rows of a sign-up (app_id_to_user_id, all_auth_recipe_users, the recipe's users table and its per-tenant
   * table) in one statement. Two sign-ups racing for one email, phone number or provider identity: the per-tenant
   * unique key makes the loser fail whole, which is the matching *_ALREADY_EXISTS.
   */
  async insertUser(user: UserRecord): Promise<InsertUserResult> {
    const t = this.t;
    const recipeRows =
      user.recipeId === "emailpassword"
        ? `e AS (INSERT INTO ${t.emailpassword_users} (app_id, user_id, email, password_hash, time_joined)
             VALUES ($1, $2, $7, $8, $5)),
           et AS (INSERT INTO ${t.emailpassword_user_to_tenant} (app_id, tenant_id, user_id, email)
             SELECT $1::text, tenant_id, $2::text, $7::text FROM ten)`
        : user.recipeId === "thirdparty"
          ? `e AS (INSERT INTO ${t.thirdparty_users} (app_id, third_party_id, third_party_user_id, user_id, email,
               time_joined) VALUES ($1, $8, $9, $2, $7, $5)),
             et AS (INSERT INTO ${t.thirdparty_user_to_tenant} (app_id, tenant_id, user_id, third_party_id,
               third_party_user_id) SELECT $1::text, tenant_id, $2::text, $8::text, $9::text FROM ten)`
          : `e AS (INSERT INTO ${t.passwordless_users} (app_id, user_id, email, phone_number, time_joined)
               VALUES ($1, $2, $7, $8, $5)),
             et AS (INSERT INTO ${t.passwordless_user_to_tenant} (app_id, tenant_id, user_id, email, phone_number)
               SELECT $1::text, tenant_id, $2::text, $7::text, $8::text FROM ten)`;
    const extra =
      user.recipeId === "emailpassword"
        ? [user.email, user.passwordHash, null]
        : user.recipeId === "thirdparty"
          ? [user.email, user.thirdParty.id, user.thirdParty.userId]
          : [user.email ?? null, user.phoneNumber ?? null, null];
    const primaryId = user.primaryOrRecipeUserId ?? user.id;
    try {
      await this.q(
        `WITH ten AS (SELECT json_array_elements_text($6::json) AS tenant_id),
         a AS (INSERT INTO ${t.app_id_to_user_id} (app_id, user_id, recipe_id, primary_or_recipe_user_id,
           is_linked_or_is_a_primary_user)
               VALUES ($1, $2, $3, $4, $10)),
         r AS (INSERT INTO ${t.all_auth_recipe_users} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
                 is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
               SELECT $1::text, tenant_id, $2::text, $4::text, $10::boolean, $3::text, $5::bigint, $5::bigint
               FROM ten),
         ${recipeRows}
         SELECT $9::text AS unused`,
        [
          user.id,
          user.recipeId,
          primaryId,
          user.timeJoined,
          json(user.tenantIds),
          ...extra,
          user.isLinkedOrPrimary ?? false,
        ],
      );
      return "OK" as const;
    } catch (err) {
      return duplicateOf(err) ?? Promise.reject(err);
    }
  }

  async getUser(id: string): Promise<UserRecord | undefined> {
    const [row] = await this.q<AnyUserRow>(this.anyUserSelect("a.user_id = $2"), [id]);
    return row ? this.anyUserFromRow(row) : undefined;
  }

  async findUsersByEmail(email: string, tenantId: string) {
    const rows = await this.q<UserRow>(
      this.userSelect(
        `EXISTS (SELECT 1 FROM ${this.t.emailpassword_user_to_tenant} x WHERE x.app_id = u.app_id
          AND x.user_id = u.user_id
                 AND x.tenant_id = $2 AND x.email = $3)`,
        "ORDER BY u.time_joined",
      ),
      [tenantId, email],
    );
    return rows.map((r) => this.userFromRow(r));
  }

  async findUsersByAccountInfo(info: AccountInfoQuery, tenantId?: string): Promise<UserRecord[]> {
    const rows = await this.q<AnyUserRow>(
      this.anyUserSelect(
        `(($3::text IS NOT NULL AND (e.email = $3 OR tp.email = $3 OR pl.email = $3))
          OR ($4::text IS NOT NULL AND pl.phone_number = $4)
          OR ($5::text IS NOT NULL AND tp.third_party_id = $5 AND tp.third_party_user_id = $6))
         AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM ${this.t.all_auth_recipe_users} x
               WHERE x.app_id = a.app_id AND x.user_id = a.user_id AND x.tenant_id = $2))`,
        `ORDER BY time_joined, a.user_id::text COLLATE "C"`,
      ),
      [
        tenantId ?? null,
        info.email ?? null,
        info.phoneNumber ?? null,
        info.thirdParty?.id ?? null,
        info.thirdParty?.userId ?? null,
      ],
    );
    return rows.map((r) => this.anyUserFromRow(r));
  }

  async getLinkedUsers(primaryOrRecipeUserId: string): Promise<UserRecord[]> {
    const rows = await this.q<AnyUserRow>(
      this.anyUserSelect(`a.primary_or_recipe_user_id = $2`, `ORDER BY time_joined, a.user_id::text COLLATE "C"`),
      [primaryOrRecipeUserId],
    );
    return rows.map((r) => this.anyUserFromRow(r));
  }

  /**
   * The account-linking columns of app_id_to_user_id and all_auth_recipe_users, then the group's
   * primary_or_recipe_user_time_joined (its oldest login method), which the listing orders by.
   */
  async setLink(recipeUserId: string, primaryUserId: string | undefined): Promise<boolean> {
    const t = this.t;
    const [row] = await this.q<CountRow & { old: string | null }>(
      `WITH old AS (SELECT primary_or_recipe_user_id::text AS id FROM ${t.app_id_to_user_id}
                     WHERE app_id = $1 AND user_id = $2),
       a AS (UPDATE ${t.app_id_to_user_id} SET primary_or_recipe_user_id = COALESCE($3, $2),
               is_linked_or_is_a_primary_user = ($3::text IS NOT NULL)
             WHERE app_id = $1 AND user_id = $2 RETURNING 1),
       r AS (UPDATE ${t.all_auth_recipe_users} SET primary_or_recipe_user_id = COALESCE($3, $2),
               is_linked_or_is_a_primary_user = ($3::text IS NOT NULL)
             WHERE app_id = $1 AND user_id = $2)
       SELECT (SELECT count(*)::int FROM a) AS n, (SELECT id FROM old) AS old`,
      [recipeUserId, primaryUserId ?? null],
    );
    if (row.n === 0) return false;
    for (const group of new Set([primaryUserId ?? recipeUserId, row.old ?? recipeUserId])) {
      await this.q(
        `UPDATE ${t.all_auth_recipe_users} r SET primary_or_recipe_user_time_joined = m.tj
           FROM (SELECT min(time_joined) AS tj FROM ${t.all_auth_recipe_users}
                  WHERE app_id = $1 AND primary_or_recipe_user_id = $2) m
          WHERE r.app_id = $1 AND r.primary_or_recipe_user_id = $2 AND m.tj IS NOT NULL`,
        [group],
      );
    }
    return true;
  }

  /**
   * Email, hash, phone number and tenant set in one statement. Uniqueness per tenant is the per-tenant table's
   * unique key, so a concurrent sign-up cannot slip in between a check and the write. Rows kept, removed and added
   * touch disjoint tenants, which a single statement needs.
   */
  async updateUser(id: string, patch: UserPatch) {
    const current = await this.getUser(id);
    if (!current) return "UNKNOWN_USER" as const;
    if (current.recipeId === "emailpassword") return this.updateEmailPasswordUser(id, patch);
    const t = this.t;
    const next = applyPatch(current, patch);
    const tp = current.recipeId === "thirdparty";
    const users = tp ? t.thirdparty_users : t.passwordless_users;
    const perTenant = tp ? t.thirdparty_user_to_tenant : t.passwordless_user_to_tenant;
    const phone = next.recipeId === "passwordless" ? (next.phoneNumber ?? null) : null;
    const primaryId = current.primaryOrRecipeUserId ?? id;
    try {
      await this.q(
        `WITH nt AS (SELECT json_array_elements_text($5::json) AS tenant_id),
         u AS (UPDATE ${users} SET email = $3${tp ? "" : ", phone_number = $4"}
               WHERE app_id = $1 AND user_id = $2 RETURNING time_joined),
         et AS (UPDATE ${perTenant} SET ${tp ? "third_party_id = third_party_id" : "email = $3, phone_number = $4"}
                WHERE app_id = $1 AND user_id = $2 AND tenant_id IN (SELECT tenant_id FROM nt)),
         dt AS (DELETE FROM ${perTenant}
                WHERE app_id = $1 AND user_id = $2 AND tenant_id NOT IN (SELECT tenant_id FROM nt)),
         da AS (DELETE FROM ${t.all_auth_recipe_users}
                WHERE app_id = $1 AND user_id = $2 AND tenant_id NOT IN (SELECT tenant_id FROM nt)),
         ia AS (INSERT INTO ${t.all_auth_recipe_users} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
                  is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
                SELECT $1::text, nt.tenant_id, $2::text, $6::text, $7::boolean, $8::text, u.time_joined,
                  u.time_joined FROM nt, u
                ON CONFLICT DO NOTHING),
         it AS (INSERT INTO ${perTenant} ${
           tp
             ? `(app_id, tenant_id, user_id, third_party_id, third_party_user_id)
                SELECT $1::text, nt.tenant_id, $2::text, $9::text, $10::text FROM nt`
             : `(app_id, tenant_id, user_id, email, phone_number)
                SELECT $1::text, nt.tenant_id, $2::text, $3::text, $4::text FROM nt`
         }
                ON CONFLICT (app_id, tenant_id, user_id) DO NOTHING)
         SELECT $4::text, $9::text, $10::text`,
        [
          id,
          next.email ?? null,
          phone,
          json(next.tenantIds),
          primaryId,
          current.isLinkedOrPrimary ?? false,
          current.recipeId,
          tp ? current.thirdParty.id : null,
          tp ? current.thirdParty.userId : null,
        ],
      );
      return "OK" as const;
    } catch (err) {
      const dup = duplicateOf(err);
      if (dup === "EMAIL_ALREADY_EXISTS" || dup === "PHONE_NUMBER_ALREADY_EXISTS") return dup;
      throw err;
    }
  }

  private async updateEmailPasswordUser(id: string, patch: UserPatch) {
    if (patch.email === null) throw new Error("an email-password user keeps an email");
    try {
      const [row] = await this.q<CountRow>(
        `WITH nt AS (SELECT json_array_elements_text($5::json) AS tenant_id),
         u AS (UPDATE ${this.t.emailpassword_users}
           SET email = COALESCE($3, email), password_hash = COALESCE($4, password_hash)
               WHERE app_id = $1 AND user_id = $2 RETURNING time_joined, email),
         cur AS (SELECT primary_or_recipe_user_id AS pid, is_linked_or_is_a_primary_user AS linked
                   FROM ${this.t.app_id_to_user_id} WHERE app_id = $1 AND user_id = $2),
         et AS (UPDATE ${this.t.emailpassword_user_to_tenant} SET email = $3
                WHERE $3::text IS NOT NULL AND app_id = $1 AND user_id = $2
                  AND ($5::json IS NULL OR tenant_id IN (SELECT tenant_id FROM nt))),
         dt AS (DELETE FROM ${this.t.emailpassword_user_to_tenant}
                WHERE $5::json IS NOT NULL AND app_id = $1 AND user_id = $2 AND tenant_id NOT IN (SELECT tenant_id
                  FROM nt)),
         da AS (DELETE FROM ${this.t.all_auth_recipe_users}
                WHERE $5::json IS NOT NULL AND app_id = $1 AND user_id = $2 AND tenant_id NOT IN (SELECT tenant_id
                  FROM nt)),
         ia AS (INSERT INTO ${this.t.all_auth_recipe_users} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
                  is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
                SELECT $1::text, nt.tenant_id, $2::text, cur.pid, cur.linked, 'emailpassword', u.time_joined,
                  u.time_joined FROM nt, u, cur
                ON CONFLICT DO NOTHING),
         it AS (INSERT INTO ${this.t.emailpassword_user_to_tenant} (app_id, tenant_id, user_id, email)
                SELECT $1::text, nt.tenant_id, $2::text, u.email FROM nt, u
                ON CONFLICT (app_id, tenant_id, user_id) DO NOTHING)
         SELECT count(*)::int AS n FROM u`,
        [
          id,
          patch.email ?? null,
          patch.passwordHash ?? null,
          patch.tenantIds === undefined ? null : json(patch.tenantIds),
        ],
      );
      return row.n > 0 ? ("OK" as const) : ("UNKNOWN_USER" as const);
    } catch (err) {
      if (isUniqueViolation(err, "emailpassword_user_to_tenant_email_key")) return "EMAIL_ALREADY_EXISTS" as const;
      throw err;
    }
  }

  /**
   * Deleting the app_id_to_user_id row cascades, as in the core, to the user's auth rows, reset tokens and mapping.
   * A primary user's own login method while others are linked to it: only its recipe rows go, the id stays for them
   * (and goes with the last of them).
   */
  async deleteUser(id: string) {
    const t = this.t;
    const [row] = await this.q<CountRow>(
      `WITH others AS (SELECT 1 FROM ${t.app_id_to_user_id}
                        WHERE app_id = $1 AND primary_or_recipe_user_id = $2 AND user_id <> $2 LIMIT 1),
       d AS (DELETE FROM ${t.app_id_to_user_id} WHERE app_id = $1 AND user_id = $2
               AND NOT EXISTS (SELECT 1 FROM others) RETURNING 1),
       r AS (DELETE FROM ${t.all_auth_recipe_users} WHERE app_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM others)),
       e AS (DELETE FROM ${t.emailpassword_users} WHERE app_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM others) RETURNING 1),
       tp AS (DELETE FROM ${t.thirdparty_users} WHERE app_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM others) RETURNING 1),
       pl AS (DELETE FROM ${t.passwordless_users} WHERE app_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM others) RETURNING 1)
       SELECT ((SELECT count(*) FROM d) + (SELECT count(*) FROM e) + (SELECT count(*) FROM tp)
         + (SELECT count(*) FROM pl))::int AS n`,
      [id],
    );
    return row.n > 0;
  }

  private bytewise: Promise<boolean> | undefined;

  /** Whether the database's default collation orders ids bytewise, as COLLATE "C" (and MemoryStorage) do. */
  private idsSortBytewise(): Promise<boolean> {
    this.bytewise ??= queryRows<{ c: string }>(
      this.db,
      `SELECT datcollate AS c FROM pg_database WHERE datname = current_database()`,
    ).then(
      ([row]) => /^(C|POSIX)([.].*)?$/i.test(row?.c ?? ""),
      () => false,
    );
    return this.bytewise;
  }

  /**
   * A page of one tenant's users, read through the pagination index of all_auth_recipe_users (app_id, tenant_id,
   * primary_or_recipe_user_time_joined, primary_or_recipe_user_id DESC, with recipe_id in front when filtered) as the
   * core reads it: each page costs its own size, not the table's (a full sort per page made paging through a million
   * users take hours). Two index ranges: the rest of the page token's millisecond, then the later (or earlier) ones.
   * A linked login method that is not its primary user's own is skipped, so that each primary user is one row.
   */
  private async listTenantPage(q: ListUsersQuery & { tenantId: string }): Promise<UserRecord[]> {
    const t = this.t;
    const cmp = q.order === "ASC" ? ">" : "<";
    const recipes = q.recipeIds ? `r.recipe_id = ANY($6::text[]) AND` : "";
    const range = (where: string, order: string) =>
      `(SELECT r.user_id, r.primary_or_recipe_user_time_joined AS tj, r.primary_or_recipe_user_id AS pid
          FROM ${t.all_auth_recipe_users} r
         WHERE ${recipes} r.app_id = $1 AND r.tenant_id = $2 AND ${where}
           AND NOT (r.is_linked_or_is_a_primary_user AND r.user_id <> r.primary_or_recipe_user_id)
         ORDER BY ${order} LIMIT $5)`;
    const rows = await this.q<AnyUserRow>(
      `WITH p AS (
         SELECT * FROM (
           ${range(
             `r.primary_or_recipe_user_time_joined = $3::bigint AND r.primary_or_recipe_user_id <= $4::bpchar`,
             `r.primary_or_recipe_user_id DESC`,
           )}
           UNION ALL
           ${range(
             `($3::bigint IS NULL OR r.primary_or_recipe_user_time_joined ${cmp} $3::bigint)`,
             `r.primary_or_recipe_user_time_joined ${q.order}, r.primary_or_recipe_user_id DESC`,
           )}) both_ranges
         ORDER BY tj ${q.order}, pid DESC LIMIT $5)
       SELECT x.* FROM p CROSS JOIN LATERAL (${this.anyUserSelect("a.user_id = p.user_id")}) x
       ORDER BY p.tj ${q.order}, p.pid DESC`,
      [q.tenantId, q.from?.timeJoined ?? null, q.from?.id ?? null, q.limit, ...(q.recipeIds ? [q.recipeIds] : [])],
    );
    return rows.map((r) => this.anyUserFromRow(r));
  }

  async listUsers(q: ListUsersQuery): Promise<UserRecord[]> {
    if (q.recipeIds?.length === 0) return [];
    if (q.tenantId !== undefined && !q.emailContains?.length && (await this.idsSortBytewise()))
      return this.listTenantPage({ ...q, tenantId: q.tenantId });
    // The core's order (GeneralQueries): time joined in the requested direction, then user id descending. Ids
    // compare bytewise (COLLATE "C") so pagination agrees with the in-memory storage whatever the database locale.
    // One row per primary user (its own login method); its tenants and recipes are those of all its login methods.
    const cmp = q.order === "ASC" ? ">" : "<";
    const tj = "COALESCE(e.time_joined, tp.time_joined, pl.time_joined)";
    const rows = await this.q<AnyUserRow>(
      this.anyUserSelect(
        `a.user_id = a.primary_or_recipe_user_id
         AND (($2::text IS NULL AND $6::text[] IS NULL) OR EXISTS (SELECT 1 FROM ${this.t.all_auth_recipe_users} x
            WHERE x.app_id = a.app_id AND x.primary_or_recipe_user_id = a.user_id
              AND ($2::text IS NULL OR x.tenant_id = $2) AND ($6::text[] IS NULL OR x.recipe_id = ANY($6))))
         AND ($3::bigint IS NULL OR ${tj} ${cmp} $3::bigint
              OR (${tj} = $3::bigint AND a.user_id::text COLLATE "C" <= $4::text))
         AND ($5::json IS NULL OR EXISTS (SELECT 1 FROM json_array_elements_text($5::json) AS s
             WHERE strpos(COALESCE(e.email, tp.email, pl.email), s) > 0))`,
        `ORDER BY ${tj} ${q.order}, a.user_id::text COLLATE "C" DESC LIMIT $7`,
      ),
      [
        q.tenantId ?? null,
        q.from?.timeJoined ?? null,
        q.from?.id ?? null,
        q.emailContains?.length ? json(q.emailContains) : null,
        q.recipeIds ?? null,
        q.limit,
      ],
    );
    return rows.map((r) => this.anyUserFromRow(r));
  }

  /**
   * Distinct primary-or-recipe users in one index range: a tenant's are its all_auth_recipe_users rows (one per
   * recipe user and tenant, read through the (app_id, recipe_id, tenant_id) or (app_id, tenant_id) index), the
   * app's app_id_to_user_id's. A user that is not linked is one row; only linked rows need the DISTINCT, which stays
   * cheap while few users are linked. (Joining the user tables instead took 15 s at a million users.)
   */
  async countUsers(tenantId?: string, recipeIds?: AuthRecipeId[]) {
    if (recipeIds?.length === 0) return 0;
    const counted = `count(*) FILTER (WHERE NOT is_linked_or_is_a_primary_user)
      + count(DISTINCT primary_or_recipe_user_id) FILTER (WHERE is_linked_or_is_a_primary_user)`;
    const recipes = recipeIds ? `AND recipe_id = ANY($${tenantId === undefined ? 2 : 3}::text[])` : "";
    const [row] = await this.q<CountRow>(
      tenantId === undefined
        ? `SELECT (${counted})::int AS n FROM ${this.t.app_id_to_user_id} WHERE app_id = $1 ${recipes}`
        : `SELECT (${counted})::int AS n FROM ${this.t.all_auth_recipe_users}
           WHERE app_id = $1 AND tenant_id = $2 ${recipes}`,
      [...(tenantId === undefined ? [] : [tenantId]), ...(recipeIds ? [recipeIds] : [])],
    );
    return row.n;
  }

  /**
   * Batches of importBatchSize users, each in two statements: one read of everything the one-by-one sequence would
   * look up (mapped and existing external ids, taken emails per tenant, stored metadata), then, after
   * deciding each user's outcome here in order, one INSERT … SELECT FROM unnest(…) per table in a single statement
   * (data-modifying CTEs), which PostgreSQL runs as one transaction: the batch lands whole or not at all.
   * If it fails (a concurrent sign-up took an email since the read, a tenant is missing, a user id is taken: the
   * read does not look for those, they are that rare), that batch is redone one by one, which gives each user its own
   * outcome as before.
   *
   * The columns travel as typed arrays (`unnest($2::text[], …)`, one array per column): PostgreSQL reads them
   * without the per-row key lookups of json_to_recordset, and `= ANY($n::text[])` lets the reads use the primary
   * keys on any table size. What PostgreSQL spends per user is then mostly the ~30 index entries and nine foreign
   * key checks of the layout, which no client can skip; the ids the bulk-import queue gives imported users are
   * time-ordered (newImportedUserId in bulk-import-queue.ts), so the dozen indexes keyed on user_id grow at their
   * right edge instead of at random pages.
   */
  async importUsers(records: ImportUserRecord[]): Promise<ImportUserOutcome[]> {
    const outcomes: ImportUserOutcome[] = [];
    for (let i = 0; i < records.length; i += importBatchSize) {
      const batch = records.slice(i, i + importBatchSize);
      try {
        outcomes.push(...(await this.importBatch(batch)));
      } catch (err) {
        debug("postgres storage: batch of %d users redone one by one: %s", batch.length, (err as Error).message);
        outcomes.push(...(await importUsersOneByOne(this, batch)));
      }
    }
    return outcomes;
  }

  private async importBatch(records: ImportUserRecord[]): Promise<ImportUserOutcome[]> {
    const t = this.t;
    const externalIds = records.flatMap((r) => (r.externalUserId === undefined ? [] : [r.externalUserId]));
    const pairTenants: string[] = [];
    const pairEmails: string[] = [];
    for (const r of records) {
      for (const tenant of r.user.tenantIds) {
        pairTenants.push(tenant);
        pairEmails.push(r.user.email);
      }
    }
    const dataIds = records.flatMap((r) => (r.metadataUpdate === undefined ? [] : [r.externalUserId ?? r.user.id]));
    // One probe of a unique index per key, whatever the table size: with the keys as a plain join or `= ANY(…)`, the
    // planner scans a whole table of up to a few hundred thousand users instead (it costs a probe as a disk read); a
    // LATERAL subquery with LIMIT (each key matches at most one row) cannot be flattened into that. user_id is
    // CHAR(36): compared as bpchar (no length, so never truncated) the primary key serves the lookup.
    const found = await this.q<{ kind: string; a: string; b: string | null }>(
      `SELECT 'mapped' AS kind, m.a, NULL AS b FROM unnest($2::text[]) AS k(x)
         CROSS JOIN LATERAL (SELECT m.external_user_id AS a FROM ${t.userid_mapping} m
           WHERE m.app_id = $1 AND m.external_user_id = k.x LIMIT 1) m
       UNION ALL
       SELECT 'user', u.a, NULL FROM unnest($2::text[]) AS k(x)
         CROSS JOIN LATERAL (SELECT u.user_id::text AS a FROM ${t.emailpassword_users} u
           WHERE u.app_id = $1 AND u.user_id = k.x::bpchar LIMIT 1) u
       UNION ALL
       SELECT 'email', x.tenant_id, x.email FROM unnest($3::text[], $4::text[]) AS e(tenant_id, email)
         CROSS JOIN LATERAL (SELECT x.tenant_id, x.email FROM ${t.emailpassword_user_to_tenant} x
           WHERE x.app_id = $1 AND x.tenant_id = e.tenant_id AND x.email = e.email LIMIT 1) x
       UNION ALL
       SELECT 'meta', d.user_id, d.user_metadata FROM unnest($5::text[]) AS k(x)
         CROSS JOIN LATERAL (SELECT d.user_id, d.user_metadata FROM ${t.user_metadata} d
           WHERE d.app_id = $1 AND d.user_id = k.x LIMIT 1) d`,
      [externalIds, pairTenants, pairEmails, dataIds],
    );
    const mapped = new Set<string>();
    const users = new Set<string>();
    const emails = new Set<string>();
    const metadata = new Map<string, Record<string, unknown>>();
    const key = (tenantId: string, email: string) => `${tenantId}\n${email}`;
    for (const r of found) {
      if (r.kind === "mapped") mapped.add(r.a);
      else if (r.kind === "user") users.add(r.a);
      else if (r.kind === "email") emails.add(key(r.a, r.b ?? ""));
      else metadata.set(r.a, parseJson<Record<string, unknown>>(r.b, {}));
    }

    // The one-by-one sequence, decided in memory: each user sees the batch's earlier users as already written.
    const outcomes: ImportUserOutcome[] = [];
    const accepted: ImportUserRecord[] = [];
    const verified = new Map<string, { user_id: string; email: string }>();
    const written = new Map<string, string>();
    for (const record of records) {
      const { user, externalUserId: ext } = record;
      let outcome: ImportUserOutcome = "OK";
      if (ext !== undefined && mapped.has(ext)) outcome = "EXTERNAL_ID_EXISTS";
      else if (ext !== undefined && users.has(ext)) outcome = "EXTERNAL_ID_IS_USER_ID";
      else if (user.tenantIds.some((tenant) => emails.has(key(tenant, user.email)))) outcome = "EMAIL_ALREADY_EXISTS";
      outcomes.push(outcome);
      if (outcome !== "OK") continue;
      accepted.push(record);
      users.add(user.id);
      for (const tenant of user.tenantIds) emails.add(key(tenant, user.email));
      if (ext !== undefined) mapped.add(ext);
      const dataId = ext ?? user.id;
      if (record.verified) verified.set(key(dataId, user.email), { user_id: dataId, email: user.email });
      if (record.metadataUpdate !== undefined) {
        const merged = mergeMetadata(metadata.get(dataId), record.metadataUpdate);
        metadata.set(dataId, merged);
        written.set(dataId, json(merged));
      }
    }
    if (accepted.length === 0) return outcomes;

    const columns = <T>(rows: T[], ...pick: ((row: T) => unknown)[]) => pick.map((f) => rows.map(f));
    const userRows = accepted.map((r) => r.user);
    const tenantRows = userRows.flatMap((user) => user.tenantIds.map((tenantId) => ({ user, tenantId })));
    const mappings = accepted.filter((r) => r.externalUserId !== undefined);
    await this.q(
      // synchronous_commit off for this transaction only: the import does not wait for its WAL to reach the disk.
      // A database crash can then lose the last batches that were reported written (never half a batch: the
      // transaction is replayed whole or not at all); their users are simply not in the core, and running the
      // import again, which skips the users that are there, imports them. No other data depends on these rows.
      `WITH u AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS x(id, email, hash, joined)),
       ut AS (SELECT * FROM unnest($6::text[], $7::text[], $8::text[], $9::bigint[])
                AS x(id, tenant_id, email, joined)),
       a AS (INSERT INTO ${t.app_id_to_user_id} (app_id, user_id, recipe_id, primary_or_recipe_user_id,
               is_linked_or_is_a_primary_user)
             SELECT $1::text, id, 'emailpassword', id, FALSE FROM u),
       r AS (INSERT INTO ${t.all_auth_recipe_users} (app_id, tenant_id, user_id, primary_or_recipe_user_id,
               is_linked_or_is_a_primary_user, recipe_id, time_joined, primary_or_recipe_user_time_joined)
             SELECT $1::text, tenant_id, id, id, FALSE, 'emailpassword', joined, joined FROM ut),
       e AS (INSERT INTO ${t.emailpassword_users} (app_id, user_id, email, password_hash, time_joined)
             SELECT $1::text, id, email, hash, joined FROM u),
       et AS (INSERT INTO ${t.emailpassword_user_to_tenant} (app_id, tenant_id, user_id, email)
              SELECT $1::text, tenant_id, id, email FROM ut),
       m AS (INSERT INTO ${t.userid_mapping} (app_id, supertokens_user_id, external_user_id)
             SELECT $1::text, st, ext FROM unnest($10::text[], $11::text[]) AS x(st, ext)),
       v AS (INSERT INTO ${t.emailverification_verified_emails} (app_id, user_id, email)
             SELECT $1::text, user_id, email FROM unnest($12::text[], $13::text[]) AS x(user_id, email)
             ON CONFLICT DO NOTHING),
       md AS (INSERT INTO ${t.user_metadata} (app_id, user_id, user_metadata)
              SELECT $1::text, user_id, metadata FROM unnest($14::text[], $15::text[]) AS x(user_id, metadata)
              ON CONFLICT (app_id, user_id) DO UPDATE SET user_metadata = EXCLUDED.user_metadata)
       SELECT set_config('synchronous_commit', 'off', true)`,
      [
        ...columns(
          userRows,
          (u) => u.id,
          (u) => u.email,
          (u) => u.passwordHash,
          (u) => u.timeJoined,
        ),
        ...columns(
          tenantRows,
          (x) => x.user.id,
          (x) => x.tenantId,
          (x) => x.user.email,
          (x) => x.user.timeJoined,
        ),
        ...columns(
          mappings,
          (r) => r.user.id,
          (r) => r.externalUserId,
        ),
        ...columns(
          [...verified.values()],
          (v) => v.user_id,
          (v) => v.email,
        ),
        ...columns(
          [...written],
          ([userId]) => userId,
          ([, value]) => value,
        ),
      ],
    );
    await this.statistics.add(accepted.length);
    return outcomes;
  }

  // ---- user id mapping

  async getMapping(id: string, type: "SUPERTOKENS" | "EXTERNAL") {
    const column = type === "SUPERTOKENS" ? "supertokens_user_id" : "external_user_id";
    const [row] = await this.q<{ st: string; ext: string; info: string | null }>(
      `SELECT supertokens_user_id::text AS st, external_user_id AS ext, external_user_id_info AS info
       FROM ${this.t.userid_mapping} WHERE app_id = $1 AND ${column} = $2`,
      [id],
    );
    if (!row) return undefined;
    const m: UserIdMappingRecord = { superTokensUserId: row.st, externalUserId: row.ext };
    if (row.info !== null) m.externalUserIdInfo = row.info;
    return m;
  }

  /** One index lookup for a page: supertokens_user_id is CHAR(36), so the array is bpchar[] to keep the index. */
  async getMappings(superTokensUserIds: string[]) {
    const found = new Map<string, UserIdMappingRecord>();
    if (superTokensUserIds.length === 0) return found;
    const rows = await this.q<{ st: string; ext: string; info: string | null }>(
      `SELECT supertokens_user_id::text AS st, external_user_id AS ext, external_user_id_info AS info
       FROM ${this.t.userid_mapping} WHERE app_id = $1 AND supertokens_user_id = ANY($2::bpchar[])`,
      [superTokensUserIds],
    );
    for (const row of rows) {
      const m: UserIdMappingRecord = { superTokensUserId: row.st, externalUserId: row.ext };
      if (row.info !== null) m.externalUserIdInfo = row.info;
      found.set(row.st, m);
    }
    return found;
  }

  async insertMapping(m: UserIdMappingRecord) {
    const rows = await this.q(
      `INSERT INTO ${this.t.userid_mapping} (app_id, supertokens_user_id, external_user_id, external_user_id_info)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
      [m.superTokensUserId, m.externalUserId, m.externalUserIdInfo ?? null],
    );
    return rows.length > 0 ? ("OK" as const) : ("EXISTS" as const);
  }

  async deleteMapping(superTokensUserId: string) {
    const rows = await this.q(
      `DELETE FROM ${this.t.userid_mapping} WHERE app_id = $1 AND supertokens_user_id = $2 RETURNING 1`,
      [superTokensUserId],
    );
    return rows.length > 0;
  }

  async updateMappingInfo(superTokensUserId: string, info: string | undefined) {
    const rows = await this.q(
      `UPDATE ${this.t.userid_mapping} SET external_user_id_info = $3 WHERE app_id = $1 AND supertokens_user_id = ` +
        `$2 RETURNING 1`,
      [superTokensUserId, info ?? null],
    );
    return rows.length > 0;
  }

  // ---- password reset tokens (app-wide in the core: the table has no tenant column)

  private resetFromRow(r: ResetTokenRow): OneTimeTokenRecord {
    return {
      tokenHash: r.token,
      userId: r.user_id,
      email: r.email ?? "",
      tenantId: "public",
      expiry: num(r.token_expiry),
    };
  }

  async addResetToken(t: OneTimeTokenRecord) {
    await this.q(
      `INSERT INTO ${this.t.emailpassword_pswd_reset_tokens} (app_id, user_id, token, email, token_expiry) VALUES ` +
        `($1, $2, $3, $4, $5)`,
      [t.userId, t.tokenHash, t.email, t.expiry],
    );
  }

  /**
   * One DELETE of every token of the token's user. Two racing consumers of one token: the second waits on the
   * first's row locks, finds the rows gone, and gets nothing.
   */
  async consumeResetToken(tokenHash: string) {
    const rows = await this.q<ResetTokenRow>(
      `DELETE FROM ${this.t.emailpassword_pswd_reset_tokens}
       WHERE app_id = $1 AND user_id = (SELECT user_id FROM ${this.t.emailpassword_pswd_reset_tokens}
         WHERE app_id = $1 AND token = $2)
       RETURNING user_id::text AS user_id, token, email, token_expiry`,
      [tokenHash],
    );
    const row = rows.find((r) => r.token === tokenHash);
    return row ? this.resetFromRow(row) : undefined;
  }

  async listResetTokens() {
    const rows = await this.q<ResetTokenRow>(
      `SELECT user_id::text AS user_id, token, email, token_expiry FROM ${this.t.emailpassword_pswd_reset_tokens}
        WHERE app_id = $1
       ORDER BY token_expiry, token`,
    );
    return rows.map((r) => this.resetFromRow(r));
  }

  // ---- user metadata

  async getMetadata(userId: string) {
    const [row] = await this.q<{ user_metadata: string }>(
      `SELECT user_metadata FROM ${this.t.user_metadata} WHERE app_id = $1 AND user_id = $2`,
      [userId],
    );
    return row ? parseJson<Record<string, unknown>>(row.user_metadata, {}) : undefined;
  }

  async setMetadata(userId: string, metadata: Record<string, unknown>) {
    await this.q(
      `INSERT INTO ${this.t.user_metadata} (app_id, user_id, user_metadata) VALUES ($1, $2, $3)
       ON CONFLICT (app_id, user_id) DO UPDATE SET user_metadata = EXCLUDED.user_metadata`,
      [userId, json(metadata)],
    );
  }

  async deleteMetadata(userId: string) {
    const rows = await this.q(`DELETE FROM ${this.t.user_metadata} WHERE app_id = $1 AND user_id = $2 RETURNING 1`, [
      userId,
    ]);
    return rows.length > 0;
  }

  // ---- email verification

  async isEmailVerified(userId: string, email: string) {
    const rows = await this.q(
      `SELECT 1 FROM ${this.t.emailverification_verified_emails} WHERE app_id = $1 AND user_id = $2 AND email = $3`,
      [userId, email],
    );
    return rows.length > 0;
  }

  /** The pairs that have a row, by position, through the primary key (app_id, user_id, email). */
  async verifiedEmails(pairs: { userId: string; email: string }[]) {
    const verified = pairs.map(() => false);
    if (pairs.length === 0) return verified;
    const rows = await this.q<{ i: string }>(
      `SELECT p.i FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS p(user_id, email, i)
       WHERE EXISTS (SELECT 1 FROM ${this.t.emailverification_verified_emails} v
                     WHERE v.app_id = $1 AND v.user_id = p.user_id AND v.email = p.email)`,
      [pairs.map((p) => p.userId), pairs.map((p) => p.email)],
    );
    for (const row of rows) verified[Number(row.i) - 1] = true;
    return verified;
  }

  async setEmailVerified(userId: string, email: string, verified: boolean) {
    await this.q(
      verified
        ? `INSERT INTO ${this.t.emailverification_verified_emails} (app_id, user_id, email) VALUES ($1, $2, $3) ON ` +
            `CONFLICT DO NOTHING`
        : `DELETE FROM ${this.t.emailverification_verified_emails} WHERE app_id = $1 AND user_id = $2 AND email = $3`,
      [userId, email],
    );
  }

  async renameEmailVerificationUser(from: string, to: string) {
    if (from === to) return;
    await this.q(
      `WITH moved AS (DELETE FROM ${this.t.emailverification_verified_emails} WHERE app_id = $1 AND user_id = $2
        RETURNING email),
       ins AS (INSERT INTO ${this.t.emailverification_verified_emails} (app_id, user_id, email)
               SELECT $1::text, $3::text, email FROM moved ON CONFLICT DO NOTHING),
       tok AS (UPDATE ${this.t.emailverification_tokens} SET user_id = $3 WHERE app_id = $1 AND user_id = $2)
       SELECT 1`,
      [from, to],
    );
  }

  async hasEmailVerificationData(userId: string) {
    const [row] = await this.q<{ used: unknown }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.t.emailverification_verified_emails} WHERE app_id = $1 AND user_id = $2)
           OR EXISTS (SELECT 1 FROM ${this.t.emailverification_tokens} WHERE app_id = $1 AND user_id = $2) AS used`,
      [userId],
    );
    return row.used === true;
  }

  async addEmailVerificationToken(t: OneTimeTokenRecord) {
    await this.q(
      `INSERT INTO ${this.t.emailverification_tokens} (app_id, tenant_id, user_id, email, token, token_expiry) ` +
        `VALUES ($1, $2, $3, $4, $5, $6)`,
      [t.tenantId, t.userId, t.email, t.tokenHash, t.expiry],
    );
  }

  /** As consumeResetToken: one DELETE of every token of that (user, email); one winner per token. */
  async consumeEmailVerificationToken(tokenHash: string) {
    const rows = await this.q<{
      tenant_id: string;
      user_id: string;
      email: string;
      token: string;
      token_expiry: unknown;
    }>(
      `DELETE FROM ${this.t.emailverification_tokens}
       WHERE app_id = $1 AND (user_id, email) = (SELECT user_id, email FROM ${this.t.emailverification_tokens}
         WHERE app_id = $1 AND token = $2)
       RETURNING tenant_id, user_id, email, token, token_expiry`,
      [tokenHash],
    );
    const row = rows.find((r) => r.token === tokenHash);
    return row
      ? {
          tokenHash: row.token,
          userId: row.user_id,
          email: row.email,
          tenantId: row.tenant_id,
          expiry: num(row.token_expiry),
        }
      : undefined;
  }

  async deleteEmailVerificationTokens(userId: string, email: string) {
    await this.q(`DELETE FROM ${this.t.emailverification_tokens} WHERE app_id = $1 AND user_id = $2 AND email = $3`, [
      userId,
      email,
    ]);
  }

  async deleteEmailVerificationData(userId: string) {
    await this.q(
      `WITH v AS (DELETE FROM ${this.t.emailverification_verified_emails} WHERE app_id = $1 AND user_id = $2),
       t AS (DELETE FROM ${this.t.emailverification_tokens} WHERE app_id = $1 AND user_id = $2)
       SELECT 1`,
      [userId],
    );
  }
}

/**
 * The dev core's storage in the real SuperTokens core's PostgreSQL table layout (see postgres-schema.ts), so
 * that data survives a restart and a database written through the dev core can be read by tools made for the
 * real core (`supertokens-migrate export`).
 *
 * Where the contract needs data the core keeps elsewhere or not at all (docs/dev-core.md, "On PostgreSQL"):
 *   - an app's coreConfig and factors live, as in the core, in the tenant_configs row of its `public` tenant;
 *     so the app and its public tenant share one config (MemoryStorage keeps two);
 *   - dynamic keys: session_access_token_signing_keys, kid "d-<created_at_time>"; the static key: jwt_signing_keys;
 *     the refresh-token MAC secret: key_value "refresh_token_key" (the core keeps its own refresh key there, in
 *     another format: the two cores' refresh tokens are not interchangeable), read back with kid "refresh_token_key";
 *   - reset tokens have no tenant (read back as "public"); sessions store no recipe user id (read back = user id);
 *   - deleting a user or a tenant cascades through the core's foreign keys (mapping and reset tokens go with
 *     the user, the tenant's users leave the tenant).
 * No extra tables are created.
 *
 * The caller owns the connection (pool, client or PGlite) and closes it; closing the dev core does not.
 */
export class PostgresStorage implements CoreStorage {
  readonly schema: string;
  /** As the tables carry it: with its "_" when not empty. */
  readonly tablePrefix: string;
  private readonly t: Tables;
  private readonly apps = new Map<string, PostgresAppStorage>();
  private readonly statistics: ImportStatistics;

  constructor(
    private readonly db: SqlQueryable,
    options: PostgresStorageOptions = {},
  ) {
    const config = resolveOptions(options);
    this.schema = config.schema;
    this.tablePrefix = config.tablePrefix;
    this.t = tables(this.schema, this.tablePrefix);
    this.statistics = new ImportStatistics(db, this.t);
  }

  /** A storage on `db`, with the schema and the core's tables created when missing (idempotent). */
  static async create(db: SqlQueryable, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const storage = new PostgresStorage(db, options);
    await storage.createTables();
    return storage;
  }

  /** CREATE … IF NOT EXISTS for the schema and every table and index. Safe to run against a live core's schema. */
  async createTables(): Promise<void> {
    const statements = [
      ...(this.schema === "public" ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`]),
      ...coreLayoutDdl(this.schema, this.tablePrefix),
    ];
    for (const sql of statements) {
      try {
        await this.db.query(sql);
      } catch (err) {
        // Two processes creating the same schema at once: IF NOT EXISTS races on the catalog; the winner's object is
        // fine.
        const code = (err as { code?: string }).code;
        if (code !== "23505" && code !== "42P07" && code !== "42710") throw err;
      }
    }
    debug("postgres storage: core tables ready in schema %s, prefix %o", this.schema, this.tablePrefix);
  }

  private appRows(where: string, params: unknown[]) {
    return queryRows<ConfigRow & { app_id: string; created_at_time: unknown }>(
      this.db,
      `SELECT a.app_id, a.created_at_time, ${configColumns(this.t, "a.app_id", "'public'")}
         FROM ${this.t.apps} a LEFT JOIN ${this.t.tenant_configs} c
           ON c.connection_uri_domain = '' AND c.app_id = a.app_id AND c.tenant_id = 'public'
         ${where} ORDER BY a.app_id`,
      params,
    ).then((rows) =>
      rows.map((row): AppRecord => ({
        appId: row.app_id,
        createdAt: num(row.created_at_time),
        ...configFromRow(row),
      })),
    );
  }

  async listApps() {
    return this.appRows("", []);
  }

  async getApp(appId: string) {
    const [app] = await this.appRows("WHERE a.app_id = $1", [appId]);
    return app;
  }

  /** The app row, its public tenant (an app always has one, as in the core) and the shared config row. */
  async putApp(app: AppRecord) {
    await this.db.query(
      `WITH app AS (INSERT INTO ${this.t.apps} (app_id, created_at_time) VALUES ($1, $3::bigint)
                    ON CONFLICT (app_id) DO UPDATE SET created_at_time = EXCLUDED.created_at_time),
       ${putConfigCtes(this.t)}
       SELECT 1`,
      configParams(app.appId, "public", app.createdAt, app),
    );
  }

  async deleteApp(appId: string) {
    // tenant_configs has no foreign key to apps in the core layout, so it goes explicitly.
    const rows = await queryRows<CountRow>(
      this.db,
      `WITH a AS (DELETE FROM ${this.t.apps} WHERE app_id = $1 RETURNING 1),
       c AS (DELETE FROM ${this.t.tenant_configs} WHERE app_id = $1)
       SELECT count(*)::int AS n FROM a`,
      [appId],
    );
    this.apps.delete(appId);
    return rows[0].n > 0;
  }

  private tenantRows(where: string, params: unknown[]) {
    return queryRows<ConfigRow & { tenant_id: string; providers: Record<string, unknown>[] | null }>(
      this.db,
      `SELECT t.tenant_id, ${configColumns(this.t, "t.app_id", "t.tenant_id")}, ${providerColumn(this.t)}
         FROM ${this.t.tenants} t LEFT JOIN ${this.t.tenant_configs} c
           ON c.connection_uri_domain = '' AND c.app_id = t.app_id AND c.tenant_id = t.tenant_id
         WHERE ${where} ORDER BY t.created_at_time, t.tenant_id`,
      params,
    ).then((rows) =>
      rows.map((row): TenantRecord => {
        const tenant: TenantRecord = { tenantId: row.tenant_id, ...configFromRow(row) };
        if (row.providers?.length) tenant.thirdPartyProviders = row.providers.map(providerFromRow);
        return tenant;
      }),
    );
  }

  async listTenants(appId: string) {
    return this.tenantRows("t.app_id = $1", [appId]);
  }

  async getTenant(appId: string, tenantId: string) {
    const [tenant] = await this.tenantRows("t.app_id = $1 AND t.tenant_id = $2", [appId, tenantId]);
    return tenant;
  }

  async putTenant(appId: string, tenant: TenantRecord) {
    await this.db.query(
      `WITH ${putConfigCtes(this.t)} SELECT 1`,
      configParams(appId, tenant.tenantId, Date.now(), tenant),
    );
    if (tenant.thirdPartyProviders !== undefined) await this.putProviders(appId, tenant);
  }

  /**
   * Replace a tenant's provider configs: delete them (their clients go by the foreign key), then insert each
   * provider's row and its clients' rows. Maps and objects are stored as JSON text, as the core does.
   */
  private async putProviders(appId: string, tenant: TenantRecord) {
    const t = this.t;
    const providers = (tenant.thirdPartyProviders ?? []).map(providerToRow);
    await queryRows(
      this.db,
      `DELETE FROM ${t.tenant_thirdparty_providers}
        WHERE connection_uri_domain = '' AND app_id = $1 AND tenant_id = $2`,
      [appId, tenant.tenantId],
    );
    if (providers.length === 0) return;
    await queryRows(
      this.db,
      `WITH p AS (SELECT * FROM json_to_recordset($3::json)
                    AS x(${providerColumns.map((c) => `${c} TEXT`).join(", ")})),
       ins AS (INSERT INTO ${t.tenant_thirdparty_providers} (connection_uri_domain, app_id, tenant_id,
                 ${providerColumns.join(", ")})
               SELECT '', $1::text, $2::text, ${providerColumns
                 .map((c) => (c === "require_email" ? `${c}::boolean` : c))
                 .join(", ")} FROM p)
       SELECT 1`,
      [appId, tenant.tenantId, json(providers.map((p) => p.row))],
    );
    const clients = providers.flatMap((p) => p.clients);
    await queryRows(
      this.db,
      `INSERT INTO ${t.tenant_thirdparty_provider_clients} (connection_uri_domain, app_id, tenant_id, third_party_id,
         client_type, client_id, client_secret, scope, force_pkce, additional_config)
       SELECT '', $1::text, $2::text, x.third_party_id, x.client_type, x.client_id, x.client_secret,
         ARRAY(SELECT json_array_elements_text(x.scope))::varchar(128)[], x.force_pkce, x.additional_config
       FROM json_to_recordset($3::json) AS x(third_party_id TEXT, client_type TEXT, client_id TEXT,
         client_secret TEXT, scope JSON, force_pkce BOOLEAN, additional_config TEXT)`,
      [appId, tenant.tenantId, json(clients)],
    );
  }

  async deleteTenant(appId: string, tenantId: string) {
    const rows = await queryRows<CountRow>(
      this.db,
      `WITH d AS (DELETE FROM ${this.t.tenants} WHERE app_id = $1 AND tenant_id = $2 RETURNING 1),
       c AS (DELETE FROM ${this.t.tenant_configs} WHERE app_id = $1 AND tenant_id = $2)
       SELECT count(*)::int AS n FROM d`,
      [appId, tenantId],
    );
    return rows[0].n > 0;
  }

  app(appId: string): AppStorage {
    let s = this.apps.get(appId);
    if (!s) this.apps.set(appId, (s = new PostgresAppStorage(this.db, this.t, appId, this.statistics)));
    return s;
  }
}
