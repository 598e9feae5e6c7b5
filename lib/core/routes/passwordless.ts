import { randomUUID } from "node:crypto";
import { log } from "../../debug.js";
import { atLeastCdi4, ok, status, type Route, type RouteContext, type RouteResult } from "../context.js";
import { badRequest, field, normaliseEmail, queryParam, type Json } from "../http.js";
import { checkCode, createCode, preAuthSessionIdOf, type CodeInput } from "../passwordless.js";
import type { PasswordlessDeviceRecord } from "../storage/passwordless.js";
import type { PasswordlessUserRecord, UserRecord } from "../storage/types.js";
import { findUser, normalisePhoneNumber, toReportedId, userJson } from "../users.js";

const debug = log.extend("core");
const rid = "passwordless";

/** Java's JsonObject.has: a key present with any value, null included. */
const has = (body: Json, key: string) => body[key] !== undefined;

function deviceJson(d: PasswordlessDeviceRecord): Json {
  return {
    preAuthSessionId: d.deviceIdHash,
    failedCodeInputAttemptCount: d.failedAttempts,
    ...(d.email !== undefined ? { email: d.email } : {}),
    ...(d.phoneNumber !== undefined ? { phoneNumber: d.phoneNumber } : {}),
  };
}

async function createCodeRoute(ctx: RouteContext) {
  const rawEmail = field(ctx.body, "email", "string", false);
  const rawPhone = field(ctx.body, "phoneNumber", "string", false);
  const deviceId = field(ctx.body, "deviceId", "string", false);
  if ([rawEmail, rawPhone, deviceId].filter((v) => v !== undefined).length !== 1) {
    throw badRequest("Please provide exactly one of email, phoneNumber or deviceId");
  }
  const userInputCode = field(ctx.body, "userInputCode", "string", false);
  if (userInputCode === "") throw badRequest("userInputCode cannot be an empty string.");
  const result = await createCode(ctx.app, ctx.tenantId, {
    ...(rawEmail !== undefined ? { email: normaliseEmail(rawEmail) } : {}),
    ...(rawPhone !== undefined ? { phoneNumber: normalisePhoneNumber(rawPhone) } : {}),
    ...(deviceId !== undefined ? { deviceId } : {}),
    ...(userInputCode !== undefined ? { userInputCode } : {}),
  });
  return status(result.status, { ...result });
}

/** The code of a consume or check request: a link code, or a device id with the code the user typed. */
function codeInput(body: Json): CodeInput {
  const preAuthSessionId = field(body, "preAuthSessionId", "string", true);
  const wrongShape = () => badRequest("Please provide exactly one of linkCode or deviceId+userInputCode");
  if (has(body, "linkCode")) {
    if (has(body, "userInputCode") || has(body, "deviceId")) throw wrongShape();
    return { preAuthSessionId, linkCode: field(body, "linkCode", "string", true) };
  }
  if (!has(body, "userInputCode") || !has(body, "deviceId")) throw wrongShape();
  return {
    preAuthSessionId,
    deviceId: field(body, "deviceId", "string", true),
    userInputCode: field(body, "userInputCode", "string", true),
  };
}

type CheckFailure = Exclude<Awaited<ReturnType<typeof checkCode>>, { status: "OK" }>;
const failure = (r: CheckFailure): RouteResult => status(r.status, { ...r });

async function checkCodeRoute(ctx: RouteContext) {
  const result = await checkCode(ctx.app, ctx.tenantId, codeInput(ctx.body), false);
  if (result.status !== "OK") return failure(result);
  return ok({ consumedDevice: deviceJson(result.device) });
}

/** The tenant's passwordless user holding the device's email or phone number (what a consumed code signs in). */
async function passwordlessUserFor(ctx: RouteContext, d: PasswordlessDeviceRecord) {
  const query = d.email !== undefined ? { email: d.email } : { phoneNumber: d.phoneNumber! };
  const users = await ctx.app.storage.findUsersByAccountInfo(query, ctx.tenantId);
  return users.find(
    (u): u is PasswordlessUserRecord =>
      u.recipeId === "passwordless" &&
      u.tenantIds.includes(ctx.tenantId) &&
      (d.email !== undefined ? u.email === d.email : u.phoneNumber === d.phoneNumber),
  );
}

async function consumeCodeRoute(ctx: RouteContext) {
  const result = await checkCode(ctx.app, ctx.tenantId, codeInput(ctx.body), true);
  if (result.status !== "OK") return failure(result);
  const device = result.device;
  const storage = ctx.app.storage;
  // From CDI 4.0 the core marks the email it just proved verified.
  const verify = atLeastCdi4(ctx.cdiVersion) && device.email !== undefined;

  let user = await passwordlessUserFor(ctx, device);
  let createdNewUser = false;
  if (user) {
    if (verify) await storage.setEmailVerified(await toReportedId(ctx.app, user.id), device.email!, true);
    // The user may hold the other kind of contact too: its pending codes stop working with this sign-in.
    if (user.email !== undefined && user.email !== device.email)
      await storage.passwordlessCodes.deleteDevicesByEmail([ctx.tenantId], user.email);
    if (user.phoneNumber !== undefined && user.phoneNumber !== device.phoneNumber)
      await storage.passwordlessCodes.deleteDevicesByPhoneNumber([ctx.tenantId], user.phoneNumber);
  } else {
    user = {
      id: randomUUID(),
      recipeId: "passwordless",
      ...(device.email !== undefined ? { email: device.email } : { phoneNumber: device.phoneNumber }),
      timeJoined: Date.now(),
      tenantIds: [ctx.tenantId],
    };
    // Taken since the lookup: someone completed a sign-up for the same contact in between; the core restarts too.
    if ((await storage.insertUser(user)) !== "OK") return status("RESTART_FLOW_ERROR");
    if (verify) await storage.setEmailVerified(user.id, device.email!, true);
    createdNewUser = true;
    debug("passwordless: new user %s in tenant %s", user.id, ctx.tenantId);
  }
  return ok({
    createdNewUser,
    user: await userJson(ctx.app, user),
    recipeUserId: await toReportedId(ctx.app, user.id),
    consumedDevice: deviceJson(device),
  });
}

/** One code (the device goes with its last one), or a whole device by its preAuthSessionId (SDK 24's revokeCode). */
async function removeCodeRoute(ctx: RouteContext) {
  const codeId = field(ctx.body, "codeId", "string", false);
  const preAuthSessionId = field(ctx.body, "preAuthSessionId", "string", false);
  if ((codeId === undefined) === (preAuthSessionId === undefined)) {
    throw badRequest("Please provide exactly one of codeId or preAuthSessionId");
  }
  const codes = ctx.app.storage.passwordlessCodes;
  if (codeId !== undefined) await codes.removeCode(ctx.tenantId, codeId);
  else await codes.deleteDevice(ctx.tenantId, preAuthSessionId!.replace(/=/g, ""));
  return ok();
}

async function removeCodesRoute(ctx: RouteContext) {
  const email = field(ctx.body, "email", "string", false);
  const phoneNumber = field(ctx.body, "phoneNumber", "string", false);
  if ((email === undefined) === (phoneNumber === undefined)) {
    throw badRequest("Please provide exactly one of email or phoneNumber");
  }
  const codes = ctx.app.storage.passwordlessCodes;
  if (email !== undefined) await codes.deleteDevicesByEmail([ctx.tenantId], normaliseEmail(email));
  else await codes.deleteDevicesByPhoneNumber([ctx.tenantId], normalisePhoneNumber(phoneNumber!));
  return ok();
}

async function listCodesRoute(ctx: RouteContext) {
  const email = queryParam(ctx.query, "email", false);
  const phoneNumber = queryParam(ctx.query, "phoneNumber", false);
  const deviceId = queryParam(ctx.query, "deviceId", false);
  const preAuthSessionId = queryParam(ctx.query, "preAuthSessionId", false);
  if ([email, phoneNumber, deviceId, preAuthSessionId].filter((v) => v !== undefined).length !== 1) {
    throw badRequest("Please provide exactly one of email, phoneNumber, deviceId or preAuthSessionId");
  }
  const codes = ctx.app.storage.passwordlessCodes;
  let devices: PasswordlessDeviceRecord[];
  if (email !== undefined) devices = await codes.listDevicesByEmail(ctx.tenantId, normaliseEmail(email));
  else if (phoneNumber !== undefined)
    devices = await codes.listDevicesByPhoneNumber(ctx.tenantId, normalisePhoneNumber(phoneNumber));
  else {
    const hash = deviceId !== undefined ? preAuthSessionIdOf(deviceId) : preAuthSessionId!.replace(/=/g, "");
    const device = await codes.getDevice(ctx.tenantId, hash);
    devices = device ? [device] : [];
  }
  const codeLifetime = ctx.app.config().passwordless_code_lifetime;
  const out = [];
  for (const d of devices) {
    const list = await codes.listCodesOfDevice(ctx.tenantId, d.deviceIdHash);
    out.push({
      ...deviceJson(d),
      codes: list.map((c) => ({ codeId: c.codeId, timeCreated: c.createdAt, codeLifetime })),
    });
  }
  return ok({ devices: out });
}

type ContactUpdate = { value: string | null } | undefined;

/** Passwordless.updateUser: the email or phone number of a passwordless recipe user, or null to remove one. */
async function updateUserRoute(ctx: RouteContext) {
  const id = field(ctx.body, atLeastCdi4(ctx.cdiVersion) ? "recipeUserId" : "userId", "string", true);
  const email: ContactUpdate = !has(ctx.body, "email")
    ? undefined
    : { value: ctx.body.email === null ? null : normaliseEmail(field(ctx.body, "email", "string", true)) };
  const phone: ContactUpdate = !has(ctx.body, "phoneNumber")
    ? undefined
    : {
        value:
          ctx.body.phoneNumber === null ? null : normalisePhoneNumber(field(ctx.body, "phoneNumber", "string", true)),
      };
  const user = await findUser(ctx.app, id);
  if (!user || user.recipeId !== "passwordless") return status("UNKNOWN_USER_ID_ERROR");
  const emailAfter = email ? email.value : (user.email ?? null);
  const phoneAfter = phone ? phone.value : (user.phoneNumber ?? null);
  if (emailAfter === null && phoneAfter === null) {
    throw badRequest("You cannot clear both email and phone number of a user");
  }
  const storage = ctx.app.storage;
  const codes = storage.passwordlessCodes;
  const emailChanges = email !== undefined && email.value !== (user.email ?? null);
  const phoneChanges = phone !== undefined && phone.value !== (user.phoneNumber ?? null);

  // A linked user must not take an email or phone number that another primary user holds in one of its tenants.
  const heldByAnotherPrimary = async (info: { email: string } | { phoneNumber: string }) => {
    const mine = user.primaryOrRecipeUserId ?? user.id;
    for (const tenantId of user.tenantIds) {
      const holders = await storage.findUsersByAccountInfo(info, tenantId);
      if (holders.some((h: UserRecord) => h.isLinkedOrPrimary && (h.primaryOrRecipeUserId ?? h.id) !== mine))
        return true;
    }
    return false;
  };

  if (emailChanges) {
    if (user.isLinkedOrPrimary && email.value !== null && (await heldByAnotherPrimary({ email: email.value }))) {
      return status("EMAIL_CHANGE_NOT_ALLOWED_ERROR", {
        reason: "New email is associated with another primary user ID",
      });
    }
    const outcome = await storage.updateUser(user.id, { email: email.value });
    if (outcome === "UNKNOWN_USER") return status("UNKNOWN_USER_ID_ERROR");
    if (outcome === "EMAIL_ALREADY_EXISTS") return status("EMAIL_ALREADY_EXISTS_ERROR");
    // Codes sent to the old or the new email would sign in to an account they no longer match.
    if (user.email !== undefined) await codes.deleteDevicesByEmail(user.tenantIds, user.email);
    if (email.value !== null) await codes.deleteDevicesByEmail(user.tenantIds, email.value);
  }
  if (phoneChanges) {
    if (user.isLinkedOrPrimary && phone.value !== null && (await heldByAnotherPrimary({ phoneNumber: phone.value }))) {
      return status("PHONE_NUMBER_CHANGE_NOT_ALLOWED_ERROR", {
        reason: "New phone number is associated with another primary user ID",
      });
    }
    const outcome = await storage.updateUser(user.id, { phoneNumber: phone.value });
    if (outcome === "UNKNOWN_USER") return status("UNKNOWN_USER_ID_ERROR");
    if (outcome === "PHONE_NUMBER_ALREADY_EXISTS") return status("PHONE_NUMBER_ALREADY_EXISTS_ERROR");
    if (user.phoneNumber !== undefined) await codes.deleteDevicesByPhoneNumber(user.tenantIds, user.phoneNumber);
    if (phone.value !== null) await codes.deleteDevicesByPhoneNumber(user.tenantIds, phone.value);
  }
  return ok();
}

export const passwordlessRoutes: Route[] = [
  { method: "POST", path: "/recipe/signinup/code", scope: "tenant", rid, handler: createCodeRoute },
  { method: "POST", path: "/recipe/signinup/code/consume", scope: "tenant", rid, handler: consumeCodeRoute },
  { method: "POST", path: "/recipe/signinup/code/check", scope: "tenant", rid, handler: checkCodeRoute },
  { method: "POST", path: "/recipe/signinup/code/remove", scope: "tenant", rid, handler: removeCodeRoute },
  { method: "POST", path: "/recipe/signinup/codes/remove", scope: "tenant", rid, handler: removeCodesRoute },
  { method: "GET", path: "/recipe/signinup/codes", scope: "tenant", rid, handler: listCodesRoute },
  { method: "PUT", path: "/recipe/user", scope: "app", rid, handler: updateUserRoute },
];
