import { unsign } from "cookie-signature";
import { log } from "../debug.js";

const debug = log.extend("session");

/**
 * Longest raw cookie value we try to verify. Browsers drop cookies over 4096 bytes (RFC 6265bis), and
 * verification HMACs the whole value once per secret, so a bound keeps hostile headers cheap (T20, T21).
 */
export const MAX_LEGACY_COOKIE_LENGTH = 4096;

export type LegacyCookieResult =
  | { status: "NONE" }
  | { status: "BAD_SIGNATURE" }
  /**
   * `duplicate` is true when the header carried the cookie name more than once. The first value is the one
   * verified (as express-session does), but a second copy is the signature of cookie tossing from a sibling
   * subdomain (T7b): the caller should not migrate on it.
   */
  | { status: "OK"; sid: string; duplicate: boolean };

/**
 * Reads the express-session id from a Cookie header the way express-session's `getcookie` does: first cookie
 * of that name, URL-decoded, `s:` prefix, HMAC checked against each secret in order. Never throws on any
 * header; untrusted input is an outcome, not an exception (T1, T21). Never logs values or ids (T19).
 *
 * Deliberately ignores `req.signedCookies`: another middleware may have filled it with other secrets (T1).
 */
export function readLegacySid(
  cookieHeader: string | undefined,
  name: string,
  secrets: readonly string[],
): LegacyCookieResult {
  if (typeof cookieHeader !== "string" || cookieHeader.length === 0) return { status: "NONE" };

  const found = findCookie(cookieHeader, name);
  // express-session treats an empty value as absent (`if (raw)`).
  if (found === undefined || found.raw === "") return { status: "NONE" };

  if (found.raw.length > MAX_LEGACY_COOKIE_LENGTH) {
    debug("legacy cookie rejected: value longer than %d", MAX_LEGACY_COOKIE_LENGTH);
    return { status: "BAD_SIGNATURE" };
  }

  const decoded = decodeValue(found.raw);
  if (decoded === undefined) {
    debug("legacy cookie rejected: malformed percent-encoding");
    return { status: "BAD_SIGNATURE" };
  }
  // An unsigned value is what an attacker sends when they have no secret (T1); express-session ignores it too.
  if (!decoded.startsWith("s:")) {
    debug("legacy cookie rejected: not signed (no s: prefix)");
    return { status: "BAD_SIGNATURE" };
  }

  const signed = decoded.slice(2);
  for (const secret of secrets) {
    // cookie-signature throws on a non-string input or a null secret; an empty secret signs nothing real.
    if (typeof secret !== "string" || secret.length === 0) continue;
    const sid = unsign(signed, secret);
    if (sid === false) continue;
    // `s:.<hmac("")>` verifies but names no session any store could hold.
    if (sid.length === 0) break;
    if (found.duplicate) debug("legacy cookie name appears more than once in the Cookie header");
    return { status: "OK", sid, duplicate: found.duplicate };
  }
  debug("legacy cookie rejected: signature does not verify with any configured secret");
  return { status: "BAD_SIGNATURE" };
}

/**
 * Finds the first `name=value` pair with the same splitting rules as the `cookie` package 0.7 (which
 * express-session uses): pairs split on `;`, a segment without `=` is skipped, name and value are trimmed of
 * spaces and tabs, one pair of surrounding double quotes is removed from the value. Linear in the header and
 * builds no object keyed by attacker-chosen names (no `__proto__` surprises).
 *
 * The `cookie` package itself is only a dependency of express (an optional peer), so we do not import it.
 */
function findCookie(header: string, name: string): { raw: string; duplicate: boolean } | undefined {
  let raw: string | undefined;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end === -1) end = header.length;
    const eq = header.indexOf("=", start);
    if (eq !== -1 && eq < end && trimSpaces(header, start, eq) === name) {
      if (raw !== undefined) return { raw, duplicate: true };
      raw = unquote(trimSpaces(header, eq + 1, end));
    }
    start = end + 1;
  }
  return raw === undefined ? undefined : { raw, duplicate: false };
}

function trimSpaces(str: string, from: number, to: number): string {
  while (from < to && isSpace(str.charCodeAt(from))) from++;
  while (to > from && isSpace(str.charCodeAt(to - 1))) to--;
  return str.slice(from, to);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** Mirrors `cookie` exactly, including a lone `"` becoming the empty string. */
function unquote(value: string): string {
  return value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** `cookie` decodes only values containing `%`; a malformed escape there is kept raw, here it is a rejection. */
function decodeValue(raw: string): string | undefined {
  if (!raw.includes("%")) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}
