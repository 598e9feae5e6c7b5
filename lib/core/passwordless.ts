import { createHash, createHmac, randomBytes, randomInt, randomUUID } from "node:crypto";
import { log } from "../debug.js";
import type { AppContext } from "./context.js";
import { badRequest } from "./http.js";
import type { PasswordlessDeviceRecord } from "./storage/passwordless.js";

const debug = log.extend("core");

/**
 * The Passwordless recipe's codes, made as the core makes them (Passwordless.java and its PasswordlessDeviceId,
 * LinkCode, LinkCodeHash and LinkCodeSalt classes), so that a database the dev core wrote is one a real core can
 * consume codes from:
 *
 *   deviceId          32 random bytes, base64 (padded)
 *   preAuthSessionId  base64url(sha256(deviceId bytes)), unpadded: the device id hash, which is what is stored
 *   linkCodeSalt      32 random bytes, base64 (padded), stored with the device
 *   linkCode          base64url(HMAC-SHA256(key = deviceId bytes ‖ salt bytes, userInputCode)), unpadded
 *   linkCodeHash      base64url(sha256(linkCode bytes)), padded: what is stored for the code
 *   userInputCode     6 random digits unless the caller gives one
 *
 * The salt keeps the link code out of a client's reach: from the deviceId and a guessed userInputCode alone it
 * cannot compute the link code, so it cannot get around the failed-attempt limit by consuming link codes instead.
 */

const b64url = (bytes: Buffer, padded: boolean) => {
  const s = bytes.toString("base64url");
  return padded ? s.padEnd(Math.ceil(s.length / 4) * 4, "=") : s;
};
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest();

/** Java's Base64 decoders: their own alphabet only, padding optional. */
function decode(value: string, alphabet: "base64" | "base64url", source: string): Buffer {
  const chars = alphabet === "base64" ? /^[A-Za-z0-9+/]*={0,2}$/ : /^[A-Za-z0-9_-]*={0,2}$/;
  if (!chars.test(value) || value.replace(/=+$/, "").length % 4 === 1) {
    throw badRequest(`Input encoding error in ${source}`);
  }
  return Buffer.from(value, alphabet);
}

const deviceIdHashOf = (deviceId: Buffer): string => b64url(sha256(deviceId), false);

/** The preAuthSessionId of a device id as a client holds it (400 when it is not base64). */
export const preAuthSessionIdOf = (deviceId: string): string => deviceIdHashOf(decode(deviceId, "base64", "deviceId"));

function linkCodeOf(deviceId: Buffer, linkCodeSalt: string, userInputCode: string): Buffer {
  const key = Buffer.concat([deviceId, Buffer.from(linkCodeSalt, "base64")]);
  return createHmac("sha256", key).update(userInputCode, "utf8").digest();
}

const linkCodeHashOf = (linkCode: Buffer): string => b64url(sha256(linkCode), true);

const newUserInputCode = () => Array.from({ length: 6 }, () => randomInt(10)).join("");

export interface CreatedCode {
  preAuthSessionId: string;
  codeId: string;
  deviceId: string;
  userInputCode: string;
  linkCode: string;
  timeCreated: number;
  codeLifetime: number;
}

export type CreateCodeResult =
  | ({ status: "OK" } & CreatedCode)
  | { status: "RESTART_FLOW_ERROR" }
  | { status: "USER_INPUT_CODE_ALREADY_USED_ERROR" };

/** How many times storage may refuse fresh random values (a collision) before we give up. */
const maxCollisions = 10;

/**
 * Passwordless.createCode: a new device for an email or phone number, or another code for an existing device
 * (`deviceId`). A code the caller chose that the device already has is USER_INPUT_CODE_ALREADY_USED_ERROR.
 */
export async function createCode(
  app: AppContext,
  tenantId: string,
  input: { email?: string; phoneNumber?: string; deviceId?: string; userInputCode?: string },
): Promise<CreateCodeResult> {
  const store = app.storage.passwordlessCodes;
  const codeLifetime = app.config().passwordless_code_lifetime;
  for (let attempt = 0; attempt < maxCollisions; attempt++) {
    const userInputCode = input.userInputCode ?? newUserInputCode();
    const codeId = randomUUID();
    const timeCreated = Date.now();
    if (input.deviceId === undefined) {
      const deviceId = randomBytes(32);
      const linkCodeSalt = randomBytes(32).toString("base64");
      const linkCode = linkCodeOf(deviceId, linkCodeSalt, userInputCode);
      const deviceIdHash = deviceIdHashOf(deviceId);
      const device: PasswordlessDeviceRecord = {
        tenantId,
        deviceIdHash,
        ...(input.email !== undefined ? { email: input.email } : { phoneNumber: input.phoneNumber }),
        linkCodeSalt,
        failedAttempts: 0,
      };
      const code = { tenantId, codeId, deviceIdHash, linkCodeHash: linkCodeHashOf(linkCode), createdAt: timeCreated };
      const outcome = await store.createDeviceWithCode(device, code);
      // Every value is drawn again on a retry, so every collision here is worth a retry (the core's reasoning too).
      if (outcome !== "OK") continue;
      const made = { preAuthSessionId: deviceIdHash, codeId, deviceId: deviceId.toString("base64"), userInputCode };
      debug("passwordless: new device %s in tenant %s", deviceIdHash, tenantId);
      return { status: "OK", ...made, linkCode: b64url(linkCode, false), timeCreated, codeLifetime };
    }
    const deviceId = decode(input.deviceId, "base64", "deviceId");
    const deviceIdHash = deviceIdHashOf(deviceId);
    const device = await store.getDevice(tenantId, deviceIdHash);
    if (!device) return { status: "RESTART_FLOW_ERROR" };
    const linkCode = linkCodeOf(deviceId, device.linkCodeSalt, userInputCode);
    const code = { tenantId, codeId, deviceIdHash, linkCodeHash: linkCodeHashOf(linkCode), createdAt: timeCreated };
    const outcome = await store.createCode(code);
    if (outcome === "UNKNOWN_DEVICE") return { status: "RESTART_FLOW_ERROR" };
    // With the caller's own code, the same device always gives the same link code: another try cannot help.
    if (outcome === "LINK_CODE_HASH_EXISTS" && input.userInputCode !== undefined) {
      return { status: "USER_INPUT_CODE_ALREADY_USED_ERROR" };
    }
    if (outcome !== "OK") continue;
    return {
      status: "OK",
      preAuthSessionId: deviceIdHash,
      codeId,
      deviceId: deviceId.toString("base64"),
      userInputCode,
      linkCode: b64url(linkCode, false),
      timeCreated,
      codeLifetime,
    };
  }
  throw new Error(`passwordless: ${maxCollisions} random values in a row collided with stored ones`);
}

export type CheckCodeResult =
  | { status: "OK"; device: PasswordlessDeviceRecord }
  | { status: "RESTART_FLOW_ERROR" }
  | {
      status: "INCORRECT_USER_INPUT_CODE_ERROR" | "EXPIRED_USER_INPUT_CODE_ERROR";
      failedCodeInputAttemptCount: number;
      maximumCodeInputAttempts: number;
    };

export type CodeInput = { preAuthSessionId: string } & (
  { linkCode: string } | { deviceId: string; userInputCode: string }
);

/**
 * Passwordless.checkCodeAndReturnDevice. With `consume`, a right code deletes every device of the tenant for the
 * same email or phone number (the sign-in is decided; its other codes must not work any more). A wrong or expired
 * user input code counts against the device, which is deleted at `passwordless_max_code_input_attempts`; a bad
 * link code only restarts the flow, since link codes cannot be guessed.
 */
export async function checkCode(
  app: AppContext,
  tenantId: string,
  input: CodeInput,
  consume: boolean,
): Promise<CheckCodeResult> {
  const store = app.storage.passwordlessCodes;
  const config = app.config();
  const max = config.passwordless_max_code_input_attempts;
  const byUserInput = !("linkCode" in input);

  let deviceIdHash: string;
  let linkCodeHash: string;
  if (!byUserInput) {
    linkCodeHash = linkCodeHashOf(decode(input.linkCode, "base64url", "linkCode"));
    const code = await store.getCodeByLinkCodeHash(tenantId, linkCodeHash);
    if (!code || code.createdAt < Date.now() - config.passwordless_code_lifetime) {
      return { status: "RESTART_FLOW_ERROR" };
    }
    deviceIdHash = code.deviceIdHash;
  } else {
    const deviceId = decode(input.deviceId, "base64", "deviceId");
    deviceIdHash = deviceIdHashOf(deviceId);
    const device = await store.getDevice(tenantId, deviceIdHash);
    if (!device) return { status: "RESTART_FLOW_ERROR" };
    linkCodeHash = linkCodeHashOf(linkCodeOf(deviceId, device.linkCodeSalt, input.userInputCode));
  }
  if (deviceIdHash !== input.preAuthSessionId.replace(/=/g, "")) {
    throw badRequest("preAuthSessionId and deviceId doesn't match");
  }

  // The core does this in one transaction with the device locked; here each step is atomic in storage and a step
  // that finds the device changed since it was read starts over (a few times at most: each start over means
  // another request changed the device, and there are only so many codes and attempts).
  for (let round = 0; round < maxCollisions; round++) {
    const device = await store.getDevice(tenantId, deviceIdHash);
    if (!device) return { status: "RESTART_FLOW_ERROR" };
    if (device.failedAttempts >= max) {
      // The limit was lowered since this device's last failure.
      await store.deleteDevice(tenantId, deviceIdHash);
      return { status: "RESTART_FLOW_ERROR" };
    }
    const notBefore = Date.now() - config.passwordless_code_lifetime;
    if (consume) {
      const consumed = await store.consumeDevice(tenantId, deviceIdHash, linkCodeHash, notBefore, max);
      if (consumed) {
        debug("passwordless: device %s consumed in tenant %s", deviceIdHash, tenantId);
        return { status: "OK", device: consumed };
      }
    }
    const code = await store.getCodeByLinkCodeHash(tenantId, linkCodeHash);
    const valid = code !== undefined && code.deviceIdHash === deviceIdHash && code.createdAt >= notBefore;
    if (valid) {
      if (!consume) return { status: "OK", device };
      continue; // another consume or a failure changed the device in between
    }
    if (!byUserInput) return { status: "RESTART_FLOW_ERROR" };
    const outcome = await store.recordFailedAttempt(tenantId, deviceIdHash, device.failedAttempts, max);
    if (outcome === "CHANGED") continue;
    debug("passwordless: wrong or expired code for device %s (%s)", deviceIdHash, outcome);
    if (outcome === "DELETED") return { status: "RESTART_FLOW_ERROR" };
    return {
      status: code ? "EXPIRED_USER_INPUT_CODE_ERROR" : "INCORRECT_USER_INPUT_CODE_ERROR",
      failedCodeInputAttemptCount: device.failedAttempts + 1,
      maximumCodeInputAttempts: max,
    };
  }
  debug("passwordless: device %s kept changing under this check; the flow restarts", deviceIdHash);
  return { status: "RESTART_FLOW_ERROR" };
}
