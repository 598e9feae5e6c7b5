import { randomBytes } from "node:crypto";
import argon2 from "argon2";
import { encodeUnpaddedBase64 } from "./encoding.js";
import { hashLog } from "./log.js";

const ARGON2 = /^\$argon2(id|i|d)\$/;
const TYPES = { argon2d: argon2.argon2d, argon2i: argon2.argon2i, argon2id: argon2.argon2id } as const;

// The core's PasswordHashing.java: argon2-jvm with these lengths.
const SALT_LENGTH = 16;
const HASH_LENGTH = 32;

export function isArgon2(hash: string): boolean {
  return ARGON2.test(hash);
}

export interface Argon2Cost {
  type: keyof typeof TYPES;
  version: number;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  hashLength: number;
}

/**
 * Reads the cost of `$argon2<type>$[v=<v>$]m=<m>,t=<t>,p=<p>$<salt>$<hash>` (parameters in any order); only
 * dummyVerify needs this, verification itself is left to node-argon2's parser.
 */
export function argon2Cost(hash: string): Argon2Cost | undefined {
  const fields = hash.split("$");
  const type = fields[1];
  if (type !== "argon2id" && type !== "argon2i" && type !== "argon2d") return undefined;
  let index = 2;
  let version = 0x10;
  const versionMatch = /^v=(\d{1,3})$/.exec(fields[index] ?? "");
  if (versionMatch) {
    version = Number(versionMatch[1]);
    index++;
  }
  const params = new Map((fields[index] ?? "").split(",").map((kv) => kv.split("=", 2) as [string, string]));
  const memoryCost = Number(params.get("m"));
  const timeCost = Number(params.get("t"));
  const parallelism = Number(params.get("p"));
  const encodedHash = fields[index + 2];
  const hashLength = encodedHash ? Math.floor((encodedHash.replace(/=+$/, "").length * 3) / 4) : HASH_LENGTH;
  if (![memoryCost, timeCost, parallelism].every((n) => Number.isSafeInteger(n) && n >= 1)) return undefined;
  if (version !== 0x10 && version !== 0x13) return undefined;
  return { type, version, memoryCost, timeCost, parallelism, hashLength: Math.max(4, hashLength) };
}

/** node-argon2 reads the type and cost from the hash itself, which covers the core's three argon2-jvm instances. */
export async function verifyArgon2(password: string, hash: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch (err) {
    hashLog("argon2 hash is malformed (%s); treating as no match", (err as Error).name);
    return false;
  }
}

export interface Argon2HashCost {
  iterations: number;
  memoryKb: number;
  parallelism: number;
}

/**
 * argon2id with a 16-byte salt and 32-byte hash, as the core. node-argon2 serialises parameters as m,p,t;
 * argon2-jvm (the reference encoder) writes m,t,p, so we encode the raw output ourselves to produce the
 * exact string the core would store.
 */
export async function hashArgon2(password: string, cost: Argon2HashCost): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const raw = await argon2.hash(password, {
    type: argon2.argon2id,
    version: 0x13,
    timeCost: cost.iterations,
    memoryCost: cost.memoryKb,
    parallelism: cost.parallelism,
    hashLength: HASH_LENGTH,
    salt,
    raw: true,
  });
  const params = `m=${cost.memoryKb},t=${cost.iterations},p=${cost.parallelism}`;
  return `$argon2id$v=19$${params}$${encodeUnpaddedBase64(salt)}$${encodeUnpaddedBase64(raw)}`;
}

/** For dummyVerify: a hash of the given cost over a throwaway password and random salt. */
export function hashArgon2WithCost(password: Buffer, cost: Argon2Cost): Promise<string> {
  return argon2.hash(password, {
    type: TYPES[cost.type],
    version: cost.version,
    timeCost: cost.timeCost,
    memoryCost: cost.memoryCost,
    parallelism: cost.parallelism,
    hashLength: cost.hashLength,
  });
}
