import { timingSafeEqual } from "node:crypto";

// PHC strings in the wild use standard base64 (@phc/*, argon2), passlib's "ab64" ('.' for '+') and
// sometimes url-safe base64, with or without padding. One lenient-but-validated decoder serves them all.
const PHC_B64 = /^[A-Za-z0-9+/._-]*={0,2}$/;

/** Decodes a PHC/passlib base64 field; undefined when it is not base64 at all. */
export function decodePhcBase64(field: string): Buffer | undefined {
  if (!PHC_B64.test(field)) return undefined;
  const body = field.replace(/=+$/, "");
  // A single leftover character carries fewer than 8 bits: no encoder produces it.
  if (body.length % 4 === 1) return undefined;
  return Buffer.from(body.replace(/[.-]/g, "+").replace(/_/g, "/"), "base64");
}

/** Base64 without padding, as the argon2 reference encoder (and so the SuperTokens core) writes it. */
export function encodeUnpaddedBase64(bytes: Buffer): string {
  return bytes.toString("base64").replace(/=+$/, "");
}

/** Constant-time for equal lengths; a length mismatch is public (it is in the stored hash). */
export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

/**
 * Java's `String.split(regex)` for a literal separator: trailing empty strings are dropped, and an input with
 * no separator comes back whole. The core parses Firebase hashes with it, so `"$"` splits to zero fields and a
 * trailing `$` is ignored; mirroring that keeps the dev core's accept/reject decisions identical.
 */
export function javaSplit(input: string, separator: string): string[] {
  if (!input.includes(separator)) return [input];
  const parts = input.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** Java's `Integer.parseInt`: optional sign, ASCII digits, 32-bit range. */
export function javaParseInt(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= -2147483648 && value <= 2147483647 ? value : undefined;
}

/** Java's `String.trim()`: strips code units <= U+0020 only, unlike JS `trim()` which also strips NBSP etc. */
export function javaTrim(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && text.charCodeAt(start) <= 0x20) start++;
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--;
  return text.slice(start, end);
}

/** Digits only (no sign, no exponent, no spaces), 1..max; undefined otherwise. */
export function parsePositiveInt(text: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (text === undefined || !/^\d{1,16}$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 1 && value <= max ? value : undefined;
}
