/**
 * The CoreStorage contract, run unchanged against every backend: the in-memory storage, PostgresStorage on a
 * real PostgreSQL through a pg.Pool, and PostgresStorage on PGlite (the demo's driver). Where PostgresStorage
 * knowingly differs (documented in lib/core/storage/postgres.ts) the case avoids the difference and a
 * Postgres-only case in postgres-storage.spec.ts pins the Postgres behaviour.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import pg from "pg";
import { PGlite } from "@electric-sql/pglite";
import {
  MemoryStorage,
  PostgresStorage,
  type CoreStorage,
  type SessionRecord,
  type UserRecord,
  type EmailPasswordUserRecord,
  type PasswordlessUserRecord,
  type ThirdPartyUserRecord,
} from "../../lib/core/index.js";
import { requireEnv, uniqueId } from "../helpers/services.js";

interface Backend {
  name: string;
  open(): Promise<{ storage: CoreStorage; close(): Promise<void> }>;
}

const backends: Backend[] = [
  { name: "MemoryStorage", open: async () => ({ storage: new MemoryStorage(), close: async () => {} }) },
  {
    name: "PostgresStorage on pg.Pool",
    async open() {
      const pool = new pg.Pool({ connectionString: requireEnv("DATABASE_URL"), max: 20 });
      const schema = `stm_contract_${uniqueId()}`;
      const storage = await PostgresStorage.create(pool, { schema });
      return {
        storage,
        async close() {
          await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
          await pool.end();
        },
      };
    },
  },
  {
    name: "PostgresStorage on PGlite",
    async open() {
      const db = new PGlite();
      const storage = await PostgresStorage.create(db, { schema: "core" });
      return { storage, close: () => db.close() };
    },
  },
];

const ids = () => randomUUID();

function user(over: Partial<EmailPasswordUserRecord> = {}): EmailPasswordUserRecord {
  return {
    id: ids(),
    recipeId: "emailpassword",
    email: `${uniqueId()}@example.com`,
    passwordHash: "$2b$04$hash",
    timeJoined: 1_000,
    tenantIds: ["public"],
    ...over,
  };
}

function session(over: Partial<SessionRecord> = {}): SessionRecord {
  return {
    handle: ids(),
    userId: "user-1",
    recipeUserId: "user-1",
    tenantId: "public",
    userDataInJWT: { a: 1 },
    userDataInDatabase: { b: [2] },
    refreshTokenHash2: "h2-0",
    expiry: Date.now() + 60_000,
    createdAt: Date.now(),
    useStaticKey: false,
    ...over,
  };
}

function rsaPem() {
  return generateKeyPairSync("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
}

const sorted = <T>(xs: T[]) => [...xs].sort();

for (const backend of backends) {
  describe(`storage contract: ${backend.name}`, () => {
    let storage: CoreStorage;
    let close: () => Promise<void>;
    before(async () => {
      ({ storage, close } = await backend.open());
    });
    after(() => close());

    /** A fresh app with its public tenant and a second tenant "t1". */
    async function freshApp() {
      const appId = `a${uniqueId()}`;
      await storage.putApp({ appId, coreConfig: {}, createdAt: 1 });
      if (!(await storage.getTenant(appId, "public")))
        await storage.putTenant(appId, { tenantId: "public", coreConfig: {} });
      await storage.putTenant(appId, {
        tenantId: "t1",
        coreConfig: { bcrypt_log_rounds: 5 },
        firstFactors: ["emailpassword"],
      });
      return { appId, s: storage.app(appId) };
    }

    describe("apps and tenants", () => {
      it("stores, lists and deletes apps with their config and factors", async () => {
        const appId = `a${uniqueId()}`;
        assert.equal(await storage.getApp(appId), undefined);
        await storage.putApp({
          appId,
          coreConfig: { access_token_validity: 60 },
          createdAt: 1234,
          firstFactors: ["emailpassword", "otp-email"],
        });
        const app = await storage.getApp(appId);
        assert.equal(app?.appId, appId);
        assert.equal(app?.createdAt, 1234);
        assert.deepEqual(app?.coreConfig, { access_token_validity: 60 });
        assert.deepEqual(sorted(app?.firstFactors ?? []), ["emailpassword", "otp-email"]);
        assert.equal(app?.requiredSecondaryFactors ?? null, null);
        await storage.putApp({ appId, coreConfig: { access_token_validity: 61 }, createdAt: 1234, firstFactors: null });
        const again = await storage.getApp(appId);
        assert.deepEqual(again?.coreConfig, { access_token_validity: 61 });
        assert.equal(again?.firstFactors ?? null, null);
        assert.ok((await storage.listApps()).some((a) => a.appId === appId));
        assert.equal(await storage.deleteApp(appId), true);
        assert.equal(await storage.deleteApp(appId), false);
        assert.equal(await storage.getApp(appId), undefined);
      });

      it(
        "stores non-public tenants with config, first factors (empty is not null) and required secondary " + "factors",
        async () => {
          const { appId } = await freshApp();
          const t1 = await storage.getTenant(appId, "t1");
          assert.deepEqual(t1?.coreConfig, { bcrypt_log_rounds: 5 });
          assert.deepEqual(t1?.firstFactors, ["emailpassword"]);
          await storage.putTenant(appId, {
            tenantId: "t2",
            coreConfig: {},
            firstFactors: [],
            requiredSecondaryFactors: ["totp"],
          });
          const t2 = await storage.getTenant(appId, "t2");
          assert.deepEqual(t2?.firstFactors, []);
          assert.deepEqual(t2?.requiredSecondaryFactors, ["totp"]);
          assert.deepEqual(sorted((await storage.listTenants(appId)).map((t) => t.tenantId)), ["public", "t1", "t2"]);
          assert.equal(await storage.deleteTenant(appId, "t2"), true);
          assert.equal(await storage.deleteTenant(appId, "t2"), false);
          assert.equal(await storage.getTenant(appId, "t2"), undefined);
        },
      );
    });

    describe("signing keys", () => {
      it("keeps dynamic and static keys byte-identical and removes by kid", async () => {
        const { s } = await freshApp();
        const dyn = { kid: "d-1700000000000", type: "dynamic" as const, createdAt: 1_700_000_000_000, ...rsaPem() };
        const stat = { kid: `s-${ids()}`, type: "static" as const, createdAt: 1_700_000_000_001, ...rsaPem() };
        const refresh = {
          kid: "r-1",
          type: "refresh" as const,
          createdAt: 1_700_000_000_002,
          privateKey: "c2VjcmV0",
          publicKey: "",
        };
        await s.addSigningKey(dyn);
        await s.addSigningKey(stat);
        await s.addSigningKey(refresh);
        const keys = await s.listSigningKeys();
        assert.deepEqual(
          keys.find((k) => k.type === "dynamic"),
          dyn,
        );
        assert.deepEqual(
          keys.find((k) => k.type === "static"),
          stat,
        );
        assert.equal(keys.find((k) => k.type === "refresh")?.privateKey, "c2VjcmV0");
        await s.removeSigningKeys([dyn.kid]);
        assert.deepEqual((await s.listSigningKeys()).map((k) => k.type).sort(), ["refresh", "static"]);
      });
    });

    describe("sessions", () => {
      it("creates, reads, patches, finds by user and deletes", async () => {
        const { s } = await freshApp();
        const a = session({ userId: "u-a", recipeUserId: "u-a" });
        const b = session({ userId: "u-a", recipeUserId: "u-a", tenantId: "t1", handle: `${ids()}_t1` });
        const expired = session({ userId: "u-a", recipeUserId: "u-a", expiry: Date.now() - 1 });
        for (const x of [a, b, expired]) await s.createSession(x);
        assert.deepEqual(await s.getSession(a.handle), a);
        assert.equal(await s.getSession("nope"), undefined);

        assert.equal(await s.updateSession(a.handle, { userDataInJWT: { c: 3 } }), true);
        assert.equal(await s.updateSession(a.handle, { useStaticKey: true, userDataInDatabase: {} }), true);
        assert.deepEqual(await s.getSession(a.handle), {
          ...a,
          userDataInJWT: { c: 3 },
          userDataInDatabase: {},
          useStaticKey: true,
        });
        assert.equal(await s.updateSession("nope", { useStaticKey: true }), false);

        assert.deepEqual(sorted(await s.findSessionHandles(["u-a"], Date.now())), sorted([a.handle, b.handle]));
        assert.deepEqual(await s.findSessionHandles(["u-a"], Date.now(), "t1"), [b.handle]);
        assert.deepEqual(sorted(await s.findSessionHandles(["u-a"], 0)), sorted([a.handle, b.handle, expired.handle]));
        assert.deepEqual(await s.deleteSessions(["nope", b.handle, a.handle]), [b.handle, a.handle]);
        assert.deepEqual(await s.deleteSessions([b.handle]), []);
      });

      it("rotates only from the expected refresh hash; of concurrent rotations exactly one wins", async () => {
        const { s } = await freshApp();
        const x = session();
        await s.createSession(x);
        assert.equal(await s.rotateSession(x.handle, "wrong", { refreshTokenHash2: "h2-1", expiry: 5 }), false);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            s.rotateSession(x.handle, "h2-0", { refreshTokenHash2: `h2-${i + 1}`, expiry: x.expiry + i }),
          ),
        );
        assert.equal(results.filter(Boolean).length, 1);
        const winner = results.indexOf(true);
        const stored = await s.getSession(x.handle);
        assert.equal(stored?.refreshTokenHash2, `h2-${winner + 1}`);
        assert.equal(stored?.expiry, x.expiry + winner);
      });
    });

    describe("email-password users", () => {
      it("refuses a second user with the same email in a shared tenant, allows it in another tenant", async () => {
        const { s } = await freshApp();
        const u = user({ email: "same@example.com" });
        assert.equal(await s.insertUser(u), "OK");
        assert.equal(await s.insertUser(user({ email: "same@example.com" })), "EMAIL_ALREADY_EXISTS");
        assert.equal(
          await s.insertUser(user({ email: "same@example.com", tenantIds: ["t1", "public"] })),
          "EMAIL_ALREADY_EXISTS",
        );
        const other = user({ email: "same@example.com", tenantIds: ["t1"] });
        assert.equal(await s.insertUser(other), "OK");
        assert.deepEqual(await s.getUser(u.id), u);
        assert.deepEqual(
          (await s.findUsersByEmail("same@example.com", "public")).map((x) => x.id),
          [u.id],
        );
        assert.deepEqual(
          (await s.findUsersByEmail("same@example.com", "t1")).map((x) => x.id),
          [other.id],
        );
        assert.equal(await s.countUsers(), 2);
        assert.equal(await s.countUsers("t1"), 1);
      });

      it("lets exactly one of many concurrent sign-ups with one email through", async () => {
        const { s } = await freshApp();
        const results = await Promise.all(
          Array.from({ length: 16 }, () => s.insertUser(user({ email: "race@example.com" }))),
        );
        assert.equal(results.filter((r) => r === "OK").length, 1);
        assert.equal((await s.findUsersByEmail("race@example.com", "public")).length, 1);
      });

      it(
        "updates email (same email is no change, a taken one is refused), hash and tenants; unknown " + "users",
        async () => {
          const { s } = await freshApp();
          const a = user();
          const b = user();
          await s.insertUser(a);
          await s.insertUser(b);
          assert.equal(await s.updateUser(a.id, { email: a.email }), "OK");
          assert.equal(await s.updateUser(a.id, { email: b.email }), "EMAIL_ALREADY_EXISTS");
          assert.equal(await s.updateUser(a.id, { email: "new@example.com", passwordHash: "$2b$04$other" }), "OK");
          assert.deepEqual(await s.getUser(a.id), { ...a, email: "new@example.com", passwordHash: "$2b$04$other" });
          assert.equal(await s.updateUser(a.id, { tenantIds: ["t1"] }), "OK");
          assert.deepEqual((await s.getUser(a.id))?.tenantIds, ["t1"]);
          assert.equal((await s.findUsersByEmail("new@example.com", "public")).length, 0);
          assert.equal((await s.findUsersByEmail("new@example.com", "t1")).length, 1);
          assert.equal(await s.updateUser("unknown-id", { passwordHash: "x" }), "UNKNOWN_USER");
          assert.equal(await s.deleteUser(a.id), true);
          assert.equal(await s.deleteUser(a.id), false);
          assert.equal(await s.getUser(a.id), undefined);
        },
      );

      it(
        "lists in the core's order (time joined, then id descending) with inclusive pagination and email " + "search",
        async () => {
          const { s } = await freshApp();
          const users = [
            user({ id: "00000000-0000-0000-0000-00000000000a", timeJoined: 10, email: "ann@x.com" }),
            user({ id: "00000000-0000-0000-0000-00000000000b", timeJoined: 10, email: "bob@y.com" }),
            user({ id: "00000000-0000-0000-0000-00000000000c", timeJoined: 5, email: "cy@x.com", tenantIds: ["t1"] }),
            user({ id: "00000000-0000-0000-0000-00000000000d", timeJoined: 20, email: "di@z.com" }),
          ];
          for (const u of users) assert.equal(await s.insertUser(u), "OK");
          const idsOf = (xs: UserRecord[]) => xs.map((u) => u.id.slice(-1));
          assert.deepEqual(idsOf(await s.listUsers({ order: "ASC", limit: 10 })), ["c", "b", "a", "d"]);
          assert.deepEqual(idsOf(await s.listUsers({ order: "DESC", limit: 10 })), ["d", "b", "a", "c"]);
          assert.deepEqual(
            idsOf(await s.listUsers({ order: "ASC", limit: 2, from: { id: users[0].id, timeJoined: 10 } })),
            ["a", "d"],
          );
          assert.deepEqual(
            idsOf(await s.listUsers({ order: "DESC", limit: 2, from: { id: users[0].id, timeJoined: 10 } })),
            ["a", "c"],
          );
          assert.deepEqual(idsOf(await s.listUsers({ order: "ASC", limit: 10, tenantId: "public" })), ["b", "a", "d"]);
          assert.deepEqual(idsOf(await s.listUsers({ order: "ASC", limit: 10, emailContains: ["@x.", "di"] })), [
            "c",
            "a",
            "d",
          ]);
        },
      );
    });

    describe("third-party and passwordless users", () => {
      const tp = (over: Partial<ThirdPartyUserRecord> = {}): ThirdPartyUserRecord => ({
        id: ids(),
        recipeId: "thirdparty",
        email: `${uniqueId()}@example.com`,
        thirdParty: { id: "google", userId: uniqueId() },
        timeJoined: Date.now(),
        tenantIds: ["public"],
        ...over,
      });
      const pl = (over: Partial<PasswordlessUserRecord> = {}): PasswordlessUserRecord => ({
        id: ids(),
        recipeId: "passwordless",
        timeJoined: Date.now(),
        tenantIds: ["public"],
        ...over,
      });

      it("keeps a provider identity unique per tenant, not its email, and finds users by account info", async () => {
        const { s } = await freshApp();
        const a = tp({ email: "same@example.com", thirdParty: { id: "google", userId: "g-1" }, timeJoined: 1 });
        assert.equal(await s.insertUser(a), "OK");
        assert.equal(
          await s.insertUser(tp({ thirdParty: { id: "google", userId: "g-1" } })),
          "THIRD_PARTY_USER_ALREADY_EXISTS",
        );
        const other = tp({ thirdParty: { id: "google", userId: "g-1" }, tenantIds: ["t1"] });
        assert.equal(await s.insertUser(other), "OK");
        const b = tp({ email: "same@example.com", thirdParty: { id: "github", userId: "g-1" }, timeJoined: 2 });
        assert.equal(await s.insertUser(b), "OK");
        const e = user({ email: "same@example.com", timeJoined: 3 });
        assert.equal(await s.insertUser(e), "OK");
        assert.deepEqual(await s.getUser(a.id), a);
        assert.deepEqual(
          (await s.findUsersByAccountInfo({ email: "same@example.com" }, "public")).map((u) => u.id),
          [a.id, b.id, e.id],
        );
        assert.deepEqual(
          (await s.findUsersByAccountInfo({ thirdParty: { id: "google", userId: "g-1" } })).map((u) => u.id).sort(),
          [a.id, other.id].sort(),
        );
        assert.deepEqual(
          (await s.findUsersByEmail("same@example.com", "public")).map((u) => u.id),
          [e.id],
        );
        assert.equal(await s.updateUser(a.id, { email: "moved@example.com" }), "OK");
        assert.equal((await s.getUser(a.id))?.email, "moved@example.com");
        assert.equal(await s.countUsers("public", ["thirdparty"]), 2);
        assert.equal(await s.countUsers(undefined, ["thirdparty", "emailpassword"]), 4);
        assert.equal(await s.deleteUser(b.id), true);
        assert.equal(await s.getUser(b.id), undefined);
      });

      it("keeps a passwordless email and phone number unique per tenant; a patch may remove either", async () => {
        const { s } = await freshApp();
        const a = pl({ email: "pl@example.com" });
        const b = pl({ phoneNumber: "+14155550100" });
        assert.equal(await s.insertUser(a), "OK");
        assert.equal(await s.insertUser(b), "OK");
        assert.equal(await s.insertUser(pl({ email: "pl@example.com" })), "EMAIL_ALREADY_EXISTS");
        assert.equal(await s.insertUser(pl({ phoneNumber: "+14155550100" })), "PHONE_NUMBER_ALREADY_EXISTS");
        // An email-password user with the same email is another recipe's.
        assert.equal(await s.insertUser(user({ email: "pl@example.com" })), "OK");
        assert.deepEqual(await s.getUser(b.id), b);
        assert.equal(await s.updateUser(a.id, { phoneNumber: "+14155550100" }), "PHONE_NUMBER_ALREADY_EXISTS");
        assert.equal(await s.updateUser(a.id, { phoneNumber: "+14155550101" }), "OK");
        assert.equal(await s.updateUser(a.id, { email: null }), "OK");
        const { email: _removed, ...withoutEmail } = a;
        assert.deepEqual(await s.getUser(a.id), { ...withoutEmail, phoneNumber: "+14155550101" });
        assert.deepEqual(
          (await s.findUsersByAccountInfo({ phoneNumber: "+14155550101" })).map((u) => u.id),
          [a.id],
        );
        assert.equal(await s.updateUser(b.id, { tenantIds: ["public", "t1"] }), "OK");
        assert.deepEqual((await s.getUser(b.id))?.tenantIds, ["public", "t1"]);
        assert.equal((await s.findUsersByAccountInfo({ phoneNumber: "+14155550100" }, "t1")).length, 1);
      });

      it("links recipe users under a primary user: one listed and counted user, the primary's id kept", async () => {
        const { s } = await freshApp();
        const e = user({ timeJoined: 10 });
        const t = tp({ timeJoined: 20, tenantIds: ["t1"] });
        const lone = user({ timeJoined: 30 });
        for (const u of [e, t, lone]) assert.equal(await s.insertUser(u), "OK");
        assert.equal(await s.setLink(e.id, e.id), true);
        assert.equal(await s.setLink(t.id, e.id), true);
        assert.equal(await s.setLink("unknown", e.id), false);
        assert.deepEqual(await s.getUser(e.id), { ...e, isLinkedOrPrimary: true });
        assert.deepEqual(await s.getUser(t.id), { ...t, primaryOrRecipeUserId: e.id, isLinkedOrPrimary: true });
        assert.deepEqual(
          (await s.getLinkedUsers(e.id)).map((u) => u.id),
          [e.id, t.id],
        );
        assert.equal(await s.countUsers(), 2);
        assert.equal(await s.countUsers("t1"), 1);
        assert.equal(await s.countUsers(undefined, ["thirdparty"]), 1);
        const listed = await s.listUsers({ order: "ASC", limit: 10 });
        assert.deepEqual(
          listed.map((u) => u.id),
          [e.id, lone.id],
        );
        assert.deepEqual(
          (await s.listUsers({ order: "ASC", limit: 10, recipeIds: ["thirdparty"] })).map((u) => u.id),
          [e.id],
        );
        // The primary user's own login method goes; the other keeps the primary's id.
        assert.equal(await s.deleteUser(e.id), true);
        assert.deepEqual(
          (await s.getLinkedUsers(e.id)).map((u) => u.id),
          [t.id],
        );
        assert.equal(await s.countUsers(), 2);
        assert.equal(await s.setLink(t.id, undefined), true);
        assert.deepEqual(await s.getUser(t.id), t);
      });
    });

    describe("user id mapping", () => {
      it("maps both ways, refuses a second mapping on either side, updates info, deletes", async () => {
        const { s } = await freshApp();
        const u = user();
        const v = user();
        await s.insertUser(u);
        await s.insertUser(v);
        assert.equal(
          await s.insertMapping({ superTokensUserId: u.id, externalUserId: "legacy-1", externalUserIdInfo: "info" }),
          "OK",
        );
        assert.equal(await s.insertMapping({ superTokensUserId: u.id, externalUserId: "legacy-2" }), "EXISTS");
        assert.equal(await s.insertMapping({ superTokensUserId: v.id, externalUserId: "legacy-1" }), "EXISTS");
        const m = { superTokensUserId: u.id, externalUserId: "legacy-1", externalUserIdInfo: "info" };
        assert.deepEqual(await s.getMapping(u.id, "SUPERTOKENS"), m);
        assert.deepEqual(await s.getMapping("legacy-1", "EXTERNAL"), m);
        assert.equal(await s.getMapping("legacy-1", "SUPERTOKENS"), undefined);
        assert.equal(await s.updateMappingInfo(u.id, undefined), true);
        assert.deepEqual(await s.getMapping(u.id, "SUPERTOKENS"), {
          superTokensUserId: u.id,
          externalUserId: "legacy-1",
        });
        assert.equal(await s.updateMappingInfo(v.id, "x"), false);
        assert.equal(await s.deleteMapping(u.id), true);
        assert.equal(await s.deleteMapping(u.id), false);
      });
    });

    describe("password reset tokens", () => {
      it("consuming one token deletes every token of its user and returns the row; one winner per token", async () => {
        const { s } = await freshApp();
        const u = user();
        const other = user();
        await s.insertUser(u);
        await s.insertUser(other);
        const t = (tokenHash: string, userId = u.id) => ({
          tokenHash,
          userId,
          email: "r@example.com",
          tenantId: "public",
          expiry: 99,
        });
        await s.addResetToken(t("h1"));
        await s.addResetToken(t("h2"));
        await s.addResetToken(t("h3", other.id));
        assert.deepEqual(sorted((await s.listResetTokens()).map((x) => x.tokenHash)), ["h1", "h2", "h3"]);
        const results = await Promise.all([
          s.consumeResetToken("h2"),
          s.consumeResetToken("h2"),
          s.consumeResetToken("h2"),
        ]);
        assert.deepEqual(results.filter(Boolean), [t("h2")]);
        assert.deepEqual(
          (await s.listResetTokens()).map((x) => x.tokenHash),
          ["h3"],
        );
        assert.equal(await s.consumeResetToken("h1"), undefined);
      });
    });

    describe("user metadata", () => {
      it("gets, sets, replaces and deletes a JSON object per user id", async () => {
        const { s } = await freshApp();
        assert.equal(await s.getMetadata("m1"), undefined);
        await s.setMetadata("m1", { plan: "pro", tags: ["a", "b"], nested: { quote: 'say "hi", ok' } });
        assert.deepEqual(await s.getMetadata("m1"), {
          plan: "pro",
          tags: ["a", "b"],
          nested: { quote: 'say "hi", ok' },
        });
        await s.setMetadata("m1", {});
        assert.deepEqual(await s.getMetadata("m1"), {});
        assert.equal(await s.deleteMetadata("m1"), true);
        assert.equal(await s.deleteMetadata("m1"), false);
      });
    });

    describe("email verification", () => {
      it("verifies, unverifies, moves to another id (merging) and deletes", async () => {
        const { s } = await freshApp();
        await s.setEmailVerified("st-1", "a@x.com", true);
        await s.setEmailVerified("st-1", "a@x.com", true);
        await s.setEmailVerified("st-1", "b@x.com", true);
        await s.setEmailVerified("ext-1", "b@x.com", true);
        assert.equal(await s.isEmailVerified("st-1", "a@x.com"), true);
        await s.addEmailVerificationToken({
          tokenHash: "ev1",
          userId: "st-1",
          email: "a@x.com",
          tenantId: "t1",
          expiry: 7,
        });
        await s.renameEmailVerificationUser("st-1", "ext-1");
        assert.equal(await s.isEmailVerified("st-1", "a@x.com"), false);
        assert.equal(await s.hasEmailVerificationData("st-1"), false);
        assert.equal(await s.isEmailVerified("ext-1", "a@x.com"), true);
        assert.equal(await s.isEmailVerified("ext-1", "b@x.com"), true);
        await s.setEmailVerified("ext-1", "b@x.com", false);
        assert.equal(await s.isEmailVerified("ext-1", "b@x.com"), false);
        assert.deepEqual(await s.consumeEmailVerificationToken("ev1"), {
          tokenHash: "ev1",
          userId: "ext-1",
          email: "a@x.com",
          tenantId: "t1",
          expiry: 7,
        });
        assert.equal(await s.consumeEmailVerificationToken("ev1"), undefined);
        await s.deleteEmailVerificationData("ext-1");
        assert.equal(await s.hasEmailVerificationData("ext-1"), false);
      });

      it("consuming a token deletes the other tokens of that user and email only", async () => {
        const { s } = await freshApp();
        const tok = (tokenHash: string, email: string) => ({
          tokenHash,
          userId: "u",
          email,
          tenantId: "public",
          expiry: 1,
        });
        await s.addEmailVerificationToken(tok("e1", "a@x.com"));
        await s.addEmailVerificationToken(tok("e2", "a@x.com"));
        await s.addEmailVerificationToken(tok("e3", "b@x.com"));
        assert.equal((await s.consumeEmailVerificationToken("e2"))?.tokenHash, "e2");
        assert.equal(await s.consumeEmailVerificationToken("e1"), undefined);
        assert.equal(await s.hasEmailVerificationData("u"), true);
        await s.deleteEmailVerificationTokens("u", "b@x.com");
        assert.equal(await s.hasEmailVerificationData("u"), false);
      });
    });
  });
}
