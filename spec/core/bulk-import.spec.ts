/**
 * The dev core's bulk-import API (§2.8): validation with the core's wording, the queue, background processing
 * that never overwrites, and the synchronous single-user import.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";

let core: DevCore;
let hash: string;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
  hash = await bcrypt.hash("legacy-pw", 4);
});
after(() => core.close());

async function call(uri: string, method: string, path: string, body?: unknown) {
  const res = await fetch(uri + path, {
    method,
    headers: { "cdi-version": "5.4", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the core's JSON, asserted field by field
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

const epUser = (email: string, extra: Record<string, unknown> = {}, lm: Record<string, unknown> = {}) => ({
  ...extra,
  loginMethods: [{ recipeId: "emailpassword", email, passwordHash: hash, hashingAlgorithm: "bcrypt", ...lm }],
});

async function until(check: () => Promise<boolean>, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const queued = async (uri: string, status?: string) =>
  (await call(uri, "GET", `/bulk-import/users/count${status ? `?status=${status}` : ""}`)).json.count as number;

const signIn = async (uri: string, email: string, password: string) =>
  (await call(uri, "POST", "/public/recipe/signin", { email, password })).json;

describe("POST /bulk-import/users", () => {
  it("answers 400 with every invalid user's errors, in the core's JSON shape, and queues nobody", async () => {
    const uri = await createCoreApp(core.url);
    const res = await call(uri, "POST", "/bulk-import/users", {
      users: [
        { loginMethods: [] },
        epUser("ok@example.com", { externalUserId: "same" }),
        epUser("b@example.com", { externalUserId: "same" }, { passwordHash: "plain", hashingAlgorithm: "BCRYPT" }),
        epUser("c@example.com", {
          userRoles: [{ role: "admin", tenantIds: ["public"] }],
          totpDevices: [{ secretKey: "k" }],
        }),
        {
          loginMethods: [
            { recipeId: "thirdparty", email: "d@example.com", thirdPartyId: "google", thirdPartyUserId: "1" },
          ],
        },
        epUser("e@example.com", {}, { timeJoinedInMSSinceEpoch: Date.now() + 60_000, hashingAlgorithm: "md5" }),
        { loginMethods: [{ recipeId: "emailpassword", email: "f@example.com" }] },
      ],
    });
    assert.equal(res.status, 400);
    assert.match(res.text, /\n$/);
    assert.deepEqual(res.json, {
      error: "Data has missing or invalid fields. Please check the users field for more details.",
      users: [
        { index: 0, errors: ["At least one loginMethod is required."] },
        {
          index: 2,
          errors: [
            "Password hash is in invalid BCrypt format",
            "externalUserId same is not unique. It is already used by another user.",
          ],
        },
        {
          index: 3,
          errors: [
            "userRoles are not supported by the supertokens-migrate dev core, which has no user roles recipe.",
            "MFA must be enabled to import totp devices; the supertokens-migrate dev core has no TOTP support.",
          ],
        },
        {
          index: 4,
          errors: [
            "thirdparty login methods are not supported by the supertokens-migrate dev core, which has " +
              "email-password users only.",
          ],
        },
        {
          index: 5,
          errors: [
            "timeJoined cannot be in future for a loginMethod.",
            "Invalid hashingAlgorithm for emailpassword recipe. Pass one of bcrypt, argon2 or, firebase_scrypt!",
          ],
        },
        {
          index: 6,
          errors: [
            "Either (passwordHash, hashingAlgorithm) or plainTextPassword is required for an emailpassword recipe.",
          ],
        },
      ],
    });
    assert.equal(await queued(uri), 0);
  });

  it("refuses more than 10,000 users and accepts an empty list", async () => {
    const uri = await createCoreApp(core.url);
    const big = await call(uri, "POST", "/bulk-import/users", {
      users: Array.from({ length: 10_001 }, (_, i) => epUser(`u${i}@x.io`)),
    });
    assert.equal(big.status, 400);
    assert.deepEqual(big.json, { error: "You can only add 10000 users at a time." });
    assert.deepEqual((await call(uri, "POST", "/bulk-import/users", { users: [] })).json, { status: "OK" });
  });

  it("is app-specific: a non-public tenant gets 403", async () => {
    const uri = await createCoreApp(core.url);
    await call(uri, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
    const res = await call(uri, "GET", "/t1/bulk-import/users/count");
    assert.equal(res.status, 403);
  });
});

describe("the queue and its processing", () => {
  it(
    "stores users as NEW while the job is stopped, pages and removes them, then imports them when " + "started",
    async () => {
      const own = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
      try {
        const uri = await createCoreApp(own.url);
        assert.deepEqual((await call(uri, "POST", "/bulk-import/backgroundjob", { command: "STOP" })).json, {
          status: "OK",
          jobStatus: "INACTIVE",
        });
        const joined = Date.now() - 86_400_000;
        const users = [
          epUser(
            "Alice@Example.com ",
            { externalUserId: "legacy-1", userMetadata: { plan: "pro" } },
            { isVerified: true, timeJoinedInMSSinceEpoch: joined },
          ),
          epUser("bob@example.com", { externalUserId: "legacy-2" }),
          epUser(
            "carol@example.com",
            {},
            { passwordHash: undefined, hashingAlgorithm: undefined, plainTextPassword: "carol-pw" },
          ),
        ];
        const added = await call(uri, "POST", "/bulk-import/users", { users });
        assert.equal(added.json.status, "OK");
        assert.equal(added.json.users[0].userId, "legacy-1");
        assert.deepEqual(added.json.users[0].loginMethods[0], {
          recipeId: "emailpassword",
          userId: "legacy-1",
          tenants: ["public"],
          email: "alice@example.com",
        });
        assert.equal(await queued(uri, "NEW"), 3);

        const page1 = await call(uri, "GET", "/bulk-import/users?limit=2&status=NEW");
        assert.equal(page1.json.users.length, 2);
        assert.equal(page1.json.users[0].status, "NEW");
        assert.ok(page1.json.nextPaginationToken);
        const page2 = await call(
          uri,
          "GET",
          `/bulk-import/users?limit=2&paginationToken=${encodeURIComponent(page1.json.nextPaginationToken)}`,
        );
        assert.equal(page2.json.users.length, 1);
        assert.equal(page2.json.nextPaginationToken, undefined);
        const all = [...page1.json.users, ...page2.json.users];
        assert.equal(new Set(all.map((u) => u.id)).size, 3);

        const bob = all.find((u) => u.externalUserId === "legacy-2");
        const removed = await call(uri, "POST", "/bulk-import/users/remove", { ids: [bob.id, "no-such-id"] });
        assert.deepEqual(removed.json, { deletedIds: [bob.id], invalidIds: ["no-such-id"] });
        assert.deepEqual((await call(uri, "POST", "/bulk-import/users/remove", { ids: [] })).json, {
          deletedIds: [],
          invalidIds: [],
        });

        assert.equal(
          (await call(uri, "POST", "/bulk-import/backgroundjob", { command: "START" })).json.jobStatus,
          "ACTIVE",
        );
        await until(async () => (await queued(uri)) === 0);

        const alice = await signIn(uri, "alice@example.com", "legacy-pw");
        assert.equal(alice.status, "OK");
        assert.equal(alice.user.id, "legacy-1");
        assert.equal(alice.user.timeJoined, joined);
        assert.equal(alice.user.loginMethods[0].verified, true);
        assert.deepEqual((await call(uri, "GET", "/recipe/user/metadata?userId=legacy-1")).json.metadata, {
          plan: "pro",
        });
        assert.equal((await signIn(uri, "carol@example.com", "carol-pw")).status, "OK");
        assert.equal((await signIn(uri, "bob@example.com", "legacy-pw")).status, "WRONG_CREDENTIALS_ERROR");
      } finally {
        await own.close();
      }
    },
  );

  it(
    "fails a user whose email or external id exists, marks it FAILED with the reason, and changes " + "nothing",
    async () => {
      const uri = await createCoreApp(core.url);
      const signUp = await call(uri, "POST", "/public/recipe/signup", {
        email: "taken@example.com",
        password: "current-pw",
      });
      assert.equal(signUp.json.status, "OK");
      await call(uri, "POST", "/bulk-import/users", {
        users: [epUser("first@example.com", { externalUserId: "legacy-x" })],
      });
      await until(async () => (await queued(uri)) === 0);
      await call(uri, "POST", "/bulk-import/users", {
        users: [
          epUser("taken@example.com", { externalUserId: "legacy-y" }),
          epUser("other@example.com", { externalUserId: "legacy-x" }),
        ],
      });
      await until(async () => (await queued(uri, "FAILED")) === 2);
      const failed = (await call(uri, "GET", "/bulk-import/users?status=FAILED")).json.users;
      const messages = Object.fromEntries(
        failed.map((u: { externalUserId: string; errorMessage: string }) => [u.externalUserId, u.errorMessage]),
      );
      assert.deepEqual(messages, {
        "legacy-y": "E003: A user with email taken@example.com already exists in emailpassword loginMethod.",
        "legacy-x": "E031: A user with externalId legacy-x already exists",
      });
      assert.equal((await signIn(uri, "taken@example.com", "current-pw")).status, "OK");
      assert.equal((await signIn(uri, "taken@example.com", "legacy-pw")).status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await signIn(uri, "other@example.com", "legacy-pw")).status, "WRONG_CREDENTIALS_ERROR");
      assert.equal((await call(uri, "GET", "/users/count")).json.count, 2);
      // The rolled-back user left no mapping behind.
      assert.equal(
        (await call(uri, "GET", "/recipe/userid/map?userId=legacy-y&userIdType=EXTERNAL")).json.status,
        "UNKNOWN_MAPPING_ERROR",
      );
    },
  );
});

describe("POST /bulk-import/import", () => {
  it("imports one user at once, and refuses an existing email with the core's error shape", async () => {
    const uri = await createCoreApp(core.url);
    const res = await call(
      uri,
      "POST",
      "/bulk-import/import",
      epUser("one@example.com", { externalUserId: "legacy-one" }),
    );
    assert.equal(res.json.status, "OK");
    assert.equal(res.json.user.id, "legacy-one");
    assert.equal((await signIn(uri, "one@example.com", "legacy-pw")).user.id, "legacy-one");
    const again = await call(
      uri,
      "POST",
      "/bulk-import/import",
      epUser("one@example.com", { externalUserId: "legacy-two" }),
    );
    assert.equal(again.status, 400);
    assert.deepEqual(again.json, {
      errors: ["E003: A user with email one@example.com already exists in emailpassword loginMethod."],
    });
    const invalid = await call(uri, "POST", "/bulk-import/import", { loginMethods: [] });
    assert.deepEqual(invalid.json, { errors: ["At least one loginMethod is required."] });
  });
});
