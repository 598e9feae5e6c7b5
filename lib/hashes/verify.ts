import { verifyArgon2 } from "./argon2.js";
import { verifyBcrypt } from "./bcrypt.js";
import { detectHashFormat } from "./detect.js";
import { verifyDjangoPbkdf2 } from "./django-pbkdf2.js";
import { javaTrim } from "./encoding.js";
import { verifyFirebaseScrypt } from "./firebase-scrypt.js";
import { hashLog } from "./log.js";
import { verifyPbkdf2 } from "./pbkdf2.js";
import { verifyScrypt } from "./scrypt.js";
import type { HashFormat, VerifyOptions, VerifyResult } from "./types.js";

type BuiltInVerifier = (password: string, hash: string, options: VerifyOptions) => Promise<boolean>;

const BUILT_IN: Record<HashFormat, BuiltInVerifier> = {
  bcrypt: verifyBcrypt,
  argon2: verifyArgon2,
  firebase_scrypt: (password, hash, options) => verifyFirebaseScrypt(password, hash, options.firebaseSignerKey),
  scrypt: verifyScrypt,
  pbkdf2: verifyPbkdf2,
  django_pbkdf2: verifyDjangoPbkdf2,
};

/**
 * Checks a password against a stored hash of any supported format. Untrusted or corrupt input never throws:
 * an unrecognised hash is UNKNOWN_FORMAT, a recognised but unparseable one NO_MATCH. It throws only for
 * configuration (ERR_MIGRATE_MISSING_SIGNER_KEY: a Firebase hash without `firebaseSignerKey`) and for whatever a custom
 * verifier throws.
 *
 * Surrounding whitespace is ignored: a CHAR(n) column pads hashes with spaces, and the core trims on import.
 */
export async function verifyPassword(
  password: string,
  hash: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  if (typeof hash !== "string") {
    hashLog("stored hash is not a string; unknown format");
    return { status: "UNKNOWN_FORMAT" };
  }
  const stored = javaTrim(hash);
  for (const [name, verifier] of Object.entries(options.verifiers ?? {})) {
    if (!verifier.detect(stored)) continue;
    const matched = typeof password === "string" && (await verifier.verify(password, stored)) === true;
    hashLog("custom verifier %s: %s", name, matched ? "match" : "no match");
    return { status: matched ? "MATCH" : "NO_MATCH", format: name };
  }
  const format = detectHashFormat(stored);
  if (format === undefined) {
    hashLog("no verifier recognises the stored hash; unknown format");
    return { status: "UNKNOWN_FORMAT" };
  }
  if (typeof password !== "string") {
    hashLog("%s: password is not a string; no match", format);
    return { status: "NO_MATCH", format };
  }
  const matched = await BUILT_IN[format](password, stored, options);
  hashLog("%s: %s", format, matched ? "match" : "no match");
  return { status: matched ? "MATCH" : "NO_MATCH", format };
}
