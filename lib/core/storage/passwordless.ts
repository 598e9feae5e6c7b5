/**
 * The Passwordless recipe's sign-in attempts: a device (one attempt to sign in with an email or a phone number,
 * named by the hash of its device id) and the codes sent for it. Everything is per tenant, as the core keeps it
 * (plugin 9.5: passwordless_devices and passwordless_codes, keyed by app and tenant).
 *
 * The users a consumed code signs in are stored with the other recipe users, not here.
 */

export interface PasswordlessDeviceRecord {
  tenantId: string;
  /** base64url (no padding) of sha256(device id): the `preAuthSessionId` the SDK sees. */
  deviceIdHash: string;
  /** Exactly one of email and phoneNumber is set. */
  email?: string;
  phoneNumber?: string;
  /** base64 of 32 random bytes, mixed into the link code so a client cannot derive it from the device id. */
  linkCodeSalt: string;
  failedAttempts: number;
}

export interface PasswordlessCodeRecord {
  tenantId: string;
  codeId: string;
  deviceIdHash: string;
  /** base64url of sha256(link code); unique per tenant. */
  linkCodeHash: string;
  createdAt: number;
}

/** Why a new device or code was not stored; the caller draws new random values and tries again, as the core does. */
export type CreateCodeOutcome = "OK" | "DEVICE_EXISTS" | "CODE_ID_EXISTS" | "LINK_CODE_HASH_EXISTS" | "UNKNOWN_DEVICE";

/** What a wrong or expired user input code did to its device. */
export type FailedAttemptOutcome =
  /** failedAttempts went up by one. */
  | "INCREMENTED"
  /** That was the last attempt allowed: the device and its codes are gone. */
  | "DELETED"
  /** The device changed (or went) since it was read; read it again. */
  | "CHANGED";

export interface PasswordlessCodeStorage {
  /** A new device with its first code. */
  createDeviceWithCode(device: PasswordlessDeviceRecord, code: PasswordlessCodeRecord): Promise<CreateCodeOutcome>;
  /** Another code for an existing device ("UNKNOWN_DEVICE" when it is gone). */
  createCode(code: PasswordlessCodeRecord): Promise<CreateCodeOutcome>;

  getDevice(tenantId: string, deviceIdHash: string): Promise<PasswordlessDeviceRecord | undefined>;
  listDevicesByEmail(tenantId: string, email: string): Promise<PasswordlessDeviceRecord[]>;
  listDevicesByPhoneNumber(tenantId: string, phoneNumber: string): Promise<PasswordlessDeviceRecord[]>;
  /** Oldest first. */
  listCodesOfDevice(tenantId: string, deviceIdHash: string): Promise<PasswordlessCodeRecord[]>;
  getCode(tenantId: string, codeId: string): Promise<PasswordlessCodeRecord | undefined>;
  getCodeByLinkCodeHash(tenantId: string, linkCodeHash: string): Promise<PasswordlessCodeRecord | undefined>;

  /**
   * The one step that decides a sign-in: if the device still exists with fewer than `maxAttempts` failed attempts
   * and holds the code `linkCodeHash` created at or after `notBefore`, delete every device of the tenant with the
   * same email (or, for a phone device, the same phone number), codes included, and return the device as it was.
   * Otherwise change nothing and return undefined. Of two concurrent calls for one device, at most one gets it.
   */
  consumeDevice(
    tenantId: string,
    deviceIdHash: string,
    linkCodeHash: string,
    notBefore: number,
    maxAttempts: number,
  ): Promise<PasswordlessDeviceRecord | undefined>;
  /**
   * Count a wrong or expired user input code against the device, if it still has `seenFailedAttempts`: delete it
   * when that reaches `maxAttempts`, else add one.
   */
  recordFailedAttempt(
    tenantId: string,
    deviceIdHash: string,
    seenFailedAttempts: number,
    maxAttempts: number,
  ): Promise<FailedAttemptOutcome>;

  /** Delete the code; its device too when it was the device's last code. */
  removeCode(tenantId: string, codeId: string): Promise<void>;
  deleteDevice(tenantId: string, deviceIdHash: string): Promise<void>;
  /** Delete the devices (and codes) for an email in these tenants. */
  deleteDevicesByEmail(tenantIds: string[], email: string): Promise<void>;
  deleteDevicesByPhoneNumber(tenantIds: string[], phoneNumber: string): Promise<void>;
}
