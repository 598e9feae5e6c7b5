/**
 * `supertokens-migrate export` end to end: users created through the real SDK against a dev core that writes the
 * SuperTokens core's PostgreSQL layout, exported (programmatically and by spawning the CLI), then checked the
 * way the next system would use the files: hashes verify the original passwords, reset-token hashes match the
 * tokens in the links, and a live access token verifies with an exported public key.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, createPublicKey, verify } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { promisify } from "node:util";
import argon2 from "argon2";
import bcrypt from "bcrypt";
import express from "express";
import fc from "fast-check";
import pg from "pg";
import request from "supertest";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import EmailVerification from "supertokens-node/recipe/emailverification";
import Session from "supertokens-node/recipe/session";
import UserMetadata from "supertokens-node/recipe/usermetadata";
import { middleware } from "supertokens-node/framework/express";
import { PostgresStorage, startDevCore, type DevCore } from "../../lib/core/index.js";
import { exportSuperTokens, type ExportOptions, type ExportReport } from "../../lib/export/index.js";
import { csvRow } from "../../lib/export/write.js";
import { CookieJar } from "../helpers/cookies.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

const run = promisify(execFile);
const sha256hex = (s: string) => createHash("sha256").update(s).digest("hex");

const schema = `stm_export_${uniqueId()}`;
const awkwardMetadata = { note: 'He said "hi",\nthen left, twice\r\n', tags: ["a,b", 'c"d'], nested: { n: 1 } };
let pool: pg.Pool;
let core: DevCore;
let dir: string;
let appId: string;

interface Fixture {
  users: { email: string; password: string; id: string; userId: string; argon2?: boolean }[];
  validToken: string;
  expiredToken: string;
  accessToken: string;
}
let fx: Fixture;

async function signUp(email: string, password: string) {
  const r = await EmailPassword.signUp("public", email, password);
  if (r.status !== "OK") throw new Error(`sign-up failed: ${r.status}`);
  return r.user.id;
}

before(async () => {
  pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL") });
  core = await startDevCore({
    config: { bcrypt_log_rounds: 4 },
    storage: await PostgresStorage.create(pool, { schema }),
  });
  dir = await mkdtemp(join(tmpdir(), "stm-export-"));
  const uri = await createCoreApp(core.url);
  appId = uri.split("/appid-")[1]!;
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      EmailVerification.init({ mode: "OPTIONAL" }),
      UserMetadata.init(),
      Session.init({ getTokenTransferMethod: () => "cookie" }),
    ],
  });

  const users: Fixture["users"] = [];
  for (const [i, password] of ["p4ss-word-1", "Ünïcödé pass 2", 'quote"comma,3', "spaces  and\ttab 4"].entries()) {
    const email = `user${i}@example.com`;
    const id = await signUp(email, password);
    users.push({ email, password, id, userId: id });
  }
  // A user imported with an argon2 hash: exported as is and flagged (never converted).
  const argonHash = await argon2.hash("argon-pass-5", {
    type: argon2.argon2id,
    memoryCost: 1024,
    timeCost: 1,
    parallelism: 1,
  });
  const imported = await (
    await fetch(`${uri}/public/recipe/user/passwordhash/import`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "argon@example.com", passwordHash: argonHash }),
    })
  ).json();
  users.push({
    email: "argon@example.com",
    password: "argon-pass-5",
    id: imported.user.id,
    userId: imported.user.id,
    argon2: true,
  });

  // users[0]: email verified, then mapped (verification moves to the external id), metadata and a role under it.
  const ev = await EmailVerification.createEmailVerificationToken(
    "public",
    supertokens.convertToRecipeUserId(users[0].id),
  );
  await EmailVerification.verifyEmailUsingToken("public", ev.status === "OK" ? ev.token : "");
  await supertokens.createUserIdMapping({
    superTokensUserId: users[0].id,
    externalUserId: "legacy-7",
    externalUserIdInfo: "from legacy db,\nline 2",
  });
  users[0].userId = "legacy-7";
  await UserMetadata.updateUserMetadata("legacy-7", awkwardMetadata);
  // users[1]: verified, unmapped.
  const ev1 = await EmailVerification.createEmailVerificationToken(
    "public",
    supertokens.convertToRecipeUserId(users[1].id),
  );
  await EmailVerification.verifyEmailUsingToken("public", ev1.status === "OK" ? ev1.token : "");

  const valid = await EmailPassword.createResetPasswordToken("public", users[1].id, users[1].email);
  const expired = await EmailPassword.createResetPasswordToken("public", users[2].id, users[2].email);
  const validToken = valid.status === "OK" ? valid.token : "";
  const expiredToken = expired.status === "OK" ? expired.token : "";
  await pool.query(`UPDATE "${schema}".emailpassword_pswd_reset_tokens SET token_expiry = $1 WHERE token = $2`, [
    Date.now() - 1000,
    sha256hex(expiredToken),
  ]);

  // Roles straight into the roles recipe's tables, which the dev core creates as the core does (plugin 9.5).
  await pool.query(`INSERT INTO "${schema}".roles VALUES ($1, 'admin'), ($1, 'editor')`, [appId]);
  await pool.query(
    `INSERT INTO "${schema}".user_roles VALUES ($1, 'public', 'legacy-7', 'admin'), ($1, 'public', 'legacy-7', ` +
      `'editor')`,
    [appId],
  );

  // A live session: its access token must verify with the exported public key.
  const app = express();
  app.use(middleware());
  app.post("/login", async (req, res) => {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(users[1].id));
    res.json({});
  });
  const login = await request(app).post("/login");
  const accessToken = new CookieJar().update(login).get("sAccessToken")!;
  fx = { users, validToken, expiredToken, accessToken };
});

after(async () => {
  await core.close();
  await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await pool.end();
  await rm(dir, { recursive: true, force: true });
});

function collector() {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c: Buffer) => (text += c.toString("utf8")));
  return { out, text: () => text };
}

async function exportTo(options: Partial<ExportOptions> = {}) {
  const main = collector();
  const report = await exportSuperTokens({ db: pool, out: main.out, schema, appId, ...options });
  return { report, text: main.text() };
}

const ndjson = (text: string) =>
  text
    .trimEnd()
    .split("\n")
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- exported records, asserted field by field
    .map((l) => JSON.parse(l) as Record<string, any>);

/** RFC 4180 parser for the checks: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else field += c;
  }
  assert.equal(field, "", "CSV ends with CRLF");
  const [head, ...body] = rows;
  return body.map((r) => {
    assert.equal(r.length, head.length, "every row has every column");
    return Object.fromEntries(head.map((h, i) => [h, r[i]]));
  });
}

/** The checks every export must pass, whatever its format. */
async function checkUsers(
  users: {
    userId: string;
    superTokensUserId: string;
    email: string;
    passwordHash: string;
    emailVerified: boolean;
    metadata: unknown;
    roles: unknown;
  }[],
) {
  assert.equal(users.length, fx.users.length);
  assert.equal(new Set(users.map((u) => u.superTokensUserId)).size, fx.users.length, "each user exactly once");
  for (const expected of fx.users) {
    const u = users.find((x) => x.superTokensUserId === expected.id);
    assert.ok(u, expected.email);
    assert.equal(u.userId, expected.userId);
    assert.equal(u.email, expected.email);
    if (expected.argon2) assert.equal(await argon2.verify(u.passwordHash, expected.password), true);
    else {
      assert.equal(
        await bcrypt.compare(expected.password, u.passwordHash),
        true,
        `bcrypt hash of ${expected.email} verifies`,
      );
      assert.equal(await bcrypt.compare(`${expected.password}x`, u.passwordHash), false);
    }
  }
  const byEmail = (e: string) => users.find((u) => u.email === e)!;
  assert.equal(byEmail("user0@example.com").emailVerified, true);
  assert.equal(byEmail("user1@example.com").emailVerified, true);
  assert.equal(byEmail("user2@example.com").emailVerified, false);
  assert.deepEqual(byEmail("user0@example.com").metadata, awkwardMetadata);
  assert.equal(byEmail("user1@example.com").metadata, null);
  assert.deepEqual(byEmail("user0@example.com").roles, [
    { tenantId: "public", role: "admin" },
    { tenantId: "public", role: "editor" },
  ]);
  assert.deepEqual(byEmail("user1@example.com").roles, []);
}

function checkTokens(tokens: { userId: string; email: string; tokenHash: string; expiresAt: number }[]) {
  assert.deepEqual(
    tokens.map((t) => t.tokenHash),
    [sha256hex(fx.validToken)],
    "the valid token is there, the expired one is not",
  );
  assert.equal(tokens[0].userId, fx.users[1].userId);
  assert.equal(tokens[0].email, fx.users[1].email);
  assert.ok(tokens[0].expiresAt > Date.now());
}

function checkKeys(
  keys: { kid: string; kind: string; publicKeyPem: string; privateKeyPem: string; publicJwk: Record<string, string> }[],
) {
  const [headerB64, payloadB64, sigB64] = fx.accessToken.split(".");
  const kid = JSON.parse(Buffer.from(headerB64, "base64url").toString()).kid;
  const key = keys.find((k) => k.kid === kid);
  assert.ok(key, `the live token's key ${kid} is exported`);
  assert.equal(key.kind, "dynamic");
  const input = Buffer.from(`${headerB64}.${payloadB64}`);
  const signature = Buffer.from(sigB64, "base64url");
  assert.equal(verify("sha256", input, key.publicKeyPem, signature), true, "verifies with the exported PEM");
  assert.equal(
    verify("sha256", input, createPublicKey({ key: key.publicJwk, format: "jwk" }), signature),
    true,
    "and with the JWK",
  );
  assert.equal(verify("sha256", input, key.privateKeyPem, signature), true, "the private key is the pair's");
  assert.equal(verify("sha256", Buffer.from(`${headerB64}.${payloadB64}x`), key.publicKeyPem, signature), false);
}

const cli = (args: string[]) =>
  run(
    process.execPath,
    [
      "--import",
      "tsx",
      "lib/cli/main.ts",
      "export",
      "--from",
      requireEnv("DATABASE_URL"),
      "--schema",
      schema,
      "--app-id",
      appId,
      ...args,
    ],
    {
      cwd: process.cwd(),
      maxBuffer: 64 * 1024 * 1024,
    },
  );

describe("export: NDJSON", () => {
  it(
    "streams users page by page with hashes, ids, verification, metadata and roles; tokens and keys as " + "sections",
    async () => {
      const { report, text } = await exportTo({ pageSize: 2 });
      const lines = ndjson(text);
      assert.deepEqual(
        { ...lines[0], exportedAt: undefined },
        {
          type: "header",
          format: "supertokens-migrate-export",
          version: 3,
          appId,
          schema,
          tablePrefix: "",
          coreLayout: "core 12.x (postgresql plugin 9.5)",
          migrationMode: "LEGACY",
          exportedAt: undefined,
          sections: ["user", "reset_token", "signing_key"],
        },
      );
      const users = lines.filter((l) => l.type === "user");
      await checkUsers(users as never);
      const mapped = users.find((u) => u.userId === "legacy-7")!;
      assert.equal(mapped.externalUserIdInfo, "from legacy db,\nline 2");
      assert.deepEqual(mapped.tenantIds, ["public"]);
      assert.equal(users.find((u) => u.email === "argon@example.com")!.passwordHashFormat, "argon2");
      checkTokens(lines.filter((l) => l.type === "reset_token") as never);
      checkKeys(lines.filter((l) => l.type === "signing_key") as never);
      assert.deepEqual(lines.at(-1), {
        type: "trailer",
        counts: { user: 5, reset_token: 1, signing_key: report.signingKeys!.dynamic + report.signingKeys!.static },
      });
      assert.deepEqual(
        { ...report, durationMs: 0, signingKeys: undefined },
        {
          version: 1,
          appId,
          schema,
          coreLayout: "core 12.x (postgresql plugin 9.5)",
          migrationMode: "LEGACY",
          migrationModeSource: "default",
          format: "ndjson",
          users: 5,
          logins: { emailpassword: 5, thirdparty: 0, passwordless: 0 },
          linkedLogins: 0,
          hashFormats: { bcrypt: 4, argon2: 1 },
          usersNeedingAttention: 1,
          mappedUsers: 1,
          verifiedUsers: 2,
          usersWithMetadata: 1,
          usersWithRoles: 1,
          resetTokens: 1,
          signingKeys: undefined,
          otherRecipeUsers: 0,
          warnings: [],
          durationMs: 0,
        },
      );
      assert.ok(report.signingKeys!.dynamic >= 1);
    },
  );

  it("CLI: writes users to stdout and tokens and keys to their own 0600 files, with a report on stderr", async () => {
    const tokensPath = join(dir, "tokens.ndjson");
    const keysPath = join(dir, "keys.ndjson");
    const { stdout, stderr } = await cli(["--tokens-out", tokensPath, "--keys-out", keysPath]);
    const users = ndjson(stdout);
    assert.deepEqual(users[0].sections, ["user"]);
    await checkUsers(users.filter((l) => l.type === "user") as never);
    assert.deepEqual(users.at(-1), { type: "trailer", counts: { user: 5 } });
    const tokens = ndjson(await readFile(tokensPath, "utf8"));
    assert.deepEqual(tokens[0].sections, ["reset_token"]);
    checkTokens(tokens.filter((l) => l.type === "reset_token") as never);
    const keys = ndjson(await readFile(keysPath, "utf8"));
    checkKeys(keys.filter((l) => l.type === "signing_key") as never);
    assert.equal((await stat(keysPath)).mode & 0o777, 0o600, "the key file is readable by its owner only");
    assert.match(stderr, /exported 5 logins .*: 5 email-password, 0 third-party, 0 passwordless/);
    assert.match(stderr, /password hashes: (bcrypt 4, argon2 1|argon2 1, bcrypt 4)/);
    assert.match(stderr, /1 users without a bcrypt hash need a password reset/);
    assert.match(stderr, /valid reset tokens: 1/);
  });
});

describe("export: CSV", () => {
  it("CLI: escapes commas, quotes and line breaks; every row carries the format version", async () => {
    const out = join(dir, "users.csv");
    const tokensPath = join(dir, "tokens.csv");
    const keysPath = join(dir, "keys.csv");
    const { stdout } = await cli(["--format", "csv", "--out", out, "--tokens-out", tokensPath, "--keys-out", keysPath]);
    assert.equal(stdout, "");
    const rows = parseCsv(await readFile(out, "utf8"));
    assert.ok(rows.every((r) => r.export_version === "3"));
    await checkUsers(
      rows.map((r) => ({
        userId: r.user_id,
        superTokensUserId: r.supertokens_user_id,
        email: r.email,
        passwordHash: r.password_hash,
        emailVerified: r.email_verified === "true",
        metadata: r.metadata === "" ? null : JSON.parse(r.metadata),
        roles: r.roles === "" ? null : JSON.parse(r.roles),
      })),
    );
    assert.equal(rows.find((r) => r.user_id === "legacy-7")!.external_user_id_info, "from legacy db,\nline 2");
    const tokens = parseCsv(await readFile(tokensPath, "utf8"));
    checkTokens(
      tokens.map((t) => ({
        userId: t.user_id,
        email: t.email,
        tokenHash: t.token_hash,
        expiresAt: Number(t.expires_at),
      })),
    );
    const keys = parseCsv(await readFile(keysPath, "utf8"));
    checkKeys(
      keys.map((k) => ({
        kid: k.kid,
        kind: k.kind,
        publicKeyPem: k.public_key_pem,
        privateKeyPem: k.private_key_pem,
        publicJwk: JSON.parse(k.public_jwk),
      })),
    );
  });

  it("round-trips any fields through an RFC 4180 parser (commas, quotes, CR, LF, unicode)", () => {
    const field = fc.string({ unit: fc.constantFrom(",", '"', "\r", "\n", " ", "a", "é", "😀", "{", "}") });
    fc.assert(
      fc.property(
        fc.array(field, { minLength: 1, maxLength: 6 }),
        fc.array(field, { minLength: 1, maxLength: 6 }),
        (a, b) => {
          const width = Math.max(a.length, b.length);
          const pad = (xs: string[]) => [...xs, ...Array(width - xs.length).fill("")];
          const head = Array.from({ length: width }, (_, i) => `c${i}`);
          const parsed = parseCsv(csvRow(head) + csvRow(pad(a)) + csvRow(pad(b)));
          assert.deepEqual(
            parsed.map((r) => head.map((h) => r[h])),
            [pad(a), pad(b)],
          );
        },
      ),
    );
  });

  it("without --tokens-out and --keys-out leaves tokens and keys out and says so", async () => {
    const { report, text } = await exportTo({ format: "csv" });
    assert.equal(parseCsv(text).length, 5);
    assert.equal(report.resetTokens, null);
    assert.equal(report.signingKeys, null);
    assert.equal(report.warnings.length, 2);
    assert.match(report.warnings[0], /reset tokens not exported.*--tokens-out/);
  });
});

describe("export: other databases and mistakes", () => {
  it("reads a core without the roles tables (roles: null) and counts nothing it cannot see", async () => {
    const bare = `stm_export_bare_${uniqueId()}`;
    const storage = await PostgresStorage.create(pool, { schema: bare });
    try {
      // A core from before the roles recipe's tables (or one whose roles live elsewhere).
      await pool.query(`DROP TABLE "${bare}".user_roles, "${bare}".role_permissions, "${bare}".roles`);
      await storage.putApp({ appId: "public", coreConfig: {}, createdAt: 1 });
      await storage.app("public").insertUser({
        id: "11111111-1111-1111-1111-111111111111",
        recipeId: "emailpassword",
        email: "bare@example.com",
        passwordHash: await bcrypt.hash("bare-pass", 4),
        timeJoined: 5,
        tenantIds: ["public"],
      });
      const { report, text } = await exportTo({ schema: bare, appId: "public" });
      const [user] = ndjson(text).filter((l) => l.type === "user");
      assert.equal(user.roles, null);
      assert.equal(user.metadata, null);
      assert.equal(report.usersWithRoles, null);
      assert.deepEqual(report.signingKeys, { dynamic: 0, static: 0 });
    } finally {
      await pool.query(`DROP SCHEMA "${bare}" CASCADE`);
    }
  });

  it("refuses a schema without the core's tables and an unknown app, naming the fix", async () => {
    await assert.rejects(exportTo({ schema: "pg_catalog" }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "ERR_MIGRATE_BAD_INPUT");
      assert.match(err.message, /no table emailpassword_users in schema "pg_catalog".*--schema/);
      return true;
    });
    await assert.rejects(exportTo({ appId: "no-such-app" }), (err: { code?: string; message: string }) => {
      assert.equal(err.code, "ERR_MIGRATE_BAD_INPUT");
      assert.ok(err.message.includes(appId), "lists the apps that exist");
      return true;
    });
    await assert.rejects(exportTo({ format: "xml" as never }), { code: "ERR_MIGRATE_INVALID_OPTION" });
    await assert.rejects(exportTo({ pagesize: 10 } as never), /unknown option `pagesize`. Did you mean `pageSize`\?/);
  });

  it("CLI: exits 1 with the reason and leaves no partial file behind", async () => {
    const out = join(dir, "never.ndjson");
    await assert.rejects(cli(["--out", out, "--app-id", "no-such-app"]), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? "", /supertokens-migrate: export: app "no-such-app" not found/);
      return true;
    });
    await assert.rejects(stat(out), { code: "ENOENT" });
  });
});

// Keep the report type in use so a change to its shape is a compile error here.
export type { ExportReport };
