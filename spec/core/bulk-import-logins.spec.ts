/**
 * The dev core's bulk import of third-party and passwordless login methods, and of several login methods linked into
 * one user, in memory and on PostgreSQL: processed one user at a time (the batched email-password path is not
 * theirs), all or nothing, with the core's failure messages; the imported users as the real SDK sees them.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import supertokens from "supertokens-node";
import EmailPassword from "supertokens-node/recipe/emailpassword";
import Passwordless from "supertokens-node/recipe/passwordless";
import ThirdParty from "supertokens-node/recipe/thirdparty";
import type { DevCore } from "../../lib/core/index.js";
import { coreBackends } from "../helpers/core-backends.js";
import { appInfo, createCoreApp, resetSdk } from "../helpers/sdk.js";

let hash: string;
before(async () => {
  hash = await bcrypt.hash("legacy-pw", 4);
});

async function call(uri: string, method: string, path: string, body?: unknown) {
  const res = await fetch(uri + path, {
    method,
    headers: { "cdi-version": "5.4", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the core's JSON, asserted field by field
  const json: any = await res.json();
  return { status: res.status, json };
}

/** Polls the queue's own count (the processing has no other signal to wait on). */
async function drained(uri: string) {
  const end = Date.now() + 15_000;
  for (;;) {
    const { json } = await call(uri, "GET", "/bulk-import/users/count?status=NEW");
    const { json: busy } = await call(uri, "GET", "/bulk-import/users/count?status=PROCESSING");
    if (json.count === 0 && busy.count === 0) return;
    if (Date.now() > end) throw new Error("the queue was not processed in time");
    await new Promise((r) => setImmediate(r));
  }
}

function initSdk(uri: string) {
  resetSdk();
  supertokens.init({
    supertokens: { connectionURI: uri },
    appInfo,
    recipeList: [
      EmailPassword.init(),
      ThirdParty.init(),
      Passwordless.init({ contactMethod: "EMAIL_OR_PHONE", flowType: "USER_INPUT_CODE" }),
    ],
  });
}

const linkedUser = (n: string) => ({
  externalUserId: `legacy-${n}`,
  userMetadata: { from: "legacy" },
  loginMethods: [
    {
      recipeId: "emailpassword",
      email: `${n}@example.com`,
      passwordHash: hash,
      hashingAlgorithm: "bcrypt",
      isPrimary: true,
      timeJoinedInMSSinceEpoch: 1_600_000_000_000,
    },
    {
      recipeId: "thirdparty",
      email: `${n}@example.com`,
      thirdPartyId: "google",
      thirdPartyUserId: `g-${n}`,
      isVerified: true,
      timeJoinedInMSSinceEpoch: 1_600_000_100_000,
    },
  ],
});

const backends = coreBackends("stm_bulk_logins");

for (const backend of backends) {
  describe(`bulk import of third-party and passwordless logins, ${backend.name}`, () => {
    let core: DevCore;
    let close: () => Promise<void>;
    before(async () => {
      ({ core, close } = await backend.open());
    });
    after(() => close());

    it("queues and imports linked, third-party-only and passwordless users; SDK sign-ins land on them", async () => {
      const uri = await createCoreApp(core.url);
      const added = await call(uri, "POST", "/bulk-import/users", {
        users: [
          linkedUser("ann"),
          {
            externalUserId: "legacy-bob",
            loginMethods: [
              { recipeId: "thirdparty", email: "Bob@Example.com ", thirdPartyId: "github", thirdPartyUserId: "77" },
            ],
          },
          { loginMethods: [{ recipeId: "passwordless", phoneNumber: "+1 415 555 0100", isVerified: true }] },
          // Plain email-password users keep the batched path, in the same chunk.
          {
            loginMethods: [
              { recipeId: "emailpassword", email: "cy@example.com", passwordHash: hash, hashingAlgorithm: "bcrypt" },
            ],
          },
        ],
      });
      assert.equal(added.status, 200);
      assert.equal(added.json.users[0].userId, "legacy-ann");
      assert.deepEqual(
        added.json.users[1].loginMethods.map((lm: Record<string, unknown>) => ({ ...lm, userId: undefined })),
        [
          {
            recipeId: "thirdparty",
            userId: undefined,
            tenants: ["public"],
            email: "bob@example.com",
            thirdpartyId: "github",
            thirdpartyUserId: "77",
          },
        ],
      );
      assert.equal(added.json.users[2].loginMethods[0].phoneNumber, "+14155550100");
      await drained(uri);
      const failed = await call(uri, "GET", "/bulk-import/users?status=FAILED");
      assert.deepEqual(failed.json.users, []);

      initSdk(uri);
      const ann = await supertokens.getUser("legacy-ann");
      assert.ok(ann);
      assert.equal(ann.isPrimaryUser, true);
      assert.deepEqual(
        ann.loginMethods.map((lm) => [lm.recipeId, lm.recipeUserId.getAsString() === "legacy-ann", lm.verified]),
        [
          ["emailpassword", true, false],
          ["thirdparty", false, true],
        ],
      );
      assert.equal(ann.timeJoined, 1_600_000_000_000);
      assert.ok(ann.thirdParty.some((t) => t.id === "google" && t.userId === "g-ann"));
      // The legacy password and the provider identity both sign in as the legacy id.
      const password = await EmailPassword.signIn("public", "ann@example.com", "legacy-pw");
      assert.equal(password.status === "OK" && password.user.id, "legacy-ann");
      const google = await ThirdParty.manuallyCreateOrUpdateUser("public", "google", "g-ann", "ann@example.com", true);
      assert.equal(google.status, "OK");
      assert.equal(google.status === "OK" && google.user.id, "legacy-ann");
      assert.equal(google.status === "OK" && google.createdNewRecipeUser, false);

      const bob = await ThirdParty.manuallyCreateOrUpdateUser("public", "github", "77", "bob@example.com", false);
      assert.equal(bob.status === "OK" && bob.user.id, "legacy-bob");
      assert.equal(bob.status === "OK" && bob.createdNewRecipeUser, false);
      const phone = await supertokens.listUsersByAccountInfo("public", { phoneNumber: "+14155550100" });
      assert.equal(phone.length, 1);
      assert.equal(phone[0].loginMethods[0].recipeId, "passwordless");
      assert.equal((await supertokens.listUsersByAccountInfo("public", { email: "cy@example.com" })).length, 1);
    });

    it("a taken provider identity fails the user with E005 and writes none of its logins", async () => {
      const uri = await createCoreApp(core.url);
      initSdk(uri);
      await ThirdParty.manuallyCreateOrUpdateUser("public", "google", "g-dan", "someone@example.com", false);
      await call(uri, "POST", "/bulk-import/users", { users: [linkedUser("dan")] });
      await drained(uri);
      const failed = await call(uri, "GET", "/bulk-import/users?status=FAILED");
      assert.equal(failed.json.users.length, 1);
      assert.equal(
        failed.json.users[0].errorMessage,
        "E005: A user with thirdPartyId google and thirdPartyUserId g-dan already exists in thirdparty loginMethod.",
      );
      // The email-password login written before it is undone, and no mapping is left.
      assert.deepEqual(await supertokens.listUsersByAccountInfo("public", { email: "dan@example.com" }), []);
      assert.equal(await supertokens.getUser("legacy-dan"), undefined);
    });

    it("POST /bulk-import/import answers the linked user, and a taken phone number gets E007", async () => {
      const uri = await createCoreApp(core.url);
      const one = await call(uri, "POST", "/bulk-import/import", linkedUser("eve"));
      assert.equal(one.status, 200);
      assert.equal(one.json.user.id, "legacy-eve");
      assert.equal(one.json.user.isPrimaryUser, true);
      assert.equal(one.json.user.loginMethods.length, 2);
      const phone = { loginMethods: [{ recipeId: "passwordless", phoneNumber: "+14155550199" }] };
      assert.equal((await call(uri, "POST", "/bulk-import/import", phone)).status, 200);
      const again = await call(uri, "POST", "/bulk-import/import", phone);
      assert.equal(again.status, 400);
      assert.deepEqual(again.json, {
        errors: ["E007: A user with phoneNumber +14155550199 already exists in passwordless loginMethod."],
      });
    });
  });
}
