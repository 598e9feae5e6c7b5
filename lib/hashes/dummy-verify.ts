import { createCipheriv, randomBytes } from "node:crypto";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import { argon2Cost, hashArgon2WithCost } from "./argon2.js";
import { bcryptCost } from "./bcrypt.js";
import { detectHashFormat } from "./detect.js";
import { parseDjangoPbkdf2 } from "./django-pbkdf2.js";
import { firebaseScryptCost, parseFirebaseScrypt } from "./firebase-scrypt.js";
import { pbkdf2Async, scryptAsync, scryptCostProblem } from "./kdf.js";
import { hashLog } from "./log.js";
import { parsePbkdf2 } from "./pbkdf2.js";
import { parseScrypt } from "./scrypt.js";
import type { VerifyOptions } from "./types.js";

/**
 * Cost used when `hashLike` is missing or unrecognised: bcrypt at 10, the default of node-bcrypt, Laravel and
 * most ORMs that legacy tables come from.
 */
export const DEFAULT_DUMMY_HASH = "$2b$10$";

// One dummy hash per distinct cost. Bounded so a table of mixed costs cannot grow it without limit.
const MAX_CACHED = 32;
const dummyHashes = new Map<string, Promise<string>>();

function cachedDummyHash(key: string, make: () => Promise<string>): Promise<string> {
  let pending = dummyHashes.get(key);
  if (!pending) {
    if (dummyHashes.size >= MAX_CACHED) dummyHashes.delete(dummyHashes.keys().next().value as string);
    // Cache the promise, not the result, so a burst of unknown emails builds each dummy hash once.
    pending = make();
    pending.catch(() => dummyHashes.delete(key));
    dummyHashes.set(key, pending);
  }
  return pending;
}

/**
 * Spends about as long as `verifyPassword(…, hashLike)` would, and learns nothing. Call it when the email is
 * unknown, so response time does not tell an attacker which emails have accounts (OWASP ASVS 2.2.1 / the
 * "user enumeration via timing" class).
 *
 * `hashLike` is a real stored hash (any user's: nothing is compared against it) or just its cost prefix,
 * e.g. `$2b$12$`. bcrypt and argon2 run a real verify against a throwaway hash of the same cost, built on
 * first use and cached per cost (so warm it at startup: the first call also pays for building it); the
 * scrypt and PBKDF2 families run the same KDF with the same parameters on a random salt. A hash recognised
 * by a custom verifier is verified against a random password. Anything else costs a bcrypt verify at
 * {@link DEFAULT_DUMMY_HASH}. Never throws except for what a custom verifier throws.
 */
export async function dummyVerify(hashLike: string = DEFAULT_DUMMY_HASH, options: VerifyOptions = {}): Promise<void> {
  const password = randomBytes(18).toString("base64");
  const target = typeof hashLike === "string" ? hashLike.trim() : DEFAULT_DUMMY_HASH;
  for (const [name, verifier] of Object.entries(options.verifiers ?? {})) {
    if (!verifier.detect(target)) continue;
    hashLog("dummy verify via custom verifier %s", name);
    await verifier.verify(password, target);
    return;
  }
  try {
    if (await dummyForFormat(password, target)) return;
    hashLog("no usable cost in the hash; dummy verify as default bcrypt");
  } catch (err) {
    hashLog("dummy verify failed (%s); falling back to bcrypt", (err as Error).name);
  }
  await dummyBcrypt(password, DEFAULT_DUMMY_HASH);
}

/** True when it spent the time; false when the hash gave no usable cost. */
async function dummyForFormat(password: string, hashLike: string): Promise<boolean> {
  const format = detectHashFormat(hashLike);
  hashLog("dummy verify as %s", format ?? "default bcrypt");
  switch (format) {
    case "bcrypt":
      return dummyBcrypt(password, hashLike);
    case "argon2": {
      const cost = argon2Cost(hashLike);
      if (!cost) return false;
      const dummy = await cachedDummyHash(`argon2:${JSON.stringify(cost)}`, () =>
        hashArgon2WithCost(randomBytes(16), cost),
      );
      await argon2.verify(dummy, password);
      return true;
    }
    case "scrypt": {
      const parsed = parseScrypt(hashLike);
      if (!parsed || scryptCostProblem(parsed.cost)) return false;
      await scryptAsync(Buffer.from(password), randomBytes(parsed.salt.length), parsed.expected.length, parsed.cost);
      return true;
    }
    case "pbkdf2":
    case "django_pbkdf2": {
      const parsed = format === "pbkdf2" ? parsePbkdf2(hashLike) : parseDjangoPbkdf2(hashLike);
      if (!parsed) return false;
      await pbkdf2Async(
        Buffer.from(password),
        randomBytes(parsed.salt.length),
        parsed.iterations,
        parsed.expected.length,
        parsed.digest,
      );
      return true;
    }
    case "firebase_scrypt": {
      const parsed = parseFirebaseScrypt(hashLike);
      if (!parsed) return false;
      const cost = firebaseScryptCost(parsed);
      if (scryptCostProblem(cost)) return false;
      const derived = await scryptAsync(Buffer.from(password), randomBytes(16), 64, cost);
      // The AES step is microseconds, but kept so the work is the same shape as a real verify.
      createCipheriv("aes-256-ctr", derived.subarray(0, 32), Buffer.alloc(16)).update(randomBytes(64));
      return true;
    }
    default:
      return false;
  }
}

async function dummyBcrypt(password: string, hashLike: string): Promise<boolean> {
  const cost = bcryptCost(hashLike);
  if (cost === undefined) return false;
  const dummy = await cachedDummyHash(`bcrypt:${cost}`, async () =>
    bcrypt.hash(randomBytes(16).toString("hex"), await bcrypt.genSalt(cost)),
  );
  await bcrypt.compare(password, dummy);
  return true;
}
