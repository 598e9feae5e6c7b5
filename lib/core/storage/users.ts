import type { AccountInfoQuery, UserPatch, UserRecord } from "./types.js";

/** Oldest first; ties by id, so that every storage returns the same order. */
export const byTimeJoined = (a: UserRecord, b: UserRecord): number =>
  a.timeJoined - b.timeJoined || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Whether a recipe user holds any of the account infos. */
export function matchesAccountInfo(u: UserRecord, info: AccountInfoQuery): boolean {
  if (info.email !== undefined && u.email === info.email) return true;
  if (info.phoneNumber !== undefined && u.recipeId === "passwordless" && u.phoneNumber === info.phoneNumber)
    return true;
  const tp = info.thirdParty;
  return (
    tp !== undefined && u.recipeId === "thirdparty" && u.thirdParty.id === tp.id && u.thirdParty.userId === tp.userId
  );
}

/** The user after `patch`: fields that do not fit its recipe are ignored, `null` removes a passwordless field. */
export function applyPatch(u: UserRecord, patch: UserPatch): UserRecord {
  const next = structuredClone(u);
  if (patch.tenantIds !== undefined) next.tenantIds = [...patch.tenantIds];
  if (next.recipeId === "passwordless") {
    if (patch.email === null) delete next.email;
    else if (patch.email !== undefined) next.email = patch.email;
    if (patch.phoneNumber === null) delete next.phoneNumber;
    else if (patch.phoneNumber !== undefined) next.phoneNumber = patch.phoneNumber;
  } else if (typeof patch.email === "string") next.email = patch.email;
  if (next.recipeId === "emailpassword" && patch.passwordHash !== undefined) next.passwordHash = patch.passwordHash;
  return next;
}

/** The account infos a recipe user holds. */
export function accountInfoOf(u: UserRecord): AccountInfoQuery {
  const info: AccountInfoQuery = {};
  if (u.email !== undefined) info.email = u.email;
  if (u.recipeId === "passwordless" && u.phoneNumber !== undefined) info.phoneNumber = u.phoneNumber;
  if (u.recipeId === "thirdparty") info.thirdParty = { ...u.thirdParty };
  return info;
}
