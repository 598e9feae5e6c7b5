import { decodePhcBase64, parsePositiveInt, safeEqual } from "./encoding.js";
import { scryptAsync, scryptCostProblem, type ScryptCost } from "./kdf.js";
import { hashLog } from "./log.js";

/*
 * Two encodings of plain scrypt, both over the UTF-8 bytes of the password:
 *
 * 1. PHC, as written by passlib and @phc/scrypt:  $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<hash>
 *    Salt and hash are base64 (standard, passlib's '.'-for-'+' or url-safe; padding optional) and the salt
 *    is used as decoded bytes. The key length is the decoded hash's length (passlib writes 32, @phc 64).
 *    Parameters may come in any order (dnsdist writes ln,p,r).
 *
 * 2. Werkzeug >= 2.3 (Flask's default since then):  scrypt:<N>:<r>:<p>$<salt>$<hex hash>
 *    The salt is used as its literal UTF-8 text, not decoded; the key is 64 bytes, written as hex.
 *    Werkzeug treats a bare `scrypt` method as N=2^15, r=8, p=1.
 */

const PHC_PREFIX = "$scrypt$";
const WERKZEUG = /^scrypt(?::[^$]*)?\$/;
const WERKZEUG_DEFAULT: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };
const MAX_KEY_LENGTH = 1024;

export function isScrypt(hash: string): boolean {
  return hash.startsWith(PHC_PREFIX) || WERKZEUG.test(hash);
}

export interface ParsedScrypt {
  cost: ScryptCost;
  salt: Buffer;
  expected: Buffer;
}

export function parseScrypt(hash: string): ParsedScrypt | undefined {
  const parsed = hash.startsWith(PHC_PREFIX) ? parsePhc(hash) : parseWerkzeug(hash);
  if (!parsed) return undefined;
  if (parsed.expected.length === 0 || parsed.expected.length > MAX_KEY_LENGTH) return undefined;
  return parsed;
}

function parsePhc(hash: string): ParsedScrypt | undefined {
  const fields = hash.split("$");
  if (fields.length !== 5) return undefined;
  const params = new Map<string, string>();
  for (const pair of fields[2].split(",")) {
    const [key, value] = pair.split("=", 2);
    if (value === undefined || params.has(key)) return undefined;
    params.set(key, value);
  }
  const ln = parsePositiveInt(params.get("ln"), 62);
  const r = parsePositiveInt(params.get("r"));
  const p = parsePositiveInt(params.get("p"));
  const salt = decodePhcBase64(fields[3]);
  const expected = decodePhcBase64(fields[4]);
  if (ln === undefined || r === undefined || p === undefined || !salt || !expected) return undefined;
  return { cost: { N: 2 ** ln, r, p }, salt, expected };
}

function parseWerkzeug(hash: string): ParsedScrypt | undefined {
  const fields = hash.split("$");
  if (fields.length !== 3 || !/^(?:[0-9a-f]{2})+$/.test(fields[2])) return undefined;
  const args = fields[0].split(":").slice(1);
  let cost = WERKZEUG_DEFAULT;
  if (args.length > 0) {
    if (args.length !== 3) return undefined;
    const [N, r, p] = args.map((arg) => parsePositiveInt(arg));
    if (N === undefined || r === undefined || p === undefined) return undefined;
    cost = { N, r, p };
  }
  return { cost, salt: Buffer.from(fields[1], "utf8"), expected: Buffer.from(fields[2], "hex") };
}

export async function verifyScrypt(password: string, hash: string): Promise<boolean> {
  const parsed = parseScrypt(hash);
  if (!parsed) {
    hashLog("scrypt hash is malformed; treating as no match");
    return false;
  }
  const problem = scryptCostProblem(parsed.cost);
  if (problem) {
    hashLog("scrypt hash is unusable (%s); treating as no match", problem);
    return false;
  }
  try {
    const actual = await scryptAsync(Buffer.from(password, "utf8"), parsed.salt, parsed.expected.length, parsed.cost);
    return safeEqual(actual, parsed.expected);
  } catch (err) {
    hashLog("scrypt failed (%s); treating as no match", (err as Error).name);
    return false;
  }
}
