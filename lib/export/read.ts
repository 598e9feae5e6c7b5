import { detectHashFormat } from "../hashes/detect.js";
import { queryRows } from "../sql.js";
import { keyFromCoreString, type ExportedKey } from "./keys.js";
import { readsNewTables, type CoreLayout } from "./layout.js";
import type { ExportConfig } from "./options.js";

/** The login methods the export reads, each from its own core table. */
export const EXPORTED_RECIPES = ["emailpassword", "thirdparty", "passwordless"] as const;
export type ExportedRecipe = (typeof EXPORTED_RECIPES)[number];

export interface ExportedUser {
  /** The id the application knows: the external id when a user-id mapping exists, else the SuperTokens id. */
  userId: string;
  /** The core's id of the user: the primary user's id for a linked login. */
  superTokensUserId: string;
  /** The core's id of this login (its recipe user); equals `superTokensUserId` unless linked. */
  recipeUserId: string;
  /** Which login method this record is: one record per login, linked logins share `userId`. */
  recipeId: ExportedRecipe;
  /** null only for a passwordless login by phone number. */
  email: string | null;
  /**
   * Exactly as the core stores it (bcrypt leaves byte-identical; nothing is converted); null for logins that have no
   * password (third party, passwordless).
   */
  passwordHash: string | null;
  /**
   * bcrypt, argon2, firebase_scrypt … or "unknown"; anything but bcrypt needs a reset or a lazy reverse migration.
   * null when there is no password.
   */
  passwordHashFormat: string | null;
  /** The provider identity of a third-party login (`thirdPartyId` as the core names providers); null otherwise. */
  thirdParty: { id: string; userId: string } | null;
  /** The phone number of a passwordless login (E.164, as the core stores it); null otherwise. */
  phoneNumber: string | null;
  /** Milliseconds since the epoch. */
  timeJoined: number;
  /**
   * Whether this email is verified (under either id: the core moves verification to the external id on mapping).
   * A passwordless login with a phone number and no email is verified, as the core reports it.
   */
  emailVerified: boolean;
  tenantIds: string[];
  /** user_metadata as stored, parsed; null when the user has none. */
  metadata: Record<string, unknown> | null;
  /** Roles per tenant; null when the database has no user_roles table. */
  roles: { tenantId: string; role: string }[] | null;
  externalUserIdInfo: string | null;
}

export interface ExportedResetToken {
  userId: string;
  superTokensUserId: string;
  /** The email-password login the token resets. */
  recipeUserId: string;
  email: string;
  /** What the core stores: sha256 of the token in the reset link, lower-case hex. Compare sha256hex(token) with it. */
  tokenHash: string;
  tokenHashAlgorithm: "sha256-hex";
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

const parseJson = (v: unknown): Record<string, unknown> | null => {
  if (v === null || v === undefined) return null;
  return typeof v === "string" ? (JSON.parse(v) as Record<string, unknown>) : (v as Record<string, unknown>);
};

/**
 * Rows of `select` (a query ending in its WHERE clause, over `params`) in pages of `pageSize`, by the unique `key`:
 * the first page has no lower bound, later ones start after the last row's key (`keyOf`).
 */
async function* keysetPages<R>(
  config: ExportConfig,
  select: string,
  params: unknown[],
  key: string,
  keyOf: (row: R) => string,
): AsyncGenerator<R[]> {
  const limit = `$${params.length + 1}`;
  let after: string | undefined;
  for (;;) {
    const rows = await queryRows<R>(
      config.db,
      after === undefined
        ? `${select} ORDER BY ${key} LIMIT ${limit}`
        : `${select} AND ${key} > $${params.length + 2} ORDER BY ${key} LIMIT ${limit}`,
      after === undefined ? [...params, config.pageSize] : [...params, config.pageSize, after],
    );
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < config.pageSize) return;
    after = keyOf(rows[rows.length - 1]);
  }
}

/**
 * SQL for the user a recipe user belongs to: with account linking (core 7.0+), app_id_to_user_id names its primary
 * user; before that, every recipe user is a user of its own.
 */
function primaryOf(layout: CoreLayout, appCol: string, recipeCol: string): string {
  return layout.linking
    ? `COALESCE((SELECT a.primary_or_recipe_user_id FROM ${layout.table("app_id_to_user_id")} a
         WHERE a.app_id = ${appCol} AND a.user_id = ${recipeCol}), ${recipeCol})`
    : recipeCol;
}

/** What each login method's table gives a record, as columns of its row `u`. */
const RECIPE_COLUMNS: Record<ExportedRecipe, string> = {
  emailpassword: `u.email, u.password_hash, NULL::text AS third_party_id, NULL::text AS third_party_user_id,
        NULL::text AS phone_number`,
  thirdparty: `u.email, NULL::text AS password_hash, u.third_party_id, u.third_party_user_id,
        NULL::text AS phone_number`,
  passwordless: `u.email, NULL::text AS password_hash, NULL::text AS third_party_id,
        NULL::text AS third_party_user_id, u.phone_number`,
};

const RECIPE_TABLE: Record<ExportedRecipe, string> = {
  emailpassword: "emailpassword_users",
  thirdparty: "thirdparty_users",
  passwordless: "passwordless_users",
};

/**
 * Users of the app: every email-password login, then every third-party login, then every passwordless one, each
 * table read one page of `pageSize` per query, by recipe user id (keyset on its primary key). One record per login:
 * linked logins share `userId` and `superTokensUserId` (their primary user's), and carry the primary user's metadata
 * and roles, as the SDK shows them. A recipe whose table the database does not have is skipped (it is counted by
 * countOtherRecipeUsers).
 */
export async function* readUsers(config: ExportConfig, layout: CoreLayout): AsyncGenerator<ExportedUser[]> {
  for (const recipe of EXPORTED_RECIPES) {
    if (layout.has(RECIPE_TABLE[recipe])) yield* readRecipeUsers(config, layout, recipe);
  }
}

async function* readRecipeUsers(
  config: ExportConfig,
  layout: CoreLayout,
  recipe: ExportedRecipe,
): AsyncGenerator<ExportedUser[]> {
  const t = (n: string) => layout.table(n);
  const mapped = layout.has("userid_mapping");
  const primaryExt = mapped ? "pm.external_user_id" : "NULL::text";
  const recipeExt = mapped ? "rm.external_user_id" : "NULL::text";
  // Tenants of this login: all_auth_recipe_users until the core reads recipe_user_tenants (plugin 9.5 modes
  // DUAL_WRITE_READ_NEW and MIGRATED); MIGRATED stops writing the old table, so a login created after the cutover
  // has no row there. In a mode that reads the old table, a login found only in the new one is taken from there and
  // counted, since the mode probably comes from a config.yaml the export cannot see.
  const oldTenants = layout.has("all_auth_recipe_users")
    ? `(SELECT json_agg(r.tenant_id ORDER BY r.tenant_id) FROM ${t("all_auth_recipe_users")} r
         WHERE r.app_id = u.app_id AND r.user_id = u.user_id)`
    : "NULL::json";
  const newTenants = layout.has("recipe_user_tenants")
    ? `(SELECT json_agg(DISTINCT r.tenant_id) FROM ${t("recipe_user_tenants")} r
         WHERE r.app_id = u.app_id AND r.recipe_user_id = u.user_id)`
    : "NULL::json";
  const [first, second] = readsNewTables(layout.migrationMode) ? [newTenants, oldTenants] : [oldTenants, newTenants];
  const secondOnly = readsNewTables(layout.migrationMode) ? "NULL::json" : second;
  const select = `
    SELECT x.*, x.st_key::text AS st_id, ${primaryExt} AS external_user_id,
      ${mapped ? "pm.external_user_id_info" : "NULL::text"} AS external_user_id_info,
      ${
        layout.has("user_metadata")
          ? `COALESCE((SELECT m.user_metadata FROM ${t("user_metadata")} m
               WHERE m.app_id = x.app_id AND m.user_id = ${primaryExt}),
             (SELECT m.user_metadata FROM ${t("user_metadata")} m
               WHERE m.app_id = x.app_id AND m.user_id = x.st_key::text))`
          : "NULL::text"
      } AS metadata,
      ${
        layout.has("emailverification_verified_emails")
          ? `EXISTS (SELECT 1 FROM ${t("emailverification_verified_emails")} v
               WHERE v.app_id = x.app_id AND v.email = x.email AND v.user_id IN (x.recipe_id, ${recipeExt}))`
          : "FALSE"
      } AS email_verified,
      ${
        layout.has("user_roles")
          ? `COALESCE((SELECT json_agg(json_build_object('tenantId', r.tenant_id, 'role', r.role)
            ORDER BY r.tenant_id, r.role)
               FROM ${t("user_roles")} r WHERE r.app_id = x.app_id AND r.user_id
                 IN (x.st_key::text, ${primaryExt})), '[]'::json)`
          : "NULL::json"
      } AS roles
    FROM (
      SELECT u.app_id, u.user_id::text AS recipe_id, u.user_id AS recipe_key,
        ${primaryOf(layout, "u.app_id", "u.user_id")} AS st_key,
        ${RECIPE_COLUMNS[recipe]}, u.time_joined,
        ${first} AS tenants_main, ${secondOnly} AS tenants_fallback
      FROM ${t(RECIPE_TABLE[recipe])} u
      WHERE u.app_id = $1 KEYSET
    ) x
    ${
      mapped
        ? `LEFT JOIN ${t("userid_mapping")} pm ON pm.app_id = x.app_id AND pm.supertokens_user_id = x.st_key
      LEFT JOIN ${t("userid_mapping")} rm ON rm.app_id = x.app_id AND rm.supertokens_user_id = x.recipe_key`
        : ""
    }
    ORDER BY x.recipe_id`;
  type UserRow = {
    recipe_id: string;
    st_id: string;
    email: string | null;
    password_hash: string | null;
    third_party_id: string | null;
    third_party_user_id: string | null;
    phone_number: string | null;
    time_joined: unknown;
    external_user_id: string | null;
    external_user_id_info: string | null;
    metadata: unknown;
    email_verified: unknown;
    tenants_main: string[] | null;
    tenants_fallback: string[] | null;
    roles: ExportedUser["roles"];
  };
  let after: string | undefined;
  for (;;) {
    // The page is cut in the inner query, on emailpassword_users' primary key (app_id, user_id), and everything else
    // is looked up by key for the page's users only, so that a page costs the same at the start and at the end of a
    // million: the mapping is joined on the ids as the core stores them (CHAR(36), st_key and recipe_key; joined on
    // their text, PostgreSQL could not use userid_mapping's index and read the whole table for every page), and
    // metadata is a subquery on user_metadata's primary key, not a join the planner may answer with a scan of it.
    const sql = select.replace(
      "KEYSET",
      after === undefined ? "ORDER BY u.user_id LIMIT $2" : "AND u.user_id > $3 ORDER BY u.user_id LIMIT $2",
    );
    const rows = await queryRows<UserRow>(
      config.db,
      sql,
      after === undefined ? [config.appId, config.pageSize] : [config.appId, config.pageSize, after],
    );
    if (rows.length === 0) return;
    yield rows.map((r): ExportedUser => {
      const fromFallback = r.tenants_main === null && r.tenants_fallback !== null;
      return {
        userId: r.external_user_id ?? r.st_id,
        superTokensUserId: r.st_id,
        recipeUserId: r.recipe_id,
        recipeId: recipe,
        email: r.email,
        passwordHash: r.password_hash,
        passwordHashFormat: r.password_hash === null ? null : (detectHashFormat(r.password_hash) ?? "unknown"),
        thirdParty: r.third_party_id === null ? null : { id: r.third_party_id, userId: r.third_party_user_id ?? "" },
        phoneNumber: r.phone_number,
        timeJoined: Number(r.time_joined),
        emailVerified: r.email_verified === true || (r.email === null && r.phone_number !== null),
        tenantIds: [...(r.tenants_main ?? r.tenants_fallback ?? [])].sort(),
        metadata: parseJson(r.metadata),
        roles: r.roles,
        externalUserIdInfo: r.external_user_id_info ?? null,
        ...(fromFallback ? { [tenantsFromNewTables]: true } : {}),
      };
    });
    if (rows.length < config.pageSize) return;
    after = rows[rows.length - 1].recipe_id;
  }
}

/** Marks a user whose tenants came from recipe_user_tenants although the mode reads the old table (not exported). */
export const tenantsFromNewTables = Symbol("tenantsFromNewTables");

/** Reset tokens that are still valid at `config.now`, by token hash (unique), a page at a time. */
export async function* readResetTokens(config: ExportConfig, layout: CoreLayout): AsyncGenerator<ExportedResetToken[]> {
  if (!layout.has("emailpassword_pswd_reset_tokens")) return;
  const t = (n: string) => layout.table(n);
  const mapped = layout.has("userid_mapping");
  // The email column exists from core 7.0 (plugin 5.0); older tokens were for the user's current email.
  const tokenEmail = layout.hasColumn("emailpassword_pswd_reset_tokens", "email") ? "rt.email" : "NULL::text";
  const select = `
    SELECT x.*, x.st_key::text AS st_id, ${mapped ? "m.external_user_id" : "NULL::text"} AS external_user_id FROM (
      SELECT rt.app_id, rt.token, rt.token_expiry, rt.user_id::text AS recipe_id,
        ${primaryOf(layout, "rt.app_id", "rt.user_id")} AS st_key, COALESCE(${tokenEmail}, u.email) AS email
      FROM ${t("emailpassword_pswd_reset_tokens")} rt
      LEFT JOIN ${t("emailpassword_users")} u ON u.app_id = rt.app_id AND u.user_id = rt.user_id
      WHERE rt.app_id = $1 AND rt.token_expiry > $2
    ) x
    ${mapped ? `LEFT JOIN ${t("userid_mapping")} m ON m.app_id = x.app_id AND m.supertokens_user_id = x.st_key` : ""}
    WHERE TRUE`;
  type TokenRow = {
    recipe_id: string;
    st_id: string;
    token: string;
    token_expiry: unknown;
    email: string | null;
    external_user_id: string | null;
  };
  const pages = keysetPages<TokenRow>(config, select, [config.appId, config.now], "x.token", (r) => r.token);
  for await (const rows of pages) {
    yield rows.map((r): ExportedResetToken => ({
      userId: r.external_user_id ?? r.st_id,
      superTokensUserId: r.st_id,
      recipeUserId: r.recipe_id,
      email: r.email ?? "",
      tokenHash: r.token,
      tokenHashAlgorithm: "sha256-hex",
      expiresAt: Number(r.token_expiry),
    }));
  }
}

/**
 * The app's access-token signing keys: every dynamic key still in the table (the core prunes the ones no token
 * can still carry) and the static RS256 keys. A key that does not parse is reported, not fatal.
 */
export async function readSigningKeys(
  config: ExportConfig,
  layout: CoreLayout,
): Promise<{ keys: ExportedKey[]; warnings: string[] }> {
  const keys: ExportedKey[] = [];
  const warnings: string[] = [];
  const add = (kid: string, kind: ExportedKey["kind"], createdAt: number, value: string) => {
    try {
      keys.push(keyFromCoreString(kid, kind, createdAt, value));
    } catch (err) {
      warnings.push(`signing key ${kid} skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (layout.has("session_access_token_signing_keys")) {
    const rows = await queryRows<{ created_at_time: unknown; value: string }>(
      config.db,
      `SELECT created_at_time, value FROM ${layout.table("session_access_token_signing_keys")} WHERE app_id = $1 ` +
        `ORDER BY created_at_time`,
      [config.appId],
    );
    for (const r of rows) add(`d-${String(r.created_at_time)}`, "dynamic", Number(r.created_at_time), String(r.value));
  }
  if (layout.has("jwt_signing_keys")) {
    const rows = await queryRows<{ key_id: string; key_string: string; algorithm: string; created_at: unknown }>(
      config.db,
      `SELECT key_id, key_string, algorithm, created_at FROM ${layout.table("jwt_signing_keys")} WHERE app_id = $1 ` +
        `ORDER BY created_at, key_id`,
      [config.appId],
    );
    for (const r of rows) {
      if (String(r.algorithm).toUpperCase() !== "RS256")
        warnings.push(`signing key ${r.key_id} skipped: algorithm ${r.algorithm} is not RS256`);
      else add(String(r.key_id), "static", Number(r.created_at), String(r.key_string));
    }
  }
  return { keys, warnings };
}

/**
 * Users of recipes this export does not cover (WebAuthn, and third party or passwordless when the database has no
 * table for them): counted for the report.
 */
export async function countOtherRecipeUsers(config: ExportConfig, layout: CoreLayout): Promise<number> {
  if (!layout.has("app_id_to_user_id")) return 0;
  const read = EXPORTED_RECIPES.filter((r) => layout.has(RECIPE_TABLE[r]));
  const rows = await queryRows<{ n: number }>(
    config.db,
    `SELECT count(*)::int AS n FROM ${layout.table("app_id_to_user_id")} WHERE app_id = $1 AND recipe_id <> ` +
      `ALL($2::text[])`,
    [config.appId, read],
  );
  return rows[0].n;
}
