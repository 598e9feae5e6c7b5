import { createCipheriv, pbkdf2Sync, randomBytes, scryptSync } from "node:crypto";
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import {
  checkImportFormat,
  coreImportable,
  detectHashFormat,
  dummyVerify,
  hashPassword,
  resolveHashPasswordConfig,
  verifyPassword,
  type HashPasswordOptions,
  type PasswordVerifier,
} from "../../lib/hashes/index.js";

// Firebase's published sample parameters (firebase/scrypt README), the same vector the core's tests use.
const FIREBASE = {
  signerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
  saltSeparator: "Bw==",
  rounds: 8,
  memCost: 14,
  password: "user1password",
  salt: "42xEC+ixf3L2lw==",
  hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==",
};
const firebaseHash = (f: { hash: string; salt: string; memCost: number; rounds: number; saltSeparator: string }) =>
  `$f_scrypt$${f.hash}$${f.salt}$m=${f.memCost}$r=${f.rounds}$s=${f.saltSeparator}`;

/** Written from firebase/scrypt's description, separately from lib/, to produce vectors lib/ must accept. */
function firebaseReference(
  passwordBytes: Buffer,
  salt: Buffer,
  saltSeparator: Buffer,
  signerKey: Buffer,
  memCost: number,
  rounds: number,
): string {
  const N = 2 ** memCost;
  const key = scryptSync(passwordBytes, Buffer.concat([salt, saltSeparator]), 64, {
    N,
    r: rounds,
    p: 1,
    maxmem: 256 * N * rounds,
  });
  const aes = createCipheriv("aes-256-ctr", key.subarray(0, 32), Buffer.alloc(16));
  return Buffer.concat([aes.update(signerKey), aes.final()]).toString("base64");
}

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");
const ab64 = (bytes: Buffer) => b64(bytes).replace(/\+/g, ".");

async function expectStatus(
  password: string,
  hash: string,
  status: string,
  options?: Parameters<typeof verifyPassword>[2],
) {
  const result = await verifyPassword(password, hash, options);
  assert.equal(result.status, status, `expected ${status} for ${hash.slice(0, 24)}…`);
  return result;
}

/** Fails if `work` blocks the event loop for its whole duration, as a *Sync KDF would. */
async function assertOffEventLoop(work: () => Promise<unknown>) {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks > 0, "the event loop did not turn while verifying");
}

async function medianMs(runs: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)];
}

describe("detectHashFormat", () => {
  const table: Array<[string, string | undefined]> = [
    ["$2a$10$" + "a".repeat(53), "bcrypt"],
    ["$2b$10$" + "a".repeat(53), "bcrypt"],
    ["$2x$10$" + "a".repeat(53), "bcrypt"],
    ["$2y$10$" + "a".repeat(53), "bcrypt"],
    ["$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "argon2"],
    ["$argon2i$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "argon2"],
    ["$argon2d$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "argon2"],
    [firebaseHash(FIREBASE), "firebase_scrypt"],
    ["$scrypt$ln=8,r=8,p=1$c2FsdA$aGFzaA", "scrypt"],
    ["scrypt:32768:8:1$salt$abcd", "scrypt"],
    ["$pbkdf2-sha256$1000$c2FsdA$aGFzaA", "pbkdf2"],
    ["$pbkdf2-sha512$1000$c2FsdA$aGFzaA", "pbkdf2"],
    ["$pbkdf2-sha1$1000$c2FsdA$aGFzaA", "pbkdf2"],
    ["$pbkdf2$1000$c2FsdA$aGFzaA", "pbkdf2"],
    ["pbkdf2:sha256:600000$salt$abcd", "pbkdf2"],
    ["pbkdf2_sha256$1000$salt$aGFzaA==", "django_pbkdf2"],
    ["pbkdf2_sha1$1000$salt$aGFzaA==", "django_pbkdf2"],
    ["", undefined],
    ["hunter2", undefined],
    ["$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0", undefined],
    ["$6$rounds=5000$saltsalt$abc", undefined],
    ["5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8", undefined],
    ["$2c$10$" + "a".repeat(53), undefined],
    ["$argon2$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", undefined],
    ["f_scrypt$a$b$m=14$r=8$s=Bw==", undefined],
  ];
  for (const [hash, format] of table) {
    it(`classifies ${JSON.stringify(hash.slice(0, 20))} as ${format}`, () => {
      assert.equal(detectHashFormat(hash), format);
    });
  }

  it("answers undefined for a non-string without throwing", () => {
    assert.equal(detectHashFormat(null as unknown as string), undefined);
    assert.equal(detectHashFormat(42 as unknown as string), undefined);
  });
});

describe("verifyPassword", () => {
  describe("when the hash is bcrypt", () => {
    it("matches $2b$ from node-bcrypt and rejects a wrong password", async () => {
      const hash = await bcrypt.hash("correct horse", 4);
      assert.match(hash, /^\$2b\$04\$/);
      assert.deepEqual(await verifyPassword("correct horse", hash), { status: "MATCH", format: "bcrypt" });
      assert.deepEqual(await verifyPassword("correct horsf", hash), { status: "NO_MATCH", format: "bcrypt" });
    });

    it("matches $2a$, and $2y$ / $2x$ rewritten from it, as the core does", async () => {
      const hash2a = await bcrypt.hash("pässwörd", await bcrypt.genSalt(4, "a"));
      assert.match(hash2a, /^\$2a\$/);
      for (const prefix of ["$2a$", "$2y$", "$2x$", "$2b$"]) {
        await expectStatus("pässwörd", prefix + hash2a.slice(4), "MATCH");
        await expectStatus("passwörd", prefix + hash2a.slice(4), "NO_MATCH");
      }
    });

    it("ignores the padding of a CHAR(n) column", async () => {
      const hash = await bcrypt.hash("pw", 4);
      await expectStatus("pw", `${hash}    `, "MATCH");
    });

    it("truncates at 72 bytes like every bcrypt", async () => {
      const hash = await bcrypt.hash("x".repeat(72), 4);
      await expectStatus("x".repeat(80), hash, "MATCH");
      await expectStatus("x".repeat(71), hash, "NO_MATCH");
    });
  });

  describe("when the hash is argon2", () => {
    for (const type of ["argon2id", "argon2i", "argon2d"] as const) {
      it(`matches ${type} and rejects a wrong password`, async () => {
        const hash = await argon2.hash("s3cret", { type: argon2[type], timeCost: 1, memoryCost: 1024, parallelism: 1 });
        assert.ok(hash.startsWith(`$${type}$`));
        assert.deepEqual(await verifyPassword("s3cret", hash), { status: "MATCH", format: "argon2" });
        await expectStatus("s3creT", hash, "NO_MATCH");
      });
    }

    it("matches the m,t,p parameter order argon2-jvm (the core) writes", async () => {
      const salt = randomBytes(16);
      const raw = await argon2.hash("pw", {
        type: argon2.argon2id,
        timeCost: 2,
        memoryCost: 1024,
        parallelism: 1,
        salt,
        raw: true,
      });
      await expectStatus("pw", `$argon2id$v=19$m=1024,t=2,p=1$${b64(salt)}$${b64(raw)}`, "MATCH");
    });
  });

  describe("when the hash is Firebase scrypt", () => {
    const options = { firebaseSignerKey: FIREBASE.signerKey };

    it("matches Firebase's published sample", async () => {
      assert.deepEqual(await verifyPassword(FIREBASE.password, firebaseHash(FIREBASE), options), {
        status: "MATCH",
        format: "firebase_scrypt",
      });
      await expectStatus("user1passwore", firebaseHash(FIREBASE), "NO_MATCH", options);
    });

    it("matches a vector made by an independent implementation with other parameters", async () => {
      const salt = randomBytes(12);
      const saltSeparator = Buffer.from([0x07, 0x01]);
      const signerKey = randomBytes(64);
      const hash = firebaseReference(Buffer.from("an0ther-pass"), salt, saltSeparator, signerKey, 10, 4);
      const stored = firebaseHash({
        hash,
        salt: salt.toString("base64"),
        memCost: 10,
        rounds: 4,
        saltSeparator: saltSeparator.toString("base64"),
      });
      await expectStatus("an0ther-pass", stored, "MATCH", { firebaseSignerKey: signerKey.toString("base64") });
      await expectStatus("an0ther-pass", stored, "NO_MATCH", { firebaseSignerKey: FIREBASE.signerKey });
    });

    it("accepts m=, r=, s= in any order and a trailing $, as the core's parser does", async () => {
      const { hash, salt } = FIREBASE;
      await expectStatus(FIREBASE.password, `$f_scrypt$${hash}$${salt}$s=Bw==$r=8$m=14`, "MATCH", options);
      await expectStatus(FIREBASE.password, `${firebaseHash(FIREBASE)}$`, "MATCH", options);
    });

    it("reads the password as the core does: US-ASCII with '?' for anything else", async () => {
      const salt = randomBytes(8);
      const signerKey = randomBytes(32);
      const hash = firebaseReference(Buffer.from("p?ssw?rd", "ascii"), salt, Buffer.from([7]), signerKey, 8, 2);
      const stored = firebaseHash({
        hash,
        salt: salt.toString("base64"),
        memCost: 8,
        rounds: 2,
        saltSeparator: "Bw==",
      });
      await expectStatus("pässw😀rd", stored, "MATCH", { firebaseSignerKey: signerKey.toString("base64") });
      await expectStatus("passw0rd", stored, "NO_MATCH", { firebaseSignerKey: signerKey.toString("base64") });
    });

    it("throws ERR_MIGRATE_MISSING_SIGNER_KEY without a signer key, as the core answers 500", async () => {
      await assert.rejects(
        verifyPassword(FIREBASE.password, firebaseHash(FIREBASE)),
        (err: { code?: string; status?: number }) => {
          assert.equal(err.code, "ERR_MIGRATE_MISSING_SIGNER_KEY");
          assert.equal(err.status, 500);
          return true;
        },
      );
    });

    it(
      "answers NO_MATCH without a signer key when the hash does not parse (the core checks the key after " + "parsing)",
      async () => {
        await expectStatus(FIREBASE.password, "$f_scrypt$abc$def$m=14$r=8", "NO_MATCH");
      },
    );
  });

  describe("when the hash is plain scrypt", () => {
    it("matches passlib's documented sample ($scrypt$ln=8)", async () => {
      const hash = "$scrypt$ln=8,r=8,p=1$WKs1xljLudd6z9kbY0wpJQ$yCR4iDZYDKv+iEJj6yHY0lv/epnfB6f/w1EbXrsJOuQ";
      assert.deepEqual(await verifyPassword("password", hash), { status: "MATCH", format: "scrypt" });
      await expectStatus("Password", hash, "NO_MATCH");
    });

    it("matches padded base64 with parameters out of order (dnsdist's writer)", async () => {
      await expectStatus(
        "secret",
        "$scrypt$ln=10,p=1,r=8$6DKLnvUYEeXWh3JNOd3iwg==$kSrhdHaRbZ7R74q3lGBqO1xetgxRxhmWzYJ2Qvfm7JM=",
        "MATCH",
      );
    });

    it(
      "matches PHC strings computed here, in standard and passlib ('.') base64, for 32- and 64-byte " + "keys",
      async () => {
        for (const [keyLength, encode] of [
          [32, b64],
          [64, ab64],
        ] as const) {
          const salt = randomBytes(16);
          const key = scryptSync("ünïcode pw", salt, keyLength, { N: 2 ** 10, r: 8, p: 2 });
          const hash = `$scrypt$ln=10,r=8,p=2$${encode(salt)}$${encode(key)}`;
          await expectStatus("ünïcode pw", hash, "MATCH");
          await expectStatus("unicode pw", hash, "NO_MATCH");
        }
      },
    );

    it("matches Werkzeug's scrypt:N:r:p$salt$hex, with the salt used as text", async () => {
      const key = scryptSync("flask-pw", Buffer.from("AbCdEfGh12345678"), 64, { N: 2 ** 11, r: 8, p: 1 });
      const hash = `scrypt:2048:8:1$AbCdEfGh12345678$${key.toString("hex")}`;
      await expectStatus("flask-pw", hash, "MATCH");
      await expectStatus("flask-pW", hash, "NO_MATCH");
    });

    it("runs off the event loop", async () => {
      const hash = `$scrypt$ln=14,r=8,p=1$${b64(randomBytes(16))}$${b64(randomBytes(32))}`;
      await assertOffEventLoop(() => verifyPassword("pw", hash));
    });
  });

  describe("when the hash is PHC/passlib or Werkzeug PBKDF2", () => {
    it("matches passlib's documented samples", async () => {
      await expectStatus(
        "password",
        "$pbkdf2-sha256$6400$.6UI/S.nXIk8jcbdHx3Fhg$98jZicV16ODfEsEZeYPGHU3kbrUrvUEXOPimVSQDD44",
        "MATCH",
      );
      await expectStatus(
        "password",
        "$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M",
        "MATCH",
      );
      await expectStatus(
        "passwore",
        "$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M",
        "NO_MATCH",
      );
    });

    const variants = [
      ["$pbkdf2-sha256$", "sha256", 32],
      ["$pbkdf2-sha512$", "sha512", 64],
      ["$pbkdf2-sha1$", "sha1", 20],
      ["$pbkdf2$", "sha1", 20],
    ] as const;
    for (const [prefix, digest, length] of variants) {
      it(`matches ${prefix} computed here`, async () => {
        const salt = randomBytes(16);
        const key = pbkdf2Sync("tr0ub4dor", salt, 2000, length, digest);
        const hash = `${prefix}2000$${ab64(salt)}$${ab64(key)}`;
        assert.deepEqual(await verifyPassword("tr0ub4dor", hash), { status: "MATCH", format: "pbkdf2" });
        await expectStatus("tr0ub4dor&3", hash, "NO_MATCH");
      });
    }

    it("matches @phc/pbkdf2's i=<iterations> form", async () => {
      const salt = randomBytes(16);
      const key = pbkdf2Sync("pw", salt, 1500, 32, "sha256");
      await expectStatus("pw", `$pbkdf2-sha256$i=1500$${b64(salt)}$${b64(key)}`, "MATCH");
    });

    it("matches Werkzeug's pbkdf2:<digest>:<iterations>$salt$hex", async () => {
      const key = pbkdf2Sync("flask-pw", Buffer.from("saltsalt"), 3000, 32, "sha256");
      await expectStatus("flask-pw", `pbkdf2:sha256:3000$saltsalt$${key.toString("hex")}`, "MATCH");
      await expectStatus("flask-px", `pbkdf2:sha256:3000$saltsalt$${key.toString("hex")}`, "NO_MATCH");
    });

    it("runs off the event loop", async () => {
      const hash = `$pbkdf2-sha256$300000$${ab64(randomBytes(16))}$${ab64(randomBytes(32))}`;
      await assertOffEventLoop(() => verifyPassword("pw", hash));
    });
  });

  describe("when the hash is Django PBKDF2", () => {
    it("matches Django's own test vector (lètmein / seasalt, 260000 iterations)", async () => {
      const hash = "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=";
      assert.deepEqual(await verifyPassword("lètmein", hash), { status: "MATCH", format: "django_pbkdf2" });
      await expectStatus("lètmeinz", hash, "NO_MATCH");
    });

    for (const [digest, length] of [
      ["sha256", 32],
      ["sha1", 20],
    ] as const) {
      it(`matches pbkdf2_${digest} computed here`, async () => {
        const key = pbkdf2Sync("django pw", Buffer.from("Xy7salt"), 1000, length, digest);
        const hash = `pbkdf2_${digest}$1000$Xy7salt$${key.toString("base64")}`;
        await expectStatus("django pw", hash, "MATCH");
        await expectStatus("django pW", hash, "NO_MATCH");
      });
    }
  });

  describe("when the hash is unknown", () => {
    for (const hash of [
      "",
      "   ",
      "hunter2",
      "5f4dcc3b5aa765d61d8327deb882cf99",
      "$1$abc$def",
      "{SSHA}abc",
      "sha1$salt$abc",
    ]) {
      it(`answers UNKNOWN_FORMAT for ${JSON.stringify(hash)}`, async () => {
        assert.deepEqual(await verifyPassword("hunter2", hash), { status: "UNKNOWN_FORMAT" });
      });
    }

    it("answers UNKNOWN_FORMAT for a non-string hash (a NULL column)", async () => {
      assert.deepEqual(await verifyPassword("pw", null as unknown as string), { status: "UNKNOWN_FORMAT" });
    });
  });

  describe("when the hash looks like a known format but is malformed", () => {
    const key = { firebaseSignerKey: FIREBASE.signerKey };
    const table: Array<[string, string]> = [
      ["bcrypt", "$2b$"],
      ["bcrypt", "$2b$04$tooShort"],
      ["bcrypt", "$2b$99$" + "a".repeat(53)],
      ["bcrypt", "$2b$04$" + "!".repeat(53)],
      ["argon2", "$argon2id$"],
      ["argon2", "$argon2id$v=19$m=abc,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"],
      ["argon2", "$argon2i$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ"],
      ["argon2", "$argon2d$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"],
      ["firebase_scrypt", "$f_scrypt$"],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=x$r=8$s=Bw=="],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=14$r=8$s="],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=14$r=8$s=Bw==$extra"],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=40$r=8$s=Bw=="],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=0$r=8$s=Bw=="],
      ["firebase_scrypt", "$f_scrypt$hash$salt$m=14$r=-1$s=Bw=="],
      ["scrypt", "$scrypt$"],
      ["scrypt", "$scrypt$ln=x,r=8,p=1$c2FsdA$aGFzaA"],
      ["scrypt", "$scrypt$ln=8,r=8,p=1$!!!$aGFzaA"],
      ["scrypt", "$scrypt$ln=8,r=8,p=1$c2FsdA$"],
      ["scrypt", "$scrypt$ln=40,r=8,p=1$c2FsdA$aGFzaA"],
      ["scrypt", "$scrypt$ln=8,ln=9,r=8,p=1$c2FsdA$aGFzaA"],
      ["scrypt", "scrypt:3:8:1$salt$abcd"],
      ["scrypt", "scrypt:1024:8$salt$abcd"],
      ["scrypt", "scrypt:1024:8:1$salt$xyz"],
      ["pbkdf2", "$pbkdf2-sha256$"],
      ["pbkdf2", "$pbkdf2-sha256$0$c2FsdA$aGFzaA"],
      ["pbkdf2", "$pbkdf2-sha256$abc$c2FsdA$aGFzaA"],
      ["pbkdf2", "$pbkdf2-sha256$99999999999$c2FsdA$aGFzaA"],
      ["pbkdf2", "pbkdf2:sha256$salt$abcd"],
      ["pbkdf2", "pbkdf2:md4:1000$salt$abcd"],
      ["django_pbkdf2", "pbkdf2_sha256$1000$salt$short"],
      ["django_pbkdf2", "pbkdf2_sha256$$salt$" + "A".repeat(43) + "="],
      ["django_pbkdf2", "pbkdf2_sha256$1000$$" + "A".repeat(43) + "="],
      ["django_pbkdf2", "pbkdf2_sha256$1000$salt"],
    ];
    for (const [format, hash] of table) {
      it(`answers NO_MATCH (${format}) for ${JSON.stringify(hash.slice(0, 40))}`, async () => {
        assert.deepEqual(await verifyPassword("pw", hash, key), { status: "NO_MATCH", format });
      });
    }

    it("answers NO_MATCH, not a throw, for a non-string password", async () => {
      const hash = await bcrypt.hash("pw", 4);
      assert.deepEqual(await verifyPassword(undefined as unknown as string, hash), {
        status: "NO_MATCH",
        format: "bcrypt",
      });
    });
  });

  describe("when custom verifiers are given", () => {
    const sha256Verifier = (calls: string[] = []): PasswordVerifier => ({
      detect: (hash) => hash.startsWith("{SHA256}"),
      async verify(password, hash) {
        calls.push(hash);
        const { createHash } = await import("node:crypto");
        return hash === `{SHA256}${createHash("sha256").update(password).digest("hex")}`;
      },
    });
    const stored = "{SHA256}5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"; // "password"

    it("uses a custom verifier for a format it detects, reporting its name", async () => {
      const options = { verifiers: { legacySha256: sha256Verifier() } };
      assert.deepEqual(await verifyPassword("password", stored, options), { status: "MATCH", format: "legacySha256" });
      assert.deepEqual(await verifyPassword("passw0rd", stored, options), {
        status: "NO_MATCH",
        format: "legacySha256",
      });
    });

    it("asks custom verifiers before the built-ins, in key order", async () => {
      const hash = await bcrypt.hash("pw", 4);
      const seen: string[] = [];
      const options = {
        verifiers: {
          first: { detect: (h: string) => h.startsWith("$2b$"), verify: async () => (seen.push("first"), false) },
          second: { detect: () => true, verify: async () => (seen.push("second"), true) },
        },
      };
      assert.deepEqual(await verifyPassword("pw", hash, options), { status: "NO_MATCH", format: "first" });
      assert.deepEqual(seen, ["first"]);
    });

    it("falls through to the built-ins when no custom verifier detects the hash", async () => {
      const calls: string[] = [];
      const hash = await bcrypt.hash("pw", 4);
      assert.deepEqual(await verifyPassword("pw", hash, { verifiers: { legacySha256: sha256Verifier(calls) } }), {
        status: "MATCH",
        format: "bcrypt",
      });
      assert.deepEqual(calls, []);
    });

    it("lets a custom verifier's error reach the caller instead of reading as a wrong password", async () => {
      const boom: PasswordVerifier = {
        detect: () => true,
        verify: async () => {
          throw new Error("verifier down");
        },
      };
      await assert.rejects(verifyPassword("pw", "anything", { verifiers: { boom } }), /verifier down/);
    });

    it("treats a truthy non-boolean from a custom verifier as NO_MATCH", async () => {
      const sloppy = { detect: () => true, verify: async () => "yes" as unknown as boolean };
      await expectStatus("pw", "anything", "NO_MATCH", { verifiers: { sloppy } });
    });
  });

  it("runs bcrypt and argon2 off the event loop", async () => {
    const bcryptHash = await bcrypt.hash("pw", 10);
    await assertOffEventLoop(() => verifyPassword("pw", bcryptHash));
    const argonHash = await argon2.hash("pw", { timeCost: 3, memoryCost: 32768, parallelism: 1 });
    await assertOffEventLoop(() => verifyPassword("pw", argonHash));
  });
});

describe("hashPassword", () => {
  it("defaults to bcrypt with the core's 11 rounds and jBCrypt's $2a$ marker", async () => {
    const hash = await hashPassword("new password");
    assert.match(hash, /^\$2a\$11\$[./A-Za-z0-9]{53}$/);
    await expectStatus("new password", hash, "MATCH");
  });

  it("hashes bcrypt with the given log rounds", async () => {
    const hash = await hashPassword("pw", { algorithm: "bcrypt", logRounds: 5 });
    assert.match(hash, /^\$2a\$05\$/);
    await expectStatus("pw", hash, "MATCH");
    await expectStatus("pX", hash, "NO_MATCH");
  });

  it("hashes argon2id with the core's encoding: m,t,p order, 16-byte salt, 32-byte hash", async () => {
    const hash = await hashPassword("pw", { algorithm: "argon2", iterations: 2, memoryKb: 1024, parallelism: 1 });
    assert.match(hash, /^\$argon2id\$v=19\$m=1024,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    await expectStatus("pw", hash, "MATCH");
    await expectStatus("pW", hash, "NO_MATCH");
  });

  it("uses the core's argon2 defaults (t=1, m=87795, p=2)", async () => {
    const hash = await hashPassword("pw", { algorithm: "argon2" });
    assert.match(hash, /^\$argon2id\$v=19\$m=87795,t=1,p=2\$/);
    await expectStatus("pw", hash, "MATCH");
  });

  it("produces hashes the core would import as is", async () => {
    assert.equal(checkImportFormat(await hashPassword("pw", { algorithm: "bcrypt", logRounds: 4 })).ok, true);
    assert.equal(
      checkImportFormat(await hashPassword("pw", { algorithm: "argon2", memoryKb: 64, parallelism: 1 })).ok,
      true,
    );
  });

  it("salts every hash", async () => {
    const options = { algorithm: "bcrypt", logRounds: 4 } as const;
    assert.notEqual(await hashPassword("same", options), await hashPassword("same", options));
  });

  const invalid: Array<[string, unknown]> = [
    ["bcrypt rounds below jBCrypt's range", { algorithm: "bcrypt", logRounds: 3 }],
    ["bcrypt rounds above jBCrypt's range", { algorithm: "bcrypt", logRounds: 31 }],
    ["fractional rounds", { algorithm: "bcrypt", logRounds: 10.5 }],
    ["argon2 memory below 8·p", { algorithm: "argon2", memoryKb: 15, parallelism: 2 }],
    ["argon2 zero iterations", { algorithm: "argon2", iterations: 0 }],
    ["an unknown algorithm", { algorithm: "md5" }],
  ];
  for (const [name, options] of invalid) {
    it(`fails with ERR_MIGRATE_INVALID_OPTION for ${name}`, async () => {
      await assert.rejects(hashPassword("pw", options as HashPasswordOptions), { code: "ERR_MIGRATE_INVALID_OPTION" });
    });
  }

  it("names the closest valid key for a typo", () => {
    assert.throws(
      () => resolveHashPasswordConfig({ algorithm: "bcrypt", logRound: 10 } as unknown as HashPasswordOptions),
      (err: { code?: string; message: string }) =>
        err.code === "ERR_MIGRATE_UNKNOWN_OPTION" && err.message.includes("`logRounds`"),
    );
  });

  it("accepts the algorithm in any case, as the core's config does", () => {
    assert.deepEqual(resolveHashPasswordConfig({ algorithm: "BCRYPT" } as unknown as HashPasswordOptions), {
      algorithm: "bcrypt",
      logRounds: 11,
    });
  });
});

describe("dummyVerify", () => {
  it("costs about as much as a real bcrypt verify of the same cost", async () => {
    const hash = await bcrypt.hash("pw", 8);
    await dummyVerify(hash); // builds and caches the cost-8 dummy hash
    const real = await medianMs(5, () => verifyPassword("wrong", hash));
    const dummy = await medianMs(5, () => dummyVerify(hash));
    assert.ok(dummy > real / 3 && dummy < real * 3, `dummy ${dummy.toFixed(1)}ms vs real ${real.toFixed(1)}ms`);
  });

  it("follows the cost of the hash it is given, not a fixed one", async () => {
    await dummyVerify("$2b$04$");
    await dummyVerify("$2b$09$");
    const cheap = await medianMs(3, () => dummyVerify("$2b$04$"));
    const dear = await medianMs(3, () => dummyVerify("$2b$09$"));
    assert.ok(dear > cheap * 4, `cost 9 took ${dear.toFixed(1)}ms, cost 4 ${cheap.toFixed(1)}ms`);
  });

  it("costs about as much as a real argon2 verify", async () => {
    const hash = await argon2.hash("pw", { type: argon2.argon2id, timeCost: 2, memoryCost: 16384, parallelism: 1 });
    await dummyVerify(hash);
    const real = await medianMs(5, () => verifyPassword("wrong", hash));
    const dummy = await medianMs(5, () => dummyVerify(hash));
    assert.ok(dummy > real / 3 && dummy < real * 3, `dummy ${dummy.toFixed(1)}ms vs real ${real.toFixed(1)}ms`);
  });

  it("costs about as much as a real scrypt, PBKDF2 or Firebase verify", async () => {
    const scryptHash = `$scrypt$ln=13,r=8,p=1$${b64(randomBytes(16))}$${b64(randomBytes(32))}`;
    const pbkdf2Hash = `$pbkdf2-sha256$100000$${ab64(randomBytes(16))}$${ab64(randomBytes(32))}`;
    const firebase = firebaseHash(FIREBASE);
    for (const hash of [scryptHash, pbkdf2Hash, firebase]) {
      const options = { firebaseSignerKey: FIREBASE.signerKey };
      const real = await medianMs(3, () => verifyPassword("wrong", hash, options));
      const dummy = await medianMs(3, () => dummyVerify(hash, options));
      assert.ok(
        dummy > real / 3 && dummy < real * 3,
        `${hash.slice(0, 12)}: dummy ${dummy.toFixed(1)}ms vs real ${real.toFixed(1)}ms`,
      );
    }
  });

  it("falls back to bcrypt cost 10 for nothing, garbage or an unparseable hash, without throwing", async () => {
    await dummyVerify("$2b$10$");
    for (const hashLike of [undefined, "garbage", "$scrypt$ln=99", null as unknown as string]) {
      // Interleaved medians, so load from other processes hits both sides alike.
      const took: number[] = [];
      const reference: number[] = [];
      for (let i = 0; i < 3; i++) {
        took.push(await medianMs(1, () => dummyVerify(hashLike)));
        reference.push(await medianMs(1, () => dummyVerify("$2b$10$")));
      }
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[1];
      assert.ok(
        median(took) > median(reference) / 3,
        `${String(hashLike)} took ${median(took).toFixed(1)}ms, bcrypt-10 ${median(reference).toFixed(1)}ms`,
      );
    }
  });

  it("runs a custom verifier that detects the hash, with a throwaway password", async () => {
    const seen: Array<[string, string]> = [];
    const verifier: PasswordVerifier = {
      detect: (h) => h.startsWith("{X}"),
      verify: async (p, h) => (seen.push([p, h]), true),
    };
    await dummyVerify("{X}abc", { verifiers: { x: verifier } });
    assert.equal(seen.length, 1);
    assert.equal(seen[0][1], "{X}abc");
    assert.ok(seen[0][0].length >= 16);
  });
});

describe("checkImportFormat", () => {
  const bcryptHash = "$2a$10$" + "a".repeat(53);
  const argonHash = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g";
  const fbHash = firebaseHash(FIREBASE);
  const withKey = { firebaseSignerKey: FIREBASE.signerKey };

  const table: Array<[string, string, string | undefined, object, Record<string, unknown>]> = [
    [
      "an empty hash",
      "",
      undefined,
      {},
      { ok: false, status: 400, message: "Password hash cannot be an empty string" },
    ],
    [
      "a blank hash",
      " \t\n",
      "bcrypt",
      {},
      { ok: false, status: 400, message: "Password hash cannot be an empty string" },
    ],
    ["bcrypt, no algorithm", bcryptHash, undefined, {}, { ok: true, algorithm: "bcrypt", passwordHash: bcryptHash }],
    ["$2y$, no algorithm", "$2y" + bcryptHash.slice(3), undefined, {}, { ok: true, algorithm: "bcrypt" }],
    ["argon2, no algorithm", argonHash, undefined, {}, { ok: true, algorithm: "argon2", passwordHash: argonHash }],
    ["firebase with a key, no algorithm", fbHash, undefined, withKey, { ok: true, algorithm: "firebase_scrypt" }],
    ["firebase without a key, no algorithm", fbHash, undefined, {}, { ok: false, status: 500 }],
    [
      "scrypt, no algorithm",
      "$scrypt$ln=8,r=8,p=1$c2FsdA$aGFzaA",
      undefined,
      withKey,
      { ok: false, status: 400, message: "Password hash is in invalid format" },
    ],
    [
      "django, no algorithm",
      "pbkdf2_sha256$1000$salt$aGFzaA==",
      undefined,
      {},
      { ok: false, status: 400, message: "Password hash is in invalid format" },
    ],
    ["bcrypt as BcRyPt", bcryptHash, "BcRyPt", {}, { ok: true, algorithm: "bcrypt" }],
    [
      "argon2 as bcrypt",
      argonHash,
      "bcrypt",
      {},
      { ok: false, status: 400, message: "Password hash is in invalid BCrypt format" },
    ],
    [
      "bcrypt as argon2",
      bcryptHash,
      " argon2 ",
      {},
      { ok: false, status: 400, message: "Password hash is in invalid Argon2 format" },
    ],
    [
      "bcrypt as firebase_scrypt",
      bcryptHash,
      "firebase_scrypt",
      withKey,
      { ok: false, status: 400, message: "Password hash is in invalid Firebase SCrypt format" },
    ],
    ["firebase as FIREBASE_SCRYPT", fbHash, "FIREBASE_SCRYPT", withKey, { ok: true, algorithm: "firebase_scrypt" }],
    ["anything as firebase_scrypt without a key", bcryptHash, "firebase_scrypt", {}, { ok: false, status: 500 }],
    [
      "an unknown algorithm",
      bcryptHash,
      "scrypt",
      {},
      { ok: false, status: 400, message: "Unsupported password hashing algorithm" },
    ],
    [
      "a blank algorithm",
      bcryptHash,
      "  ",
      {},
      { ok: false, status: 400, message: "Hashing Algorithm cannot be an empty string" },
    ],
    ["the core's loose bcrypt prefix", "$2a-not-really", undefined, {}, { ok: true, algorithm: "bcrypt" }],
  ];
  for (const [name, hash, algorithm, options, expected] of table) {
    it(`answers like the core for ${name}`, () => {
      const result = checkImportFormat(hash, algorithm, options) as Record<string, unknown>;
      for (const [field, value] of Object.entries(expected))
        assert.equal(result[field], value, `${field} of ${JSON.stringify(result)}`);
    });
  }

  it("returns the trimmed hash the core would store", () => {
    assert.deepEqual(checkImportFormat(`  ${bcryptHash}\n`), {
      ok: true,
      algorithm: "bcrypt",
      passwordHash: bcryptHash,
    });
  });

  it("reports coreImportable for bcrypt, argon2 and keyed Firebase only", () => {
    assert.equal(coreImportable(bcryptHash), true);
    assert.equal(coreImportable(argonHash), true);
    assert.equal(coreImportable(fbHash, withKey), true);
    assert.equal(coreImportable(fbHash), false);
    assert.equal(coreImportable("$scrypt$ln=8,r=8,p=1$c2FsdA$aGFzaA"), false);
    assert.equal(
      coreImportable("$pbkdf2-sha256$6400$.6UI/S.nXIk8jcbdHx3Fhg$98jZicV16ODfEsEZeYPGHU3kbrUrvUEXOPimVSQDD44"),
      false,
    );
    assert.equal(coreImportable(""), false);
  });
});
