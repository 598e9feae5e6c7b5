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
        { loginMethods: [{ recipeId: "thirdparty", email: "d@example.com", thirdPartyId: "x".repeat(29) }] },
        epUser("e@example.com", {}, { timeJoinedInMSSinceEpoch: Date.now() + 60_000, hashingAlgorithm: "md5" }),
        { loginMethods: [{ recipeId: "emailpassword", email: "f@example.com" }] },
        {
          loginMethods: [
            { recipeId: "passwordless", phoneNumber: "+1".padEnd(257, "5") },
            { recipeId: "passwordless" },
          ],
        },
        {
          loginMethods: [
            {
              recipeId: "thirdparty",
              email: "g@example.com",
              thirdPartyId: "google",
              thirdPartyUserId: "g",
              isPrimary: true,
            },
            { recipeId: "passwordless", email: " G@Example.com ", isPrimary: true },
          ],
        },
        {
          loginMethods: [
            { recipeId: "thirdparty", email: "h@example.com", thirdPartyId: "google", thirdPartyUserId: "h" },
            { recipeId: "passwordless", phoneNumber: "+14155550100" },
          ],
        },
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
            "Role admin does not exist.",
            "MFA must be enabled to import totp devices; the supertokens-migrate dev core has no TOTP support.",
          ],
        },
        {
          index: 4,
          errors: [
            "thirdPartyUserId is required for a thirdparty recipe.",
            `thirdPartyId ${"x".repeat(29)} is too long. Max length is 28.`,
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
        {
          index: 7,
          errors: [
            `phoneNumber ${"+1".padEnd(257, "5")} is too long. Max length is 256.`,
            "Either email or phoneNumber is required for a passwordless recipe.",
          ],
        },
        { index: 8, errors: ["No two loginMethods can have isPrimary as true."] },
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

        // The id the core generated for a user without externalUserId is the row's id and its login method's
        // superTokensUserId: the user is created under it.
        const carol = all.find((u) => u.loginMethods[0].email === "carol@example.com");
        assert.equal(carol.externalUserId, undefined);
        assert.match(carol.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        assert.equal(carol.loginMethods[0].superTokensUserId, carol.id);
        // The POST answered each user's id (external, else generated), and each login method's SuperTokens id.
        const aliceRow = all.find((u) => u.externalUserId === "legacy-1");
        assert.deepEqual(added.json.users, [
          {
            userId: "legacy-1",
            loginMethods: [
              {
                recipeId: "emailpassword",
                userId: aliceRow.loginMethods[0].superTokensUserId,
                tenants: ["public"],
                email: "alice@example.com",
              },
            ],
          },
          {
            userId: "legacy-2",
            loginMethods: [
              {
                recipeId: "emailpassword",
                userId: all.find((u) => u.externalUserId === "legacy-2").id,
                tenants: ["public"],
                email: "bob@example.com",
              },
            ],
          },
          {
            userId: carol.id,
            loginMethods: [
              { recipeId: "emailpassword", userId: carol.id, tenants: ["public"], email: "carol@example.com" },
            ],
          },
        ]);
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
        assert.equal((await signIn(uri, "carol@example.com", "carol-pw")).user.id, carol.id);
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

describe("failure messages when the queue is processed, with the core's E0xx codes", () => {
  const failedMessages = async (uri: string) =>
    Object.fromEntries(
      (await call(uri, "GET", "/bulk-import/users?status=FAILED")).json.users.map(
        (u: { externalUserId: string; errorMessage: string }) => [u.externalUserId, u.errorMessage],
      ),
    );

  it("E030: an external id that is a SuperTokens user id, in the words the core prints", async () => {
    const uri = await createCoreApp(core.url);
    const existing = (
      await call(uri, "POST", "/public/recipe/signup", { email: "st@example.com", password: "pw-123456" })
    ).json.user.id as string;
    await call(uri, "POST", "/bulk-import/users", {
      users: [epUser("e030@example.com", { externalUserId: existing })],
    });
    await until(async () => (await queued(uri, "FAILED")) === 1);
    assert.deepEqual(await failedMessages(uri), {
      [existing]:
        "E030: io.supertokens.pluginInterface.bulkimport.exceptions.BulkImportBatchInsertException: " +
        "useridmapping errors",
    });
    assert.equal((await signIn(uri, "e030@example.com", "legacy-pw")).status, "WRONG_CREDENTIALS_ERROR");
  });

  it("E003 when the email is taken in the first tenant, E014 when only in another of the user's tenants", async () => {
    const uri = await createCoreApp(core.url);
    await call(uri, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
    await call(uri, "POST", "/t1/recipe/signup", { email: "in-t1@example.com", password: "pw-123456" });
    await call(uri, "POST", "/public/recipe/signup", { email: "in-public@example.com", password: "pw-123456" });
    await call(uri, "POST", "/bulk-import/users", {
      users: [
        epUser("in-t1@example.com", { externalUserId: "e014" }, { tenantIds: ["public", "t1"] }),
        epUser("in-public@example.com", { externalUserId: "e003" }, { tenantIds: ["public", "t1"] }),
      ],
    });
    await until(async () => (await queued(uri, "FAILED")) === 2);
    const failed = (await call(uri, "GET", "/bulk-import/users?status=FAILED")).json.users as {
      externalUserId: string;
      errorMessage: string;
      loginMethods: { superTokensUserId: string }[];
    }[];
    const e014 = failed.find((u) => u.externalUserId === "e014")!;
    assert.deepEqual(await failedMessages(uri), {
      e014:
        `E014: We tried to add the userId ${e014.loginMethods[0].superTokensUserId} to the tenantId t1 but ` +
        "another user with email in-t1@example.com already exists.",
      e003: "E003: A user with email in-public@example.com already exists in emailpassword loginMethod.",
    });
  });

  it(
    "validates each user again: a tenant deleted since the POST, an external id queued twice in one tick " +
      "(the Java list of errors, no code)",
    async () => {
      const own = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
      try {
        const uri = await createCoreApp(own.url);
        await call(uri, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "gone" });
        await call(uri, "POST", "/bulk-import/backgroundjob", { command: "STOP" });
        await call(uri, "POST", "/bulk-import/users", {
          users: [epUser("t@example.com", { externalUserId: "tenantless" }, { tenantIds: ["gone"] })],
        });
        // Two requests, so the POST's own uniqueness check does not see them together; the tick does.
        for (const email of ["first@example.com", "second@example.com"]) {
          await call(uri, "POST", "/bulk-import/users", { users: [epUser(email, { externalUserId: "twice" })] });
        }
        await call(uri, "POST", "/recipe/multitenancy/tenant/remove", { tenantId: "gone" });
        await call(uri, "POST", "/bulk-import/backgroundjob", { command: "START" });
        await until(async () => (await queued(uri, "NEW")) + (await queued(uri, "PROCESSING")) === 0);
        const failed = (await call(uri, "GET", "/bulk-import/users?status=FAILED")).json.users as {
          externalUserId: string;
          errorMessage: string;
          loginMethods: { email: string }[];
        }[];
        assert.equal(failed.length, 2);
        const tenantless = failed.find((u) => u.externalUserId === "tenantless")!;
        const loginMethod = String.raw`io\.supertokens\.pluginInterface\.bulkimport\.BulkImportUser\$LoginMethod`;
        assert.match(
          tenantless.errorMessage,
          new RegExp(
            String.raw`^\[Invalid tenantId: gone for emailpassword recipe\., ` +
              String.raw`LoginMethod '${loginMethod}@[0-9a-f]+' has no tenantId\]$`,
          ),
        );
        const twice = failed.find((u) => u.externalUserId === "twice")!;
        assert.equal(twice.loginMethods[0].email, "second@example.com");
        assert.equal(twice.errorMessage, "[externalUserId twice is not unique. It is already used by another user.]");
        assert.equal((await signIn(uri, "first@example.com", "legacy-pw")).user.id, "twice");
      } finally {
        await own.close();
      }
    },
  );
});

describe("input the core's parsers refuse", () => {
  it("an explicit JSON null: InputParser's message for a top-level field, a wrong type inside a user", async () => {
    const uri = await createCoreApp(core.url);
    const users = await call(uri, "POST", "/bulk-import/users", { users: null });
    assert.deepEqual([users.status, users.text], [400, "Field name 'users' is invalid in JSON input\n"]);
    const ids = await call(uri, "POST", "/bulk-import/users/remove", { ids: null });
    assert.deepEqual([ids.status, ids.text], [400, "Field name 'ids' is invalid in JSON input\n"]);
    const idNull = await call(uri, "POST", "/bulk-import/users/remove", { ids: [null] });
    assert.deepEqual([idNull.status, idNull.text], [400, "Field name 'ids' is invalid in JSON input\n"]);
    const fields = await call(uri, "POST", "/bulk-import/users", {
      users: [epUser("n@example.com", { externalUserId: null, userMetadata: null }, { isVerified: null })],
    });
    assert.equal(fields.status, 400);
    assert.deepEqual(fields.json.users[0].errors, [
      "externalUserId should be of type string.",
      "userMetadata should be of type object.",
      "isVerified should be of type boolean for a loginMethod.",
    ]);
    // users.get(i).getAsJsonObject() throws outside the validation: the generic 500 for the request.
    const entry = await call(uri, "POST", "/bulk-import/users", { users: [null] });
    assert.deepEqual([entry.status, entry.text], [500, "Internal Error\n"]);
    assert.equal(await queued(uri), 0);
  });

  it("tenantIds: other ids than public trimmed and lower-cased, unknown ones named, no tenant last", async () => {
    const uri = await createCoreApp(core.url);
    await call(uri, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
    const refused = await call(uri, "POST", "/bulk-import/users", {
      users: [
        epUser("a@example.com", { externalUserId: "x".repeat(129) }, { tenantIds: ["nope"] }),
        { loginMethods: [{ email: "b@example.com", tenantIds: ["nope"] }] },
        epUser("c@example.com", {}, { tenantIds: [" "] }),
      ],
    });
    assert.equal(refused.status, 400);
    const [a, b, c] = refused.json.users as { errors: string[] }[];
    assert.equal(a.errors.length, 3);
    assert.equal(a.errors[0], "Invalid tenantId: nope for emailpassword recipe.");
    assert.equal(a.errors[1], `externalUserId ${"x".repeat(129)} is too long. Max length is 128.`);
    assert.match(a.errors[2], /^LoginMethod '.*' has no tenantId$/);
    // No recipe: Java prints null, and the login method is not kept, so no tenant check.
    assert.deepEqual(b.errors, ["recipeId is required for a loginMethod.", "Invalid tenantId: nope for null recipe."]);
    assert.deepEqual(c.errors, ["tenantIds should be of type array of string for a loginMethod."]);

    const own = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
    try {
      const stopped = await createCoreApp(own.url);
      await call(stopped, "PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
      await call(stopped, "POST", "/bulk-import/backgroundjob", { command: "STOP" });
      const ok = await call(stopped, "POST", "/bulk-import/users", {
        users: [epUser("d@example.com", {}, { tenantIds: [" T1 ", "public"] })],
      });
      assert.equal(ok.status, 200);
      const row = (await call(stopped, "GET", "/bulk-import/users")).json.users[0];
      assert.deepEqual(row.loginMethods[0].tenantIds, ["t1", "public"]);
    } finally {
      await own.close();
    }
  });
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
