import { badRequest } from "./http.js";

/**
 * Core config keys the dev core understands, with the real core's defaults and units (CoreConfig.java).
 * Values may arrive as strings from `PUT /recipe/multitenancy/app/v2` (supertokens-node's test helpers send
 * "0.001"), so every key is coerced.
 */
export interface CoreConfig {
  /** Seconds. Default 3600. */
  access_token_validity: number;
  /** Minutes. Default 144000 (100 days). */
  refresh_token_validity: number;
  /** Hours, fractions allowed. Default 168. */
  access_token_dynamic_signing_key_update_interval: number;
  /** Only for CDI < 2.21; kept for faithfulness. Default true. */
  access_token_signing_key_dynamic: boolean;
  access_token_blacklisting: boolean;
  /** Milliseconds. Default 3600000. */
  password_reset_token_lifetime: number;
  /** Milliseconds. Default 86400000. */
  email_verification_token_lifetime: number;
  password_hashing_alg: "BCRYPT" | "ARGON2";
  bcrypt_log_rounds: number;
  argon2_iterations: number;
  argon2_memory_kb: number;
  argon2_parallelism: number;
  argon2_hashing_pool_size: number;
  firebase_password_hashing_signer_key: string | null;
  /** Comma-separated list of accepted API keys; null disables the check. */
  api_keys: string | null;
  /** Milliseconds a Passwordless code stays valid. Default 900000 (15 minutes). */
  passwordless_code_lifetime: number;
  /** Wrong user input codes per Passwordless sign-in attempt: the one that reaches this number ends it. Default 5. */
  passwordless_max_code_input_attempts: number;
  /** Users per processing round of the bulk-import queue. Default 8000, as the core's. */
  bulk_migration_batch_size: number;
  bulk_migration_parallelism: number;
  /**
   * Dev core only. 0 (the default): the bulk-import queue is processed as soon as users are added, for tests and
   * demos. Above 0: as a real core does it (ProcessBulkImportUsers), a tick every this many milliseconds (the core's
   * is 300000, fixed), each running rounds of up to `bulk_migration_batch_size` users until a round finds none.
   * Read from the dev core's base config only.
   */
  dev_core_bulk_import_cron_interval_ms: number;
  /** Dev core only: the pause between two rounds of one tick, in milliseconds. Default 1000, as the core's. */
  dev_core_bulk_import_round_pause_ms: number;
  /**
   * Dev core only: answer every bulk-import endpoint as a real core on its in-memory database does (400, "This API
   * is not supported in the in-memory database."), e.g. to test a client's fallback. Default false.
   */
  dev_core_bulk_import_as_in_memory_db: boolean;
}

export const defaultCoreConfig: Readonly<CoreConfig> = Object.freeze({
  access_token_validity: 3600,
  refresh_token_validity: 144000,
  access_token_dynamic_signing_key_update_interval: 168,
  access_token_signing_key_dynamic: true,
  access_token_blacklisting: false,
  password_reset_token_lifetime: 3_600_000,
  email_verification_token_lifetime: 86_400_000,
  password_hashing_alg: "BCRYPT",
  bcrypt_log_rounds: 11,
  argon2_iterations: 1,
  argon2_memory_kb: 87795,
  argon2_parallelism: 2,
  argon2_hashing_pool_size: 1,
  firebase_password_hashing_signer_key: null,
  api_keys: null,
  passwordless_code_lifetime: 900_000,
  passwordless_max_code_input_attempts: 5,
  bulk_migration_batch_size: 8000,
  bulk_migration_parallelism: 2,
  dev_core_bulk_import_cron_interval_ms: 0,
  dev_core_bulk_import_round_pause_ms: 1000,
  dev_core_bulk_import_as_in_memory_db: false,
});

type Kind = "number" | "int" | "boolean" | "string" | "alg";
const kinds: Record<keyof CoreConfig, Kind> = {
  access_token_validity: "int",
  refresh_token_validity: "number",
  access_token_dynamic_signing_key_update_interval: "number",
  access_token_signing_key_dynamic: "boolean",
  access_token_blacklisting: "boolean",
  password_reset_token_lifetime: "int",
  email_verification_token_lifetime: "int",
  password_hashing_alg: "alg",
  bcrypt_log_rounds: "int",
  argon2_iterations: "int",
  argon2_memory_kb: "int",
  argon2_parallelism: "int",
  argon2_hashing_pool_size: "int",
  firebase_password_hashing_signer_key: "string",
  api_keys: "string",
  passwordless_code_lifetime: "int",
  passwordless_max_code_input_attempts: "int",
  bulk_migration_batch_size: "int",
  bulk_migration_parallelism: "int",
  dev_core_bulk_import_cron_interval_ms: "int",
  dev_core_bulk_import_round_pause_ms: "int",
  dev_core_bulk_import_as_in_memory_db: "boolean",
};

/** Keys where 0 is a meaningful value (every other number must be above 0). */
const zeroAllowed = new Set<keyof CoreConfig>([
  "argon2_hashing_pool_size",
  "dev_core_bulk_import_cron_interval_ms",
  "dev_core_bulk_import_round_pause_ms",
]);

const aliases: Record<string, keyof CoreConfig> = {
  access_token_signing_key_update_interval: "access_token_dynamic_signing_key_update_interval",
};

/** Keys the real core accepts that change nothing in an in-memory dev core; accepted and ignored. */
const ignoredKeys = new Set([
  "log_level",
  "disable_telemetry",
  "info_log_path",
  "error_log_path",
  "max_server_pool_size",
  "port",
  "host",
  "postgresql_connection_uri",
  "supertokens_saas_secret",
  "ip_allow_regex",
  "ip_deny_regex",
  "access_token_validity_jitter",
  "refresh_token_rotation_grace_period",
  "recent_token_reuse_behaviour",
  "email_verification_token_lifetime_in_ms",
]);

export type PartialCoreConfig = Partial<Record<keyof CoreConfig, unknown>> & Record<string, unknown>;

function coerce(key: keyof CoreConfig, value: unknown): unknown {
  const kind = kinds[key];
  const invalid = () => badRequest(`Invalid core config: '${key}' is not a valid value`);
  switch (kind) {
    case "number":
    case "int": {
      const n =
        typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
      if (!Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) throw invalid();
      if (n < 0 || (n === 0 && !zeroAllowed.has(key))) throw invalid();
      return n;
    }
    case "boolean":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      throw invalid();
    case "alg": {
      const s = String(value).toUpperCase();
      if (s !== "BCRYPT" && s !== "ARGON2") throw invalid();
      return s;
    }
    case "string":
      if (typeof value !== "string") throw invalid();
      return value;
  }
}

/**
 * Validate and normalise a config fragment. `null` values survive: in an app's stored coreConfig they mean
 * "remove this key" (the SDK's test helpers send `{api_keys: null}`).
 */
export function normaliseConfigFragment(input: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of Object.entries(input)) {
    const key = aliases[rawKey] ?? rawKey;
    if (!(key in kinds)) {
      if (ignoredKeys.has(rawKey)) continue;
      throw badRequest(`Invalid core config: Invalid config key: ${rawKey}`);
    }
    out[key] = value === null ? null : coerce(key, value);
  }
  if (typeof out.api_keys === "string") {
    for (const k of out.api_keys.split(",")) {
      if (!/^[A-Za-z0-9=-]{20,}$/.test(k.trim())) {
        throw badRequest("Invalid core config: 'api_keys' must be at least 20 characters from [A-Za-z0-9=-]");
      }
    }
  }
  return out;
}

/** Effective config: defaults, then the dev core's base config, then the app's own coreConfig. */
export function resolveConfig(...layers: Record<string, unknown>[]): CoreConfig {
  const out: Record<string, unknown> = { ...defaultCoreConfig };
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer)) if (v !== null && v !== undefined) out[k] = v;
  }
  return Object.freeze(out) as unknown as CoreConfig;
}

/** Merge a coreConfig update into stored config: null deletes a key, as in the real core. */
export function mergeConfig(stored: Record<string, unknown>, update: Record<string, unknown>): Record<string, unknown> {
  const out = { ...stored };
  for (const [k, v] of Object.entries(update)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
