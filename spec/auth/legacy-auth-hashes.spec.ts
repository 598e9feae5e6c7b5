import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, pbkdf2Sync, randomBytes, scryptSync } from "node:crypto";
import { format } from "node:util";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import createDebug from "debug";
import { createPgLegacyUsers, legacyAuth, type LegacyAuthOptions } from "../../lib/auth/index.js";
import type { PasswordVerifier } from "../../lib/hashes/index.js";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { appStorage, createLegacyTable, signIn, startAuthApp, type LegacyTable } from "../helpers/legacy-auth.js";
import { createCoreApp } from "../helpers/sdk.js";
import { uniqueId } from "../helpers/services.js";

const debugLines: string[] = [];
createDebug.enable("supertokens-migrate:*");
createDebug.log = (...args: unknown[]) => debugLines.push(format(...args));

// Firebase's published sample (firebase/scrypt README), the vector the core's own tests use.
const FIREBASE = {
  signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
  password: "user1password",
  hash:
    "$f_scrypt$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==" +
    "$42xEC+ixf3L2lw==$m=14$r=8$s=Bw==",
};

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");
const ab64 = (bytes: Buffer) => b64(bytes).replace(/\+/g, ".");

/** A legacy "salted md5" scheme no library ships: `md5$<salt>$<hex md5(salt + password)>`. */
const saltedMd5: PasswordVerifier = {
  detect: (hash) => hash.startsWith("md5$"),
  verify: async (password, hash) => {
    const [, salt, digest] = hash.split("$");
    return (
      createHash("md5")
        .update(salt + password)
        .digest("hex") === digest
    );
  },
};
const makeSaltedMd5 = (password: string) => {
  const salt = randomBytes(6).toString("hex");
  return `md5$${salt}$${createHash("md5")
    .update(salt + password)
    .digest("hex")}`;
};

/** Each format, whether the core gets the hash byte for byte, and any extra option or core config it needs. */
const formats: Array<{
  name: string;
  hash: (password: string) => Promise<string> | string;
  imported: boolean;
  options?: Partial<LegacyAuthOptions>;
  coreConfig?: Record<string, unknown>;
  password?: string;
}> = [
  { name: "bcrypt $2a$ (cost 10)", hash: async (p) => bcrypt.hash(p, await bcrypt.genSalt(10, "a")), imported: true },
  { name: "bcrypt $2b$ (cost 10)", hash: (p) => bcrypt.hash(p, 10), imported: true },
  {
    name: "bcrypt $2y$ (PHP, cost 10)",
    hash: async (p) => "$2y$" + (await bcrypt.hash(p, 10)).slice(4),
    imported: true,
  },
  { name: "bcrypt below cost 10 (rehashed by the core)", hash: (p) => bcrypt.hash(p, 6), imported: false },
  {
    name: "argon2id",
    hash: (p) => argon2.hash(p, { type: argon2.argon2id, memoryCost: 4096, timeCost: 2 }),
    imported: true,
  },
  {
    name: "argon2i",
    hash: (p) => argon2.hash(p, { type: argon2.argon2i, memoryCost: 4096, timeCost: 2 }),
    imported: true,
  },
  {
    name: "Firebase scrypt (core configured with the signer key)",
    hash: () => FIREBASE.hash,
    password: FIREBASE.password,
    imported: true,
    options: { firebaseSignerKey: FIREBASE.signerKey },
    coreConfig: { firebase_password_hashing_signer_key: FIREBASE.signerKey },
  },
  {
    name: "scrypt (PHC, passlib)",
    hash: (p) => {
      const salt = randomBytes(16);
      return `$scrypt$ln=10,r=8,p=1$${b64(salt)}$${b64(scryptSync(p, salt, 32, { N: 1024, r: 8, p: 1 }))}`;
    },
    imported: false,
  },
  {
    name: "scrypt (Werkzeug)",
    hash: (p) => {
      const salt = "AbCdEfGh12345678";
      return `scrypt:2048:8:1$${salt}$${scryptSync(p, Buffer.from(salt), 64, { N: 2048, r: 8, p: 1 }).toString("hex")}`;
    },
    imported: false,
  },
  {
    name: "PBKDF2-SHA256 (PHC, passlib)",
    hash: (p) => {
      const salt = randomBytes(16);
      return `$pbkdf2-sha256$1000$${ab64(salt)}$${ab64(pbkdf2Sync(p, salt, 1000, 32, "sha256"))}`;
    },
    imported: false,
  },
  {
    name: "Django pbkdf2_sha256",
    hash: (p) => {
      const salt = "s0mEs4lt";
      return `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(p, salt, 1000, 32, "sha256").toString("base64")}`;
    },
    imported: false,
  },
  {
    name: "a pluggable verifier (salted md5)",
    hash: makeSaltedMd5,
    imported: false,
    options: { verifiers: { md5: saltedMd5 } },
  },
  {
    // bcrypt with a pepper looks like plain bcrypt; importing it would lock the user out, so it must be rehashed.
    name: "a custom verifyPassword (peppered bcrypt)",
    hash: (p) => bcrypt.hash(p + "pepper", 10),
    imported: false,
    options: { verifyPassword: (password, hash) => bcrypt.compare(password + "pepper", hash) },
  },
];

let core: DevCore;
let legacy: LegacyTable;

before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  legacy = await createLegacyTable();
});
after(async () => {
  await legacy.drop();
  await core.close();
});
beforeEach(() => legacy.clear());

async function setup(options: Partial<LegacyAuthOptions> = {}, coreConfig: Record<string, unknown> = {}) {
  const uri = await createCoreApp(core.url, coreConfig);
  const auth = legacyAuth({ ...createPgLegacyUsers({ pool: legacy.pool, table: legacy.table }), ...options });
  return { uri, ...startAuthApp(uri, auth) };
}

describe("legacyAuth hash formats on the fallback path", () => {
  for (const f of formats) {
    it(
      `${f.name}: verifies, ` +
        `${f.imported ? "imports the hash unchanged" : "creates the user with the verified password"}, then signs ` +
        `in without the legacy row`,
      async () => {
        const { uri, app } = await setup(f.options, f.coreConfig);
        const password = f.password ?? `pw-${uniqueId()}`;
        const hash = await f.hash(password);
        const address = `fmt-${uniqueId()}@example.com`;
        const id = await legacy.insert({ email: address, passwordHash: hash });

        assert.deepEqual((await signIn(app, address, password + "x")).body, { status: "WRONG_CREDENTIALS_ERROR" });
        const first = await signIn(app, address, password);
        assert.equal(first.userId, id);

        const [stored] = await appStorage(core, uri).findUsersByEmail(address, "public");
        if (f.imported) assert.equal(stored.passwordHash, hash);
        else assert.match(stored.passwordHash, /^\$2a\$04\$/, "hashed by the core with its own settings");

        await legacy.remove(id);
        assert.equal((await signIn(app, address, password)).userId, id);
        assert.equal((await signIn(app, address, password + "x")).body.status, "WRONG_CREDENTIALS_ERROR");
      },
    );
  }

  it("never imports $2x$ (crypt_blowfish's buggy variant) as is", async () => {
    const { uri, app } = await setup();
    const password = `pw-${uniqueId()}`;
    const address = `fmt-${uniqueId()}@example.com`;
    await legacy.insert({ email: address, passwordHash: "$2x$" + (await bcrypt.hash(password, 10)).slice(4) });
    assert.equal((await signIn(app, address, password)).body.status, "OK");
    const [stored] = await appStorage(core, uri).findUsersByEmail(address, "public");
    assert.match(stored.passwordHash, /^\$2a\$04\$/);
  });

  describe("when the stored hash cannot be used", () => {
    const unusable: Array<[string, string | null, Partial<LegacyAuthOptions>?]> = [
      ["an unrecognised format", "{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g="],
      ["plain text", "hunter2"],
      ["no hash at all", null],
      ["a truncated bcrypt hash", "$2b$10$abc"],
      ["Firebase scrypt without the signer key", FIREBASE.hash],
    ];
    for (const [name, hash, options] of unusable) {
      it(`${name}: WRONG_CREDENTIALS_ERROR and a debug line, never a crash`, async () => {
        const { app } = await setup(options);
        const address = `bad-${uniqueId()}@example.com`;
        await legacy.insert({ email: address, passwordHash: hash });
        debugLines.length = 0;
        const res = await signIn(app, address, hash === FIREBASE.hash ? FIREBASE.password : "hunter2");
        assert.equal(res.status, 200);
        assert.deepEqual(res.body, { status: "WRONG_CREDENTIALS_ERROR" });
        assert.ok(
          debugLines.some((l) => /supertokens-migrate:auth .*(no recognised format|does not match)/.test(l)),
          debugLines.join("\n"),
        );
        if (hash) assert.ok(!debugLines.some((l) => l.includes(hash)));
      });
    }
  });

  it("verifies once per attempt: one legacy verify for a first sign-in", async () => {
    let calls = 0;
    const counting: PasswordVerifier = {
      detect: saltedMd5.detect,
      verify: async (p, h) => (calls++, saltedMd5.verify(p, h)),
    };
    const { app } = await setup({ verifiers: { md5: counting } });
    const password = `pw-${uniqueId()}`;
    const address = `once-${uniqueId()}@example.com`;
    await legacy.insert({ email: address, passwordHash: makeSaltedMd5(password) });
    await signIn(app, address, "wrong");
    assert.equal(calls, 1);
    await signIn(app, address, password);
    assert.equal(calls, 2);
  });
});

describe("importPlan: what is imported byte for byte", () => {
  it("never imports a hash a custom verifier matched, even when its key spells a core format", async () => {
    const { importPlan } = await import("../../lib/auth/import-user.js");
    const { resolveLegacyAuthOptions } = await import("../../lib/auth/options.js");
    const bcryptHash = await bcrypt.hash("pw", 10);
    const lookup = { findUserByEmail: async () => undefined, findUserById: async () => undefined };
    const plain = resolveLegacyAuthOptions(lookup);
    assert.equal(importPlan(bcryptHash, { status: "MATCH", format: "bcrypt" }, plain).ok, true);
    const custom = resolveLegacyAuthOptions({
      ...lookup,
      verifiers: { bcrypt: { detect: () => true, verify: async () => true } },
    });
    const plan = importPlan(bcryptHash, { status: "MATCH", format: "bcrypt" }, custom);
    assert.equal(plan.ok, false);
  });
});
