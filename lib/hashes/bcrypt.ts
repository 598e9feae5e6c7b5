import bcrypt from "bcrypt";
import { hashLog } from "./log.js";

const BCRYPT = /^\$2[abxy]\$/;
// Modular crypt layout: $2?$<2-digit cost>$<22 salt chars><31 hash chars>, bcrypt's own base64 alphabet.
const BCRYPT_FULL = /^\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

export function isBcrypt(hash: string): boolean {
  return BCRYPT.test(hash);
}

/** The log2 cost of a bcrypt hash or of a bare prefix like `$2b$12$`; undefined when absent or out of range. */
export function bcryptCost(hashLike: string): number | undefined {
  const match = /^\$2[abxy]\$(\d\d)\$/.exec(hashLike);
  if (!match) return undefined;
  const cost = Number(match[1]);
  return cost >= 4 && cost <= 31 ? cost : undefined;
}

/**
 * node-bcrypt only accepts $2a$ and $2b$, and answers false for $2x$/$2y$. The core (jBCrypt) rewrites
 * $2b$/$2x$/$2y$ to $2a$ before checking, so we do the same: $2y$ (PHP) is the same algorithm, and $2x$
 * (crypt_blowfish's marker for its old sign-extension bug) is treated as $2a$ exactly as the core treats it.
 * node-bcrypt's $2a$ and $2b$ agree for all lengths (it has no 255-byte wraparound), as does jBCrypt.
 */
export async function verifyBcrypt(password: string, hash: string): Promise<boolean> {
  if (!BCRYPT_FULL.test(hash) || bcryptCost(hash) === undefined) {
    hashLog("bcrypt hash is malformed; treating as no match");
    return false;
  }
  try {
    return await bcrypt.compare(password, "$2a$" + hash.slice(4));
  } catch (err) {
    hashLog("bcrypt rejected the hash (%s); treating as no match", (err as Error).name);
    return false;
  }
}

/** jBCrypt (the core) writes $2a$, so a dev-core hash must too for byte-for-byte comparable rows. */
export async function hashBcrypt(password: string, logRounds: number): Promise<string> {
  return bcrypt.hash(password, await bcrypt.genSalt(logRounds, "a"));
}
