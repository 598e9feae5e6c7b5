import { queryRows, type SqlDriver } from "../../sql.js";
import type {
  CreateCodeOutcome,
  FailedAttemptOutcome,
  PasswordlessCodeRecord,
  PasswordlessCodeStorage,
  PasswordlessDeviceRecord,
} from "./passwordless.js";

/** The Passwordless sign-in tables' names, qualified as the plugin forms them (coreTableName). */
export interface PasswordlessCodeTables {
  passwordless_devices: string;
  passwordless_codes: string;
}

type DeviceRow = {
  tenant_id: string;
  device_id_hash: string;
  email: string | null;
  phone_number: string | null;
  link_code_salt: string;
  failed_attempts: unknown;
};
type CodeRow = {
  tenant_id: string;
  code_id: string;
  device_id_hash: string;
  link_code_hash: string;
  created_at: unknown;
};

// device_id_hash is CHAR(44) in the plugin's layout and the hash is 43 characters: PostgreSQL pads it with a space,
// which the cast to text takes off again.
const deviceColumns = (alias = "") =>
  `${alias}tenant_id, ${alias}device_id_hash::text AS device_id_hash, ${alias}email, ${alias}phone_number, ` +
  `${alias}link_code_salt, ${alias}failed_attempts`;
// code_id is CHAR(36) too: any id shorter than a UUID comes back padded unless cast.
const codeColumns =
  "tenant_id, code_id::text AS code_id, device_id_hash::text AS device_id_hash, " +
  "link_code_hash::text AS link_code_hash, created_at";

function device(r: DeviceRow): PasswordlessDeviceRecord {
  return {
    tenantId: r.tenant_id,
    deviceIdHash: r.device_id_hash,
    ...(r.email !== null ? { email: r.email } : {}),
    ...(r.phone_number !== null ? { phoneNumber: r.phone_number } : {}),
    linkCodeSalt: r.link_code_salt,
    failedAttempts: Number(r.failed_attempts),
  };
}

const code = (r: CodeRow): PasswordlessCodeRecord => ({
  tenantId: r.tenant_id,
  codeId: r.code_id,
  deviceIdHash: r.device_id_hash,
  linkCodeHash: r.link_code_hash,
  createdAt: Number(r.created_at),
});

/** The constraint a unique violation names (the table prefix in front, as the plugin names constraints). */
function violated(err: unknown): string | undefined {
  const e = err as { code?: unknown; constraint?: unknown };
  return e?.code === "23505" && typeof e.constraint === "string" ? e.constraint : undefined;
}

function createOutcome(err: unknown): CreateCodeOutcome {
  const constraint = violated(err);
  if (constraint?.endsWith("passwordless_devices_pkey")) return "DEVICE_EXISTS";
  if (constraint?.endsWith("passwordless_codes_pkey")) return "CODE_ID_EXISTS";
  if (constraint?.endsWith("passwordless_codes_link_code_hash_key")) return "LINK_CODE_HASH_EXISTS";
  // The device went between the check and the insert (foreign key violation).
  if ((err as { code?: unknown })?.code === "23503") return "UNKNOWN_DEVICE";
  throw err;
}

/**
 * PasswordlessCodeStorage on the plugin's passwordless_devices and passwordless_codes (postgres-schema.ts). As in
 * PostgresStorage, each method is one statement, so a pool may send each down a different connection; deleting a
 * device takes its codes through the foreign key (ON DELETE CASCADE).
 */
export class PostgresPasswordlessCodeStorage implements PasswordlessCodeStorage {
  constructor(
    private readonly db: SqlDriver,
    private readonly t: PasswordlessCodeTables,
    private readonly appId: string,
  ) {}

  private q<R>(sql: string, params: unknown[] = []): Promise<R[]> {
    return queryRows<R>(this.db, sql, [this.appId, ...params]);
  }

  async createDeviceWithCode(d: PasswordlessDeviceRecord, c: PasswordlessCodeRecord) {
    try {
      // The codes row's foreign key to its device is checked at the end of the statement, after the device's insert.
      await this.q(
        `WITH d AS (INSERT INTO ${this.t.passwordless_devices}
            (app_id, tenant_id, device_id_hash, email, phone_number, link_code_salt, failed_attempts)
            VALUES ($1, $2, $3, $4, $5, $6, 0))
         INSERT INTO ${this.t.passwordless_codes}
           (app_id, tenant_id, code_id, device_id_hash, link_code_hash, created_at)
           VALUES ($1, $2, $7, $3, $8, $9)`,
        [
          d.tenantId,
          d.deviceIdHash,
          d.email ?? null,
          d.phoneNumber ?? null,
          d.linkCodeSalt,
          c.codeId,
          c.linkCodeHash,
          c.createdAt,
        ],
      );
      return "OK" as const;
    } catch (err) {
      return createOutcome(err);
    }
  }

  async createCode(c: PasswordlessCodeRecord) {
    try {
      const rows = await this.q(
        `INSERT INTO ${this.t.passwordless_codes}
           (app_id, tenant_id, code_id, device_id_hash, link_code_hash, created_at)
           SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint
           WHERE EXISTS (SELECT 1 FROM ${this.t.passwordless_devices}
             WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $4)
         RETURNING 1`,
        [c.tenantId, c.codeId, c.deviceIdHash, c.linkCodeHash, c.createdAt],
      );
      return rows.length > 0 ? ("OK" as const) : ("UNKNOWN_DEVICE" as const);
    } catch (err) {
      return createOutcome(err);
    }
  }

  async getDevice(tenantId: string, deviceIdHash: string) {
    const [row] = await this.q<DeviceRow>(
      `SELECT ${deviceColumns()} FROM ${this.t.passwordless_devices}
         WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $3`,
      [tenantId, deviceIdHash],
    );
    return row && device(row);
  }

  private async devicesBy(column: "email" | "phone_number", tenantId: string, value: string) {
    const rows = await this.q<DeviceRow>(
      `SELECT ${deviceColumns()} FROM ${this.t.passwordless_devices}
         WHERE app_id = $1 AND tenant_id = $2 AND ${column} = $3 ORDER BY device_id_hash`,
      [tenantId, value],
    );
    return rows.map(device);
  }

  listDevicesByEmail(tenantId: string, email: string) {
    return this.devicesBy("email", tenantId, email);
  }

  listDevicesByPhoneNumber(tenantId: string, phoneNumber: string) {
    return this.devicesBy("phone_number", tenantId, phoneNumber);
  }

  async listCodesOfDevice(tenantId: string, deviceIdHash: string) {
    const rows = await this.q<CodeRow>(
      `SELECT ${codeColumns} FROM ${this.t.passwordless_codes}
         WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $3 ORDER BY created_at, code_id`,
      [tenantId, deviceIdHash],
    );
    return rows.map(code);
  }

  async getCode(tenantId: string, codeId: string) {
    const [row] = await this.q<CodeRow>(
      `SELECT ${codeColumns} FROM ${this.t.passwordless_codes} WHERE app_id = $1 AND tenant_id = $2 AND code_id = $3`,
      [tenantId, codeId],
    );
    return row && code(row);
  }

  async getCodeByLinkCodeHash(tenantId: string, linkCodeHash: string) {
    const [row] = await this.q<CodeRow>(
      `SELECT ${codeColumns} FROM ${this.t.passwordless_codes}
         WHERE app_id = $1 AND tenant_id = $2 AND link_code_hash = $3`,
      [tenantId, linkCodeHash],
    );
    return row && code(row);
  }

  async consumeDevice(tenantId: string, deviceIdHash: string, linkCodeHash: string, notBefore: number, max: number) {
    // FOR UPDATE makes a concurrent consume of the same device wait here; once this one commits, the row is gone
    // and the other finds nothing to delete.
    const rows = await this.q<DeviceRow & { consumed: boolean }>(
      `WITH target AS (
         SELECT d.device_id_hash, d.email, d.phone_number FROM ${this.t.passwordless_devices} d
           JOIN ${this.t.passwordless_codes} c
             ON c.app_id = d.app_id AND c.tenant_id = d.tenant_id AND c.device_id_hash = d.device_id_hash
           WHERE d.app_id = $1 AND d.tenant_id = $2 AND d.device_id_hash = $3 AND d.failed_attempts < $6::int
             AND c.link_code_hash = $4 AND c.created_at >= $5::bigint
           FOR UPDATE OF d),
       gone AS (
         DELETE FROM ${this.t.passwordless_devices} x USING target t
           WHERE x.app_id = $1 AND x.tenant_id = $2 AND (x.device_id_hash = t.device_id_hash
             OR (t.email IS NOT NULL AND x.email = t.email)
             OR (t.email IS NULL AND x.phone_number = t.phone_number))
           RETURNING ${deviceColumns("x.")}, x.device_id_hash = t.device_id_hash AS consumed)
       SELECT * FROM gone WHERE consumed`,
      [tenantId, deviceIdHash, linkCodeHash, notBefore, max],
    );
    return rows[0] && device(rows[0]);
  }

  async recordFailedAttempt(
    tenantId: string,
    deviceIdHash: string,
    seen: number,
    max: number,
  ): Promise<FailedAttemptOutcome> {
    // The two branches exclude each other ($4 + 1 reaches $5 or not), so no row is written twice.
    const [row] = await this.q<{ outcome: FailedAttemptOutcome }>(
      `WITH gone AS (DELETE FROM ${this.t.passwordless_devices}
           WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $3 AND failed_attempts = $4::int
             AND $4::int + 1 >= $5::int
           RETURNING 'DELETED' AS outcome),
       bumped AS (UPDATE ${this.t.passwordless_devices} SET failed_attempts = failed_attempts + 1
           WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $3 AND failed_attempts = $4::int
             AND $4::int + 1 < $5::int
           RETURNING 'INCREMENTED' AS outcome)
       SELECT outcome FROM gone UNION ALL SELECT outcome FROM bumped`,
      [tenantId, deviceIdHash, seen, max],
    );
    return row?.outcome ?? "CHANGED";
  }

  async removeCode(tenantId: string, codeId: string) {
    // The device goes with its last code (and takes that code through the foreign key).
    await this.q(
      `WITH c AS (SELECT device_id_hash FROM ${this.t.passwordless_codes}
           WHERE app_id = $1 AND tenant_id = $2 AND code_id = $3),
       others AS (SELECT count(*) AS n FROM ${this.t.passwordless_codes} o, c
           WHERE o.app_id = $1 AND o.tenant_id = $2 AND o.device_id_hash = c.device_id_hash AND o.code_id <> $3),
       dev AS (DELETE FROM ${this.t.passwordless_devices} d USING c, others
           WHERE d.app_id = $1 AND d.tenant_id = $2 AND d.device_id_hash = c.device_id_hash AND others.n = 0)
       DELETE FROM ${this.t.passwordless_codes} WHERE app_id = $1 AND tenant_id = $2 AND code_id = $3`,
      [tenantId, codeId],
    );
  }

  async deleteDevice(tenantId: string, deviceIdHash: string) {
    await this.q(
      `DELETE FROM ${this.t.passwordless_devices} WHERE app_id = $1 AND tenant_id = $2 AND device_id_hash = $3`,
      [tenantId, deviceIdHash],
    );
  }

  private async deleteBy(column: "email" | "phone_number", tenantIds: string[], value: string) {
    await this.q(
      `DELETE FROM ${this.t.passwordless_devices}
         WHERE app_id = $1 AND tenant_id = ANY($2::text[]) AND ${column} = $3`,
      [tenantIds, value],
    );
  }

  deleteDevicesByEmail(tenantIds: string[], email: string) {
    return this.deleteBy("email", tenantIds, email);
  }

  deleteDevicesByPhoneNumber(tenantIds: string[], phoneNumber: string) {
    return this.deleteBy("phone_number", tenantIds, phoneNumber);
  }
}
