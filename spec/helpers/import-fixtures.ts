/**
 * Legacy users for the import tests: real bcrypt hashes (cost 4, one per distinct password, so fixtures stay
 * fast), argon2 and Firebase scrypt hashes, and the files the CLI reads.
 */
import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import { csvField } from "../../lib/import/sources/csv.js";

export interface LegacyRow {
  id: string;
  email: string;
  password: string;
  hash: string;
  verified: boolean;
  timeJoined: number;
  metadata?: Record<string, unknown>;
}

const passwords = ["Legacy-pw-0", "Legacy-pw-1", "Legacy-pw-2", "Legacy-pw-3"];
let bcryptHashes: string[] | undefined;

export async function bcryptRows(
  count: number,
  prefix: string,
  firstJoined = Date.UTC(2020, 0, 1),
): Promise<LegacyRow[]> {
  bcryptHashes ??= await Promise.all(passwords.map((p) => bcrypt.hash(p, 4)));
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${i}`,
    email: `${prefix}.user${i}@example.com`,
    password: passwords[i % passwords.length],
    hash: bcryptHashes![i % passwords.length],
    verified: i % 3 === 0,
    timeJoined: firstJoined + i * 1000,
    ...(i % 5 === 0 ? { metadata: { plan: i % 2 ? "pro" : "free", note: `row "${i}", quoted` } } : {}),
  }));
}

export async function argon2Row(id: string, email: string): Promise<LegacyRow> {
  const password = "Argon-pw-1";
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
  return { id, email, password, hash, verified: true, timeJoined: Date.UTC(2021, 5, 1) };
}

/** Firebase's modified scrypt as the core stores it; the app needs `firebase_password_hashing_signer_key`. */
export function firebaseRow(id: string, email: string, signerKey: string): LegacyRow {
  const password = "Firebase-pw-1";
  const salt = randomBytes(16).toString("base64");
  const saltSeparator = "Bw==";
  const derived = scryptSync(
    Buffer.from(password, "ascii"),
    Buffer.concat([Buffer.from(salt, "base64"), Buffer.from(saltSeparator, "base64")]),
    64,
    {
      N: 2 ** 14,
      r: 8,
      p: 1,
      maxmem: 64 * 1024 * 1024,
    },
  );
  const cipher = createCipheriv("aes-256-ctr", derived.subarray(0, 32), Buffer.alloc(16));
  const digest = Buffer.concat([cipher.update(Buffer.from(signerKey, "base64")), cipher.final()]).toString("base64");
  return {
    id,
    email,
    password,
    hash: `$f_scrypt$${digest}$${salt}$m=14$r=8$s=${saltSeparator}`,
    verified: false,
    timeJoined: Date.UTC(2022, 0, 1),
  };
}

/** Django's PBKDF2: the core cannot verify it, so the import leaves it to legacyAuth(). */
export function djangoRow(id: string, email: string): LegacyRow {
  return {
    id,
    email,
    password: "unused",
    verified: false,
    timeJoined: Date.UTC(2020, 0, 1),
    hash: "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=",
  };
}

/** The object a legacy export holds per user, under the default column names. */
export const asRecord = (r: LegacyRow) => ({
  id: r.id,
  email: r.email,
  password_hash: r.hash,
  email_verified: r.verified,
  time_joined: r.timeJoined,
  ...(r.metadata ? { metadata: r.metadata } : {}),
});

export const toJson = (rows: LegacyRow[]) => JSON.stringify(rows.map(asRecord));
export const toNdjson = (rows: LegacyRow[]) => rows.map((r) => JSON.stringify(asRecord(r))).join("\n") + "\n";

export function toCsv(rows: LegacyRow[]): string {
  const header = ["id", "email", "password_hash", "email_verified", "time_joined", "metadata"];
  const lines = rows.map((r) =>
    [
      r.id,
      r.email,
      r.hash,
      r.verified ? "true" : "false",
      new Date(r.timeJoined).toISOString(),
      r.metadata ? JSON.stringify(r.metadata) : "",
    ]
      .map(csvField)
      .join(","),
  );
  return [header.join(","), ...lines].join("\r\n") + "\r\n";
}

/** The core's answer for `path`, over plain HTTP as the CLI sees it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the core's JSON, asserted field by field by the specs
export async function coreGet(uri: string, path: string): Promise<any> {
  const res = await fetch(uri + path, { headers: { "cdi-version": "5.4" } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Every email-password user of the app: reported id (external when mapped) and email, in listing order. */
export async function coreUsers(
  uri: string,
): Promise<{ id: string; email: string; timeJoined: number; verified: boolean }[]> {
  const out = [];
  let token: string | undefined;
  do {
    const page = await coreGet(
      uri,
      `/public/users?limit=500${token ? `&paginationToken=${encodeURIComponent(token)}` : ""}`,
    );
    for (const u of page.users) {
      out.push({
        id: u.id,
        email: u.loginMethods[0].email,
        timeJoined: u.timeJoined,
        verified: u.loginMethods[0].verified,
      });
    }
    token = page.nextPaginationToken;
  } while (token);
  return out;
}
