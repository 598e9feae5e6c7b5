import { pbkdf2, scrypt, type ScryptOptions } from "node:crypto";

// Both run on libuv's thread pool; the *Sync versions would stall every request for the duration of a verify.

/**
 * Above this, a stored scrypt cost is treated as corrupt rather than honoured: each verify allocates
 * 128·r·(N+p+2) bytes, and one bad row must not let a login attempt take the process out of memory.
 * 512 MiB still admits N=2^18, r=8 (passlib and Werkzeug defaults are 2^16 and 2^15).
 */
export const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024;

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** Why a cost is unusable, or undefined when it is fine. Node would also throw, but later and less clearly. */
export function scryptCostProblem({ N, r, p }: ScryptCost): string | undefined {
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) return "N is not a power of two above 1";
  if (!Number.isSafeInteger(r) || r < 1 || !Number.isSafeInteger(p) || p < 1) return "r or p is not a positive integer";
  // RFC 7914 section 2: p ≤ (2^32 − 1)·32 / (128·r), i.e. p·r < 2^30.
  if (p * r >= 2 ** 30) return "p·r is too large";
  if (scryptMemory({ N, r, p }) > MAX_SCRYPT_MEMORY) return "memory cost is above the limit";
  return undefined;
}

function scryptMemory({ N, r, p }: ScryptCost): number {
  return 128 * r * (N + p + 2);
}

export function scryptAsync(password: Buffer, salt: Buffer, keyLength: number, cost: ScryptCost): Promise<Buffer> {
  // Node's default maxmem is 32 MiB, below e.g. N=2^15, r=8; 1 MiB of slack covers OpenSSL's own accounting.
  const options: ScryptOptions = { N: cost.N, r: cost.r, p: cost.p, maxmem: scryptMemory(cost) + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export type Pbkdf2Digest = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

export function pbkdf2Async(
  password: Buffer,
  salt: Buffer,
  iterations: number,
  keyLength: number,
  digest: Pbkdf2Digest,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, keyLength, digest, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** OpenSSL takes the iteration count as a C int. */
export const MAX_PBKDF2_ITERATIONS = 2147483647;
