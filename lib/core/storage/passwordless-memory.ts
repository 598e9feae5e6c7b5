import type {
  CreateCodeOutcome,
  FailedAttemptOutcome,
  PasswordlessCodeRecord,
  PasswordlessCodeStorage,
  PasswordlessDeviceRecord,
} from "./passwordless.js";

const key = (tenantId: string, id: string) => `${tenantId}\u0000${id}`;

/**
 * One app's sign-in attempts in memory. No method awaits between reading and writing, so each is atomic on Node's
 * single thread; that is what makes consumeDevice and recordFailedAttempt safe against a concurrent call. Sign-in
 * attempts are few and short-lived, so lookups by email, phone number or link code scan.
 */
export class MemoryPasswordlessCodeStorage implements PasswordlessCodeStorage {
  private devices = new Map<string, PasswordlessDeviceRecord>();
  private codes = new Map<string, PasswordlessCodeRecord>();

  private linkCodeHashTaken(tenantId: string, linkCodeHash: string) {
    for (const c of this.codes.values()) if (c.tenantId === tenantId && c.linkCodeHash === linkCodeHash) return true;
    return false;
  }

  private insertCode(code: PasswordlessCodeRecord): CreateCodeOutcome {
    if (this.codes.has(key(code.tenantId, code.codeId))) return "CODE_ID_EXISTS";
    if (this.linkCodeHashTaken(code.tenantId, code.linkCodeHash)) return "LINK_CODE_HASH_EXISTS";
    this.codes.set(key(code.tenantId, code.codeId), { ...code });
    return "OK";
  }

  async createDeviceWithCode(device: PasswordlessDeviceRecord, code: PasswordlessCodeRecord) {
    if (this.devices.has(key(device.tenantId, device.deviceIdHash))) return "DEVICE_EXISTS" as const;
    this.devices.set(key(device.tenantId, device.deviceIdHash), { ...device });
    const outcome = this.insertCode(code);
    if (outcome !== "OK") this.devices.delete(key(device.tenantId, device.deviceIdHash));
    return outcome;
  }

  async createCode(code: PasswordlessCodeRecord) {
    if (!this.devices.has(key(code.tenantId, code.deviceIdHash))) return "UNKNOWN_DEVICE" as const;
    return this.insertCode(code);
  }

  async getDevice(tenantId: string, deviceIdHash: string) {
    const d = this.devices.get(key(tenantId, deviceIdHash));
    return d && { ...d };
  }

  private devicesWhere(test: (d: PasswordlessDeviceRecord) => boolean) {
    return [...this.devices.values()].filter(test).map((d) => ({ ...d }));
  }

  async listDevicesByEmail(tenantId: string, email: string) {
    return this.devicesWhere((d) => d.tenantId === tenantId && d.email === email);
  }

  async listDevicesByPhoneNumber(tenantId: string, phoneNumber: string) {
    return this.devicesWhere((d) => d.tenantId === tenantId && d.phoneNumber === phoneNumber);
  }

  async listCodesOfDevice(tenantId: string, deviceIdHash: string) {
    return [...this.codes.values()]
      .filter((c) => c.tenantId === tenantId && c.deviceIdHash === deviceIdHash)
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((c) => ({ ...c }));
  }

  async getCode(tenantId: string, codeId: string) {
    const c = this.codes.get(key(tenantId, codeId));
    return c && { ...c };
  }

  async getCodeByLinkCodeHash(tenantId: string, linkCodeHash: string) {
    for (const c of this.codes.values()) {
      if (c.tenantId === tenantId && c.linkCodeHash === linkCodeHash) return { ...c };
    }
    return undefined;
  }

  private dropDevice(tenantId: string, deviceIdHash: string) {
    this.devices.delete(key(tenantId, deviceIdHash));
    for (const [k, c] of this.codes) {
      if (c.tenantId === tenantId && c.deviceIdHash === deviceIdHash) this.codes.delete(k);
    }
  }

  async consumeDevice(tenantId: string, deviceIdHash: string, linkCodeHash: string, notBefore: number, max: number) {
    const device = this.devices.get(key(tenantId, deviceIdHash));
    if (!device || device.failedAttempts >= max) return undefined;
    const code = [...this.codes.values()].find((c) => c.tenantId === tenantId && c.linkCodeHash === linkCodeHash);
    if (!code || code.deviceIdHash !== deviceIdHash || code.createdAt < notBefore) return undefined;
    const consumed = { ...device };
    const sameContact = this.devicesWhere(
      (d) =>
        d.tenantId === tenantId &&
        (device.email !== undefined ? d.email === device.email : d.phoneNumber === device.phoneNumber),
    );
    for (const d of [device, ...sameContact]) this.dropDevice(tenantId, d.deviceIdHash);
    return consumed;
  }

  async recordFailedAttempt(
    tenantId: string,
    deviceIdHash: string,
    seen: number,
    max: number,
  ): Promise<FailedAttemptOutcome> {
    const device = this.devices.get(key(tenantId, deviceIdHash));
    if (!device || device.failedAttempts !== seen) return "CHANGED";
    if (seen + 1 >= max) {
      this.dropDevice(tenantId, deviceIdHash);
      return "DELETED";
    }
    device.failedAttempts = seen + 1;
    return "INCREMENTED";
  }

  async removeCode(tenantId: string, codeId: string) {
    const code = this.codes.get(key(tenantId, codeId));
    if (!code) return;
    const siblings = [...this.codes.values()].filter(
      (c) => c.tenantId === tenantId && c.deviceIdHash === code.deviceIdHash,
    );
    if (siblings.length === 1) this.dropDevice(tenantId, code.deviceIdHash);
    else this.codes.delete(key(tenantId, codeId));
  }

  async deleteDevice(tenantId: string, deviceIdHash: string) {
    this.dropDevice(tenantId, deviceIdHash);
  }

  async deleteDevicesByEmail(tenantIds: string[], email: string) {
    for (const d of this.devicesWhere((d) => tenantIds.includes(d.tenantId) && d.email === email))
      this.dropDevice(d.tenantId, d.deviceIdHash);
  }

  async deleteDevicesByPhoneNumber(tenantIds: string[], phoneNumber: string) {
    for (const d of this.devicesWhere((d) => tenantIds.includes(d.tenantId) && d.phoneNumber === phoneNumber))
      this.dropDevice(d.tenantId, d.deviceIdHash);
  }
}
