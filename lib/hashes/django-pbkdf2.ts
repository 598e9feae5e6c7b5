import { parsePositiveInt } from "./encoding.js";
import { MAX_PBKDF2_ITERATIONS } from "./kdf.js";
import { hashLog } from "./log.js";
import { verifyParsedPbkdf2, type ParsedPbkdf2 } from "./pbkdf2.js";

/*
 * Django's PBKDF2PasswordHasher / PBKDF2SHA1PasswordHasher:  pbkdf2_sha256$<iterations>$<salt>$<hash>
 * The salt is used as its literal UTF-8 text; the hash is standard padded base64 of a digest-sized key
 * (django.contrib.auth.hashers, `pbkdf2(password, salt, iterations, digest=...)` with dklen=None).
 */

const DJANGO = /^pbkdf2_(sha1|sha256)\$/;
const DIGEST_LENGTH = { sha1: 20, sha256: 32 } as const;
const STANDARD_B64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function isDjangoPbkdf2(hash: string): boolean {
  return DJANGO.test(hash);
}

export function parseDjangoPbkdf2(hash: string): ParsedPbkdf2 | undefined {
  const fields = hash.split("$");
  const digest = DJANGO.exec(hash)?.[1] as keyof typeof DIGEST_LENGTH | undefined;
  if (!digest || fields.length !== 4 || !STANDARD_B64.test(fields[3])) return undefined;
  const iterations = parsePositiveInt(fields[1], MAX_PBKDF2_ITERATIONS);
  const expected = Buffer.from(fields[3], "base64");
  if (iterations === undefined || fields[2] === "" || expected.length !== DIGEST_LENGTH[digest]) return undefined;
  return { digest, iterations, salt: Buffer.from(fields[2], "utf8"), expected };
}

export async function verifyDjangoPbkdf2(password: string, hash: string): Promise<boolean> {
  const parsed = parseDjangoPbkdf2(hash);
  if (!parsed) {
    hashLog("django_pbkdf2 hash is malformed; treating as no match");
    return false;
  }
  return verifyParsedPbkdf2(password, parsed, "django_pbkdf2");
}
