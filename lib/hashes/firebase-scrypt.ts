import { createCipheriv } from "node:crypto";
import { ConfigError } from "../errors.js";
import { javaParseInt, javaSplit, safeEqual } from "./encoding.js";
import { scryptAsync, scryptCostProblem, type ScryptCost } from "./kdf.js";
import { hashLog } from "./log.js";

/*
 * Firebase's modified scrypt, in the encoding the SuperTokens core stores (ParsedFirebaseSCryptResponse.java):
 *
 *   $f_scrypt$<hash>$<salt>$m=<memCost>$r=<rounds>$s=<saltSeparator>
 *
 * where the last three fields may come in any order. Verification follows PasswordHashingUtils.java
 * (itself firebase/scrypt): key = scrypt(password, b64(salt) ‖ b64(saltSeparator), N=2^memCost, r=rounds,
 * p=1, 64 bytes); then AES-256-CTR under key[0..32) with a zero IV encrypts b64(signerKey), and the base64
 * of that ciphertext must equal <hash>.
 */

const PREFIX = "f_scrypt";

export interface ParsedFirebaseScrypt {
  passwordHash: string;
  salt: string;
  saltSeparator: string;
  rounds: number;
  memCost: number;
}

export function isFirebaseScrypt(hash: string): boolean {
  return hash.startsWith(`$${PREFIX}$`);
}

/**
 * A line-for-line port of ParsedFirebaseSCryptResponse.fromHashString, Java quirks included (Java's split
 * drops trailing empty fields, so `...$s=Bw==$` parses and `s=` alone does not; a repeated field's last
 * occurrence wins), because the dev core must accept and refuse exactly the strings the core does.
 */
export function parseFirebaseScrypt(hash: string): ParsedFirebaseScrypt | undefined {
  const fields = javaSplit(hash, "$");
  if (!(fields.length === 7 && fields[0] === "" && fields[1] === PREFIX)) return undefined;
  let memCost: number | undefined;
  let rounds: number | undefined;
  let saltSeparator: string | undefined;
  for (const field of fields.slice(4)) {
    // Where Java would throw (index out of bounds, NumberFormatException) the core returns null.
    if (field.startsWith("m=")) {
      memCost = javaParseInt(javaSplit(field, "m=")[1] ?? "");
      if (memCost === undefined) return undefined;
    } else if (field.startsWith("r=")) {
      rounds = javaParseInt(javaSplit(field, "r=")[1] ?? "");
      if (rounds === undefined) return undefined;
    } else if (field.startsWith("s=")) {
      saltSeparator = javaSplit(field, "s=")[1];
      if (saltSeparator === undefined) return undefined;
    }
  }
  if (saltSeparator === undefined || memCost === undefined || rounds === undefined) return undefined;
  return { passwordHash: fields[2], salt: fields[3], saltSeparator, rounds, memCost };
}

export function firebaseScryptCost(parsed: ParsedFirebaseScrypt): ScryptCost {
  // Java's `1 << memCost` on an int: a memCost outside 1..30 gives N <= 1 or a negative N, which scrypt refuses.
  const N = parsed.memCost >= 1 && parsed.memCost <= 30 ? 2 ** parsed.memCost : 0;
  return { N, r: parsed.rounds, p: 1 };
}

/**
 * The core reads password bytes as US-ASCII, where Java replaces every non-ASCII code point with '?'. Real
 * Firebase uses UTF-8, so a non-ASCII password verifies in neither the core nor here; we mirror the core
 * because a hash we accept is later imported into it and must keep verifying there.
 */
export function javaAsciiBytes(password: string): Buffer {
  return Buffer.from(
    Array.from(password, (ch) => {
      const code = ch.codePointAt(0) ?? 0x3f;
      return code < 0x80 ? code : 0x3f;
    }),
  );
}

export function missingSignerKeyError(): ConfigError {
  return new ConfigError(
    "ERR_MIGRATE_MISSING_SIGNER_KEY",
    "A Firebase scrypt password hash needs the project's signer key, and none was given. Pass `firebaseSignerKey` " +
      "(Firebase console → Authentication → Users → ⋮ → Password hash parameters → base64_signer_key); " +
      "the " +
      "SuperTokens core needs the same value as `firebase_password_hashing_signer_key`.",
  );
}

/** Throws ERR_MIGRATE_MISSING_SIGNER_KEY without a signer key (the core answers 500); otherwise never throws. */
export async function verifyFirebaseScrypt(
  password: string,
  hash: string,
  signerKey: string | undefined,
): Promise<boolean> {
  const parsed = parseFirebaseScrypt(hash);
  if (!parsed) {
    hashLog("firebase_scrypt hash is malformed; treating as no match");
    return false;
  }
  // After parsing, as in the core: a malformed Firebase hash is "wrong password" even without a key.
  if (!signerKey) throw missingSignerKeyError();
  const cost = firebaseScryptCost(parsed);
  const problem = scryptCostProblem(cost);
  if (problem) {
    hashLog("firebase_scrypt hash is unusable (%s); treating as no match", problem);
    return false;
  }
  try {
    // Buffer's base64 decoder, like the core's Apache Commons decoder, skips characters outside the alphabet.
    const salt = Buffer.concat([Buffer.from(parsed.salt, "base64"), Buffer.from(parsed.saltSeparator, "base64")]);
    const derived = await scryptAsync(javaAsciiBytes(password), salt, 64, cost);
    const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), Buffer.alloc(16));
    const encrypted = Buffer.concat([cipher.update(Buffer.from(signerKey, "base64")), cipher.final()]);
    // The core compares base64 strings, so a non-canonical stored encoding does not match; neither does it here.
    return safeEqual(Buffer.from(encrypted.toString("base64"), "utf8"), Buffer.from(parsed.passwordHash, "utf8"));
  } catch (err) {
    hashLog("firebase_scrypt failed (%s); treating as no match", (err as Error).name);
    return false;
  }
}
