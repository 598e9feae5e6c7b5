import { decodePhcBase64, parsePositiveInt, safeEqual } from "./encoding.js";
import { MAX_PBKDF2_ITERATIONS, pbkdf2Async, type Pbkdf2Digest } from "./kdf.js";
import { hashLog } from "./log.js";

/*
 * Two encodings of PBKDF2-HMAC over the UTF-8 bytes of the password (Django's own is in django-pbkdf2.ts):
 *
 * 1. PHC / passlib:  $pbkdf2-sha256$<iterations>$<salt>$<hash>   (also -sha512, -sha1, and passlib's bare
 *    `$pbkdf2$` for SHA-1). Salt and hash are base64 as in scrypt.ts (passlib's "ab64" uses '.' for '+');
 *    the salt is used decoded. @phc/pbkdf2 writes the iterations as `i=<n>`, accepted too.
 *
 * 2. Werkzeug:  pbkdf2:<digest>:<iterations>$<salt>$<hex hash>   with the literal salt text. Werkzeug
 *    always writes the iteration count; a hash without one is refused rather than guessed, because the
 *    default it would imply changed between Werkzeug releases.
 *
 * The key length is the stored hash's length.
 */

const PHC = /^\$pbkdf2(?:-(sha1|sha256|sha512))?\$/;
const WERKZEUG = /^pbkdf2:/;
const DIGESTS: ReadonlySet<string> = new Set(["sha1", "sha224", "sha256", "sha384", "sha512"]);
const MAX_KEY_LENGTH = 1024;

export function isPbkdf2(hash: string): boolean {
  return PHC.test(hash) || WERKZEUG.test(hash);
}

export interface ParsedPbkdf2 {
  digest: Pbkdf2Digest;
  iterations: number;
  salt: Buffer;
  expected: Buffer;
}

export function parsePbkdf2(hash: string): ParsedPbkdf2 | undefined {
  const parsed = PHC.test(hash) ? parsePhc(hash) : parseWerkzeug(hash);
  if (!parsed) return undefined;
  if (parsed.expected.length === 0 || parsed.expected.length > MAX_KEY_LENGTH) return undefined;
  return parsed;
}

function parsePhc(hash: string): ParsedPbkdf2 | undefined {
  const fields = hash.split("$");
  if (fields.length !== 5) return undefined;
  const digest = (PHC.exec(hash)?.[1] ?? "sha1") as Pbkdf2Digest;
  const iterations = parsePositiveInt(fields[2].replace(/^i=/, ""), MAX_PBKDF2_ITERATIONS);
  const salt = decodePhcBase64(fields[3]);
  const expected = decodePhcBase64(fields[4]);
  if (iterations === undefined || !salt || !expected) return undefined;
  return { digest, iterations, salt, expected };
}

function parseWerkzeug(hash: string): ParsedPbkdf2 | undefined {
  const fields = hash.split("$");
  if (fields.length !== 3 || !/^(?:[0-9a-f]{2})+$/.test(fields[2])) return undefined;
  const args = fields[0].split(":");
  if (args.length !== 3 || !DIGESTS.has(args[1])) return undefined;
  const iterations = parsePositiveInt(args[2], MAX_PBKDF2_ITERATIONS);
  if (iterations === undefined) return undefined;
  return {
    digest: args[1] as Pbkdf2Digest,
    iterations,
    salt: Buffer.from(fields[1], "utf8"),
    expected: Buffer.from(fields[2], "hex"),
  };
}

/** Shared with django-pbkdf2.ts: run the KDF and compare in constant time, never throwing. */
export async function verifyParsedPbkdf2(password: string, parsed: ParsedPbkdf2, format: string): Promise<boolean> {
  try {
    const actual = await pbkdf2Async(
      Buffer.from(password, "utf8"),
      parsed.salt,
      parsed.iterations,
      parsed.expected.length,
      parsed.digest,
    );
    return safeEqual(actual, parsed.expected);
  } catch (err) {
    hashLog("%s failed (%s); treating as no match", format, (err as Error).name);
    return false;
  }
}

export async function verifyPbkdf2(password: string, hash: string): Promise<boolean> {
  const parsed = parsePbkdf2(hash);
  if (!parsed) {
    hashLog("pbkdf2 hash is malformed; treating as no match");
    return false;
  }
  return verifyParsedPbkdf2(password, parsed, "pbkdf2");
}
