/**
 * Longest user id we accept. Ids become SuperTokens user ids or external ids; anything longer is more likely
 * junk or an attack than a real id (T21).
 */
const MAX_USER_ID_LENGTH = 255;

/**
 * The legacy user id in an express-session payload, or `undefined` for an anonymous session (carts, CSRF
 * secrets, flash messages: T4). Looks, in this order, at:
 *
 * 1. `passport.user`: passport's `serializeUser` result, a string, a number, or an object with `id`;
 * 2. `userId`, then `user_id`: the hand-rolled `req.session.userId = user.id` pattern;
 * 3. `user.id`: apps that store the whole user row.
 *
 * The first key that is present decides, even if its value is unusable, so a malformed `passport.user` never
 * falls through to some other key an attacker might control. Only own properties are read (payloads come from
 * JSON and may carry `__proto__` keys). Numbers must be safe integers and become decimal strings; strings must
 * not be blank, contain control characters, or exceed 255 characters.
 */
export function defaultUserId(data: unknown): string | undefined {
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
  if (value.trim() === "" || value.length > MAX_USER_ID_LENGTH) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(value)) return undefined;
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasOwn(obj: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}
