/**
 * Whether a stored express-session payload belongs to a signed-in user: the rule of dualSession()'s default
 * `userId` (lib/session/user-id.ts), which this folder may not import (features stand on shared modules only).
 * spec/status/legacy-user.spec.ts checks that both agree on every payload fast-check generates; an app with its
 * own `userId` passes it to the status instead.
 *
 * Looks at `passport.user` (a scalar or an object with `id`), then `userId`, then `user_id`, then `user.id`; the
 * first key present decides. Ids are safe integers, bigints or non-blank strings of at most 255 characters
 * without control characters.
 */
export function legacyUserId(data: unknown): string | undefined {
  if (!isRecord(data)) return undefined;
  if (hasOwn(data, "passport")) {
    const passport = data.passport;
    if (!isRecord(passport) || !hasOwn(passport, "user")) return undefined;
    const user = passport.user;
    return isRecord(user) ? (hasOwn(user, "id") ? scalarId(user.id) : undefined) : scalarId(user);
  }
  if (hasOwn(data, "userId")) return scalarId(data.userId);
  if (hasOwn(data, "user_id")) return scalarId(data.user_id);
  if (hasOwn(data, "user")) {
    const user = data.user;
    return isRecord(user) && hasOwn(user, "id") ? scalarId(user.id) : undefined;
  }
  return undefined;
}

function scalarId(value: unknown): string | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "string") return undefined;
  if (value.trim() === "" || value.length > 255) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  return value;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const hasOwn = (obj: object, key: string): boolean => Object.prototype.hasOwnProperty.call(obj, key);
