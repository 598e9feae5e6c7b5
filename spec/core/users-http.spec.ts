/**
 * The exact wire behaviour of the dev core's user, email-password, user id mapping, metadata and email
 * verification endpoints: status codes, error texts (with the core's trailing newline), omitted fields.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import bcrypt from "bcrypt";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";

let core: DevCore;
before(async () => {
  core = await startDevCore({ config: { bcrypt_log_rounds: 4 } });
});
after(() => core.close());

interface Reply {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the server's JSON, asserted field by field
  body: any;
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed };
}

/** A fresh app; `api(method, path, body)` talks to it. */
async function newApp(coreConfig: Record<string, unknown> = {}) {
  const base = await createCoreApp(core.url, coreConfig);
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(base, method, path, body, headers);
  const signUp = async (email: string, password = "password1", tenant = "public") => {
    const r = await api("POST", `/${tenant}/recipe/signup`, { email, password });
    assert.equal(r.body.status, "OK", r.text);
    return r.body.user as { id: string; timeJoined: number };
  };
  return { base, api, signUp, appId: base.split("/appid-")[1] };
}

function assertError(r: Reply, status: number, message: string) {
  assert.equal(r.status, status, r.text);
  assert.equal(r.text, message + "\n");
}

describe("GET /users/by-accountinfo", () => {
  it("requires doUnionOfAccountInfo with the core's exact text", async () => {
    const { api } = await newApp();
    assertError(
      await api("GET", "/public/users/by-accountinfo?email=a%40b.com"),
      400,
      "Field name 'doUnionOfAccountInfo' is missing in GET request",
    );
    assertError(
      await api("GET", "/public/users/by-accountinfo?email=a%40b.com&doUnionOfAccountInfo=yes"),
      400,
      "'doUnionOfAccountInfo' should be either 'true' or 'false'",
    );
    assertError(
      await api("GET", "/public/users/by-accountinfo?thirdPartyId=google&doUnionOfAccountInfo=true"),
      400,
      "If 'thirdPartyId' is provided, 'thirdPartyUserId' must also be provided, and vice versa",
    );
  });

  it("normalises the email, and other criteria only matter for an intersection", async () => {
    const { api, signUp } = await newApp();
    const user = await signUp("Someone@Example.com");
    const union = await api(
      "GET",
      "/public/users/by-accountinfo?email=%20SOMEONE%40example.com&phoneNumber=%2B14155552671" +
        "&doUnionOfAccountInfo=true",
    );
    assert.deepEqual(
      union.body.users.map((u: { id: string }) => u.id),
      [user.id],
    );
    const both = await api(
      "GET",
      "/public/users/by-accountinfo?email=someone%40example.com&phoneNumber=%2B14155552671&doUnionOfAccountInfo=false",
    );
    assert.deepEqual(both.body, { status: "OK", users: [] });
    const phoneOnly = await api(
      "GET",
      "/public/users/by-accountinfo?phoneNumber=%2B14155552671&doUnionOfAccountInfo=true",
    );
    assert.deepEqual(phoneOnly.body, { status: "OK", users: [] });
  });

  it("is tenant-scoped", async () => {
    const { api, signUp } = await newApp();
    assert.equal(
      (await api("PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1", firstFactors: ["emailpassword"] })).body
        .status,
      "OK",
    );
    await signUp("same@example.com", "password1", "public");
    const inT1 = await signUp("same@example.com", "password2", "t1");
    const r = await api("GET", "/t1/users/by-accountinfo?email=same%40example.com&doUnionOfAccountInfo=false");
    assert.deepEqual(
      r.body.users.map((u: { id: string }) => u.id),
      [inT1.id],
    );
    assert.deepEqual(r.body.users[0].tenantIds, ["t1"]);
  });
});

describe("GET /users and /users/count", () => {
  it("rejects bad limits, orders and tokens with the core's texts", async () => {
    const { api } = await newApp();
    assertError(await api("GET", "/public/users?limit=501"), 400, "max limit allowed is 500");
    assertError(await api("GET", "/public/users?limit=0"), 400, "limit must a positive integer with min value 1");
    assertError(
      await api("GET", "/public/users?limit=ten"),
      400,
      "Field name 'limit' must be an int in the GET request",
    );
    assertError(
      await api("GET", "/public/users?timeJoinedOrder=asc"),
      400,
      "timeJoinedOrder can be either ASC OR DESC",
    );
    assertError(await api("GET", "/public/users?paginationToken=not*base64"), 400, "invalid pagination token");
    assertError(
      await api("GET", `/public/users?paginationToken=${Buffer.from("no-separator").toString("base64")}`),
      400,
      "invalid pagination token",
    );
    assertError(
      await api("GET", `/public/users?paginationToken=${Buffer.from("id;soon").toString("base64")}`),
      400,
      "invalid pagination token",
    );
    assertError(await api("GET", "/public/users?includeRecipeIds=emailpassword,nope"), 400, "Unknown recipe ID: nope");
  });

  it("pages by (timeJoined, id DESC) with a token naming the next page's first user by internal id", async () => {
    const { api, signUp } = await newApp();
    const users: { id: string; timeJoined: number }[] = [];
    for (let i = 0; i < 5; i++) users.push(await signUp(`u${i}@example.com`));
    const external = "external-of-u2";
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: users[2].id, externalUserId: external })).body,
      { status: "OK" },
    );
    const expected = [...users].sort((a, b) => a.timeJoined - b.timeJoined || (a.id < b.id ? 1 : -1)).map((u) => u.id);

    const first = await api("GET", "/public/users?limit=2&timeJoinedOrder=ASC");
    assert.equal(first.body.users.length, 2);
    const third = users.find((u) => u.id === expected[2])!;
    assert.equal(Buffer.from(first.body.nextPaginationToken, "base64").toString(), `${third.id};${third.timeJoined}`);
    const second = await api(
      "GET",
      `/public/users?limit=2&paginationToken=${encodeURIComponent(first.body.nextPaginationToken)}`,
    );
    const last = await api(
      "GET",
      `/public/users?limit=2&paginationToken=${encodeURIComponent(second.body.nextPaginationToken)}`,
    );
    assert.equal(last.body.users.length, 1);
    assert.equal("nextPaginationToken" in last.body, false);
    const seen = [...first.body.users, ...second.body.users, ...last.body.users].map((u: { id: string }) => u.id);
    assert.deepEqual(
      seen,
      expected.map((id) => (id === users[2].id ? external : id)),
    );

    const desc = await api("GET", "/public/users?timeJoinedOrder=DESC");
    assert.deepEqual(
      desc.body.users.map((u: { timeJoined: number }) => u.timeJoined),
      [...users.map((u) => u.timeJoined)].sort((a, b) => b - a),
    );
    assert.equal("nextPaginationToken" in desc.body, false);
    assert.deepEqual((await api("GET", "/public/users?includeRecipeIds=thirdparty")).body, { status: "OK", users: [] });
  });

  it("searches email tags by prefix or domain, without pagination", async () => {
    const { api, signUp } = await newApp();
    await signUp("alice@corp.example");
    await signUp("bob@home.example");
    await signUp("malice@home.example");
    const byPrefix = await api("GET", "/public/users?email=ALI");
    assert.deepEqual(
      byPrefix.body.users.map((u: { emails: string[] }) => u.emails[0]),
      ["alice@corp.example"],
    );
    const byDomain = await api("GET", "/public/users?email=home;%20&limit=1");
    assert.equal(byDomain.body.users.length, 2);
    assert.equal("nextPaginationToken" in byDomain.body, false);
    assert.deepEqual((await api("GET", "/public/users?email=alice&phone=%2B1")).body.users, []);
  });

  it("counts per tenant, app-wide only from the public tenant, and by recipe", async () => {
    const { api, signUp } = await newApp();
    await api("PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1", firstFactors: ["emailpassword"] });
    await signUp("a@example.com");
    await signUp("b@example.com");
    await signUp("c@example.com", "password1", "t1");
    assert.deepEqual((await api("GET", "/public/users/count")).body, { status: "OK", count: 2 });
    assert.deepEqual((await api("GET", "/t1/users/count")).body, { status: "OK", count: 1 });
    assert.deepEqual((await api("GET", "/public/users/count?includeAllTenants=TRUE")).body, { status: "OK", count: 3 });
    assert.deepEqual((await api("GET", "/public/users/count?includeRecipeIds=session")).body, {
      status: "OK",
      count: 0,
    });
    assert.deepEqual((await api("GET", "/public/users/count?includeRecipeIds=EmailPassword,thirdparty")).body, {
      status: "OK",
      count: 2,
    });
    assertError(await api("GET", "/public/users/count?includeRecipeIds=unknown"), 400, "Unknown recipe ID: unknown");
    assertError(
      await api("GET", "/t1/users/count?includeAllTenants=true"),
      403,
      "Only public tenantId can call this app specific API",
    );
  });
});

describe("GET /user/id and POST /user/remove", () => {
  it("finds users by either id and answers UNKNOWN_USER_ID_ERROR otherwise", async () => {
    const { api, signUp } = await newApp();
    const user = await signUp("x@example.com");
    assertError(await api("GET", "/user/id"), 400, "Field name 'userId' is missing in GET request");
    assert.equal((await api("GET", `/user/id?userId=${user.id}`)).body.user.id, user.id);
    await api("POST", "/recipe/userid/map", { superTokensUserId: user.id, externalUserId: "ext-x" });
    const byExternal = await api("GET", "/user/id?userId=ext-x");
    assert.equal(byExternal.body.user.id, "ext-x");
    assert.equal(byExternal.body.user.loginMethods[0].recipeUserId, "ext-x");
    assert.equal((await api("GET", `/user/id?userId=${user.id}`)).body.user.id, "ext-x");
    assert.deepEqual((await api("GET", "/user/id?userId=nobody")).body, { status: "UNKNOWN_USER_ID_ERROR" });
  });

  it("is app-scoped: a tenant path gets 403", async () => {
    const { api } = await newApp();
    await api("PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
    assertError(await api("GET", "/t1/user/id?userId=x"), 403, "Only public tenantId can call this app specific API");
  });

  it(
    "always answers OK and removes the user with its mapping, metadata, verification, tokens and " + "sessions",
    async () => {
      const { api, signUp, appId } = await newApp();
      assert.deepEqual((await api("POST", "/user/remove", { userId: "nobody" })).body, { status: "OK" });
      const user = await signUp("gone@example.com");
      const keep = await signUp("kept@example.com");
      await api("POST", "/recipe/userid/map", { superTokensUserId: user.id, externalUserId: "ext-gone" });
      await api("PUT", "/recipe/user/metadata", { userId: "ext-gone", metadataUpdate: { a: 1 } });
      await api("PUT", "/recipe/user/metadata", { userId: keep.id, metadataUpdate: { b: 2 } });
      const ev = await api("POST", "/public/recipe/user/email/verify/token", {
        userId: "ext-gone",
        email: "gone@example.com",
      });
      await api("POST", "/public/recipe/user/email/verify", { method: "token", token: ev.body.token });
      const reset = await api("POST", "/public/recipe/user/password/reset/token", {
        userId: user.id,
        email: "gone@example.com",
      });
      const storage = core.storage.app(appId);
      const now = Date.now();
      const session = (handle: string, userId: string) => ({
        handle,
        userId,
        recipeUserId: userId,
        tenantId: "public",
        userDataInJWT: {},
        userDataInDatabase: {},
        refreshTokenHash2: "x",
        expiry: now + 60_000,
        createdAt: now,
        useStaticKey: false,
      });
      await storage.createSession(session("h-ext", "ext-gone"));
      await storage.createSession(session("h-st", user.id));
      await storage.createSession(session("h-keep", keep.id));

      assert.deepEqual((await api("POST", "/user/remove", { userId: "ext-gone" })).body, { status: "OK" });
      assert.deepEqual((await api("GET", `/user/id?userId=${user.id}`)).body, { status: "UNKNOWN_USER_ID_ERROR" });
      assert.deepEqual((await api("GET", "/recipe/userid/map?userId=ext-gone")).body, {
        status: "UNKNOWN_MAPPING_ERROR",
      });
      assert.deepEqual((await api("GET", "/recipe/user/metadata?userId=ext-gone")).body, {
        metadata: {},
        status: "OK",
      });
      assert.equal(
        (await api("GET", "/recipe/user/email/verify?userId=ext-gone&email=gone%40example.com")).body.isVerified,
        false,
      );
      assert.equal(
        (await api("POST", "/public/recipe/user/password/reset/token/consume", { token: reset.body.token })).body
          .status,
        "RESET_PASSWORD_INVALID_TOKEN_ERROR",
      );
      assert.equal(await storage.getSession("h-ext"), undefined);
      assert.equal(await storage.getSession("h-st"), undefined);
      assert.notEqual(await storage.getSession("h-keep"), undefined);
      assert.deepEqual((await api("GET", `/recipe/user/metadata?userId=${keep.id}`)).body.metadata, { b: 2 });
      assert.equal((await api("GET", `/user/id?userId=${keep.id}`)).body.status, "OK");
    },
  );
});

describe("email-password endpoints", () => {
  it("signs up with a normalised email, refuses empty passwords and duplicates", async () => {
    const { api } = await newApp();
    assertError(
      await api("POST", "/public/recipe/signup", { email: "a@b.com", password: "" }),
      400,
      "Password cannot be an empty string",
    );
    assertError(
      await api("POST", "/public/recipe/signup", { email: "a@b.com" }),
      400,
      "Field name 'password' is invalid in JSON input",
    );
    assertError(
      await api("POST", "/public/recipe/signup", { email: 5, password: "x" }),
      400,
      "Field name 'email' is invalid in JSON input",
    );
    const r = await api("POST", "/public/recipe/signup", { email: "  Mixed@Case.COM ", password: "pw" });
    assert.equal(r.body.status, "OK");
    assert.deepEqual(Object.keys(r.body).sort(), ["recipeUserId", "status", "user"]);
    assert.deepEqual(r.body.user.emails, ["mixed@case.com"]);
    assert.match(r.body.user.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual((await api("POST", "/recipe/signup", { email: "mixed@case.com", password: "other" })).body, {
      status: "EMAIL_ALREADY_EXISTS_ERROR",
    });
  });

  it("auto-verifies fake emails at sign-up", async () => {
    const { api } = await newApp();
    const r = await api("POST", "/public/recipe/signup", { email: "abc@stfakeemail.supertokens.com", password: "pw" });
    assert.equal(r.body.user.loginMethods[0].verified, true);
    const plain = await api("POST", "/public/recipe/signup", { email: "abc@example.com", password: "pw" });
    assert.equal(plain.body.user.loginMethods[0].verified, false);
  });

  it("answers WRONG_CREDENTIALS_ERROR for an unknown email or another tenant's user", async () => {
    const { api, signUp } = await newApp();
    await api("PUT", "/recipe/multitenancy/tenant/v2", { tenantId: "t1" });
    await signUp("who@example.com", "secret1");
    assert.deepEqual(
      (await api("POST", "/public/recipe/signin", { email: "nobody@example.com", password: "secret1" })).body,
      { status: "WRONG_CREDENTIALS_ERROR" },
    );
    assert.deepEqual((await api("POST", "/t1/recipe/signin", { email: "who@example.com", password: "secret1" })).body, {
      status: "WRONG_CREDENTIALS_ERROR",
    });
    assert.equal(
      (await api("POST", "/public/recipe/signin", { email: " WHO@example.com", password: "secret1" })).body.status,
      "OK",
    );
  });

  it("PUT /recipe/user needs email or password and reports unknown ids", async () => {
    const { api, signUp } = await newApp();
    const user = await signUp("p@example.com");
    await signUp("q@example.com");
    assertError(
      await api("PUT", "/recipe/user", { recipeUserId: user.id }, { rid: "emailpassword" }),
      400,
      "You have to provide either email or password.",
    );
    assert.deepEqual((await api("PUT", "/recipe/user", { recipeUserId: "nobody", password: "x" })).body, {
      status: "UNKNOWN_USER_ID_ERROR",
    });
    assert.deepEqual((await api("PUT", "/recipe/user", { recipeUserId: user.id, email: "Q@example.com" })).body, {
      status: "EMAIL_ALREADY_EXISTS_ERROR",
    });
    assert.deepEqual(
      (await api("PUT", "/recipe/user", { recipeUserId: user.id, email: "P@example.com ", password: "newpass1" })).body,
      { status: "OK" },
    );
    assert.equal(
      (await api("POST", "/public/recipe/signin", { email: "p@example.com", password: "newpass1" })).body.status,
      "OK",
    );
  });

  it("reset tokens: unknown user, URL-safe token, one use for all of a user's tokens, expiry", async () => {
    const { api, signUp } = await newApp();
    const user = await signUp("r@example.com");
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/password/reset/token", { userId: "nobody", email: "r@example.com" }))
        .body,
      { status: "UNKNOWN_USER_ID_ERROR" },
    );
    const t1 = await api("POST", "/public/recipe/user/password/reset/token", {
      userId: user.id,
      email: "r@example.com",
    });
    const t2 = await api("POST", "/public/recipe/user/password/reset/token", {
      userId: user.id,
      email: "r@example.com",
    });
    assert.match(t1.body.token, /^[A-Za-z0-9]{100,140}$/);
    assert.deepEqual(Object.keys(t1.body).sort(), ["status", "token"]);
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/password/reset/token/consume", { token: t2.body.token })).body,
      {
        status: "OK",
        userId: user.id,
        email: "r@example.com",
      },
    );
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/password/reset/token/consume", { token: t1.body.token })).body,
      {
        status: "RESET_PASSWORD_INVALID_TOKEN_ERROR",
      },
    );

    const shortLived = await newApp({ password_reset_token_lifetime: 1 });
    const u = await shortLived.signUp("s@example.com");
    const t = await shortLived.api("POST", "/public/recipe/user/password/reset/token", {
      userId: u.id,
      email: "s@example.com",
    });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      (await shortLived.api("POST", "/public/recipe/user/password/reset/token/consume", { token: t.body.token })).body,
      {
        status: "RESET_PASSWORD_INVALID_TOKEN_ERROR",
      },
    );
  });

  it("deprecated GET /recipe/user by email or id", async () => {
    const { api, signUp } = await newApp();
    const user = await signUp("old@example.com");
    assertError(await api("GET", "/public/recipe/user"), 400, "Please provide one of userId or email");
    assertError(
      await api("GET", `/public/recipe/user?email=a&userId=b`),
      400,
      "Please provide only one of userId or email",
    );
    assert.equal((await api("GET", "/public/recipe/user?email=OLD%40example.com")).body.user.id, user.id);
    assert.equal((await api("GET", `/recipe/user?userId=${user.id}`)).body.user.id, user.id);
    assert.deepEqual((await api("GET", "/public/recipe/user?email=no%40example.com")).body, {
      status: "UNKNOWN_EMAIL_ERROR",
    });
    assert.deepEqual((await api("GET", "/recipe/user?userId=nobody")).body, { status: "UNKNOWN_USER_ID_ERROR" });
  });
});

describe("POST /recipe/user/passwordhash/import", () => {
  it("validates hash and algorithm with the core's messages", async () => {
    const { api } = await newApp();
    const imp = (passwordHash: unknown, hashingAlgorithm?: string) =>
      api("POST", "/public/recipe/user/passwordhash/import", {
        email: "i@example.com",
        passwordHash,
        hashingAlgorithm,
      });
    assertError(await imp("   "), 400, "Password hash cannot be an empty string");
    assertError(await imp("$2a$04$abc", "md5"), 400, "Unsupported password hashing algorithm");
    assertError(await imp("$2a$04$abc", " "), 400, "Hashing Algorithm cannot be an empty string");
    assertError(await imp("plaintext"), 400, "Password hash is in invalid format");
    assertError(
      await imp("$argon2id$v=19$m=1,t=1,p=1$x$y", "bcrypt"),
      400,
      "Password hash is in invalid BCrypt format",
    );
    assertError(await imp("$2a$04$abc", "ARGON2"), 400, "Password hash is in invalid Argon2 format");
    assertError(
      await imp("$f_scrypt$aGFzaA==$c2FsdA==$m=14$r=8$s=Bw=="),
      500,
      "'firebase_password_hashing_signer_key' cannot be null",
    );
    assertError(await imp(7), 400, "Field name 'passwordHash' is invalid in JSON input");
  });

  it("creates a user, then replaces only the hash of the existing one", async () => {
    const { api } = await newApp();
    const first = await api("POST", "/public/recipe/user/passwordhash/import", {
      email: " Imp@Example.com",
      passwordHash: ` ${await bcrypt.hash("first-pw", 4)} `,
    });
    assert.equal(first.body.status, "OK");
    assert.equal(first.body.didUserAlreadyExist, false);
    assert.deepEqual(first.body.user.emails, ["imp@example.com"]);
    const second = await api("POST", "/public/recipe/user/passwordhash/import", {
      email: "imp@example.com",
      passwordHash: await bcrypt.hash("second-pw", 4),
      hashingAlgorithm: "BCrypt",
    });
    assert.equal(second.body.didUserAlreadyExist, true);
    assert.equal(second.body.user.id, first.body.user.id);
    assert.equal(second.body.user.timeJoined, first.body.user.timeJoined);
    assert.deepEqual(
      (await api("POST", "/public/recipe/signin", { email: "imp@example.com", password: "first-pw" })).body,
      { status: "WRONG_CREDENTIALS_ERROR" },
    );
    assert.equal(
      (await api("POST", "/public/recipe/signin", { email: "imp@example.com", password: "second-pw" })).body.status,
      "OK",
    );
  });
});

describe("user id mapping endpoints", () => {
  it("validates ids and userIdType", async () => {
    const { api } = await newApp();
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: " ", externalUserId: "e" }),
      400,
      "Field name 'superTokensUserId' cannot be an empty String",
    );
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: "s", externalUserId: "" }),
      400,
      "Field name 'externalUserId' cannot be an empty String",
    );
    assertError(
      await api("POST", "/recipe/userid/map", {
        superTokensUserId: "s",
        externalUserId: "e",
        externalUserIdInfo: "  ",
      }),
      400,
      "Field name 'externalUserIdInfo' cannot be an empty String",
    );
    assertError(
      await api("GET", "/recipe/userid/map?userId=%20"),
      400,
      "Field name 'userId' cannot be an empty String",
    );
    assertError(
      await api("GET", "/recipe/userid/map?userId=x&userIdType=any"),
      400,
      "Field name 'userIdType' should be one of 'SUPERTOKENS', 'EXTERNAL' or 'ANY'",
    );
    assertError(
      await api("PUT", "/recipe/userid/external-user-id-info", { userId: "x" }),
      400,
      "Field name 'externalUserIdInfo' is invalid in JSON input",
    );
  });

  it("answers with the exact key sets the SDK tests count", async () => {
    const { api, signUp } = await newApp();
    const a = await signUp("a@example.com");
    const b = await signUp("b@example.com");
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: "nobody", externalUserId: "e0" })).body,
      {
        status: "UNKNOWN_SUPERTOKENS_USER_ID_ERROR",
      },
    );
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: " e1 " })).body,
      { status: "OK" },
    );
    assert.deepEqual((await api("GET", `/recipe/userid/map?userId=e1&userIdType=EXTERNAL`)).body, {
      status: "OK",
      superTokensUserId: a.id,
      externalUserId: "e1",
    });
    assert.deepEqual((await api("GET", `/recipe/userid/map?userId=e1&userIdType=SUPERTOKENS`)).body, {
      status: "UNKNOWN_MAPPING_ERROR",
    });
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "e1" })).body,
      {
        status: "USER_ID_MAPPING_ALREADY_EXISTS_ERROR",
        doesSuperTokensUserIdExist: true,
        doesExternalUserIdExist: true,
      },
    );
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: b.id, externalUserId: "e1" })).body,
      {
        status: "USER_ID_MAPPING_ALREADY_EXISTS_ERROR",
        doesSuperTokensUserIdExist: false,
        doesExternalUserIdExist: true,
      },
    );
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "e2" })).body,
      {
        status: "USER_ID_MAPPING_ALREADY_EXISTS_ERROR",
        doesSuperTokensUserIdExist: true,
        doesExternalUserIdExist: false,
      },
    );
    assert.deepEqual(
      (await api("PUT", "/recipe/userid/external-user-id-info", { userId: a.id, externalUserIdInfo: "info" })).body,
      { status: "OK" },
    );
    assert.deepEqual((await api("GET", `/recipe/userid/map?userId=${a.id}`)).body, {
      status: "OK",
      superTokensUserId: a.id,
      externalUserId: "e1",
      externalUserIdInfo: "info",
    });
    assert.deepEqual(
      (
        await api("PUT", "/recipe/userid/external-user-id-info", {
          userId: "e1",
          userIdType: "EXTERNAL",
          externalUserIdInfo: null,
        })
      ).body,
      { status: "OK" },
    );
    assert.equal(Object.keys((await api("GET", "/recipe/userid/map?userId=e1")).body).length, 3);
    assert.deepEqual(
      (await api("PUT", "/recipe/userid/external-user-id-info", { userId: "nobody", externalUserIdInfo: null })).body,
      { status: "UNKNOWN_MAPPING_ERROR" },
    );
    assert.deepEqual((await api("POST", "/recipe/userid/map/remove", { userId: "nobody" })).body, {
      status: "OK",
      didMappingExist: false,
    });
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map/remove", { userId: "e1", userIdType: "SUPERTOKENS" })).body,
      { status: "OK", didMappingExist: false },
    );
    assert.deepEqual((await api("POST", "/recipe/userid/map/remove", { userId: "e1" })).body, {
      status: "OK",
      didMappingExist: true,
    });
    assert.deepEqual((await api("POST", "/recipe/userid/map/remove", { userId: "e1" })).body, {
      status: "OK",
      didMappingExist: false,
    });
  });

  it("refuses an external id that is a SuperTokens id, and usage of the SuperTokens id, unless forced", async () => {
    const { api, signUp, appId } = await newApp();
    const a = await signUp("a@example.com");
    const b = await signUp("b@example.com");
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: b.id }),
      400,
      "Cannot create a userId mapping where the externalId is also a SuperTokens userID",
    );
    await api("PUT", "/recipe/user/metadata", { userId: a.id, metadataUpdate: { k: 1 } });
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "ea" }),
      400,
      "UserId is already in use in UserMetadata recipe",
    );
    const now = Date.now();
    await core.storage.app(appId).createSession({
      handle: "live",
      userId: a.id,
      recipeUserId: a.id,
      tenantId: "public",
      userDataInJWT: {},
      userDataInDatabase: {},
      refreshTokenHash2: "x",
      expiry: now + 60_000,
      createdAt: now,
      useStaticKey: false,
    });
    // The core checks sessions first.
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "ea" }),
      400,
      "UserId is already in use in Session recipe",
    );
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "ea", force: true })).body,
      { status: "OK" },
    );

    // An expired session is not usage.
    await core.storage.app(appId).createSession({
      handle: "dead",
      userId: b.id,
      recipeUserId: b.id,
      tenantId: "public",
      userDataInJWT: {},
      userDataInDatabase: {},
      refreshTokenHash2: "x",
      expiry: now - 1,
      createdAt: now - 10,
      useStaticKey: false,
    });
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: b.id, externalUserId: "eb" })).body,
      { status: "OK" },
    );
  });

  it("moves email verification to the external id when it is the only usage", async () => {
    const { api, signUp } = await newApp();
    const a = await signUp("a@example.com");
    const b = await signUp("b@example.com");
    for (const u of [a, b]) {
      const t = await api("POST", "/public/recipe/user/email/verify/token", {
        userId: u.id,
        email: u === a ? "a@example.com" : "b@example.com",
      });
      await api("POST", "/public/recipe/user/email/verify", { method: "token", token: t.body.token });
    }
    // Only when email verification is the sole usage: with metadata too, the core refuses and moves nothing.
    await api("PUT", "/recipe/user/metadata", { userId: b.id, metadataUpdate: {} });
    assertError(
      await api("POST", "/recipe/userid/map", { superTokensUserId: b.id, externalUserId: "eb" }),
      400,
      "UserId is already in use in UserMetadata recipe",
    );
    assert.equal(
      (await api("GET", `/recipe/user/email/verify?userId=${b.id}&email=b%40example.com`)).body.isVerified,
      true,
    );
    assert.deepEqual(
      (await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "ea" })).body,
      { status: "OK" },
    );
    assert.equal((await api("GET", "/recipe/user/email/verify?userId=ea&email=a%40example.com")).body.isVerified, true);
    assert.equal(
      (await api("GET", `/recipe/user/email/verify?userId=${a.id}&email=a%40example.com`)).body.isVerified,
      false,
    );
    assert.equal((await api("GET", "/user/id?userId=ea")).body.user.loginMethods[0].verified, true);
  });

  it("refuses to delete a mapping whose external id is in use, unless forced", async () => {
    const { api, signUp } = await newApp();
    const a = await signUp("a@example.com");
    await api("POST", "/recipe/userid/map", { superTokensUserId: a.id, externalUserId: "ea" });
    await api("PUT", "/recipe/user/metadata", { userId: "ea", metadataUpdate: { k: 1 } });
    assertError(
      await api("POST", "/recipe/userid/map/remove", { userId: a.id }),
      400,
      "UserId is already in use in UserMetadata recipe",
    );
    assert.deepEqual((await api("POST", "/recipe/userid/map/remove", { userId: a.id, force: true })).body, {
      status: "OK",
      didMappingExist: true,
    });
  });
});

describe("user metadata endpoints", () => {
  it("merges shallowly, deletes keys set to null, and removes", async () => {
    const { api } = await newApp();
    assert.deepEqual((await api("GET", "/recipe/user/metadata?userId=m1")).body, { status: "OK", metadata: {} });
    assert.deepEqual(
      (await api("PUT", "/recipe/user/metadata", { userId: "m1", metadataUpdate: { a: 1, b: { c: 2 }, d: "x" } })).body,
      {
        status: "OK",
        metadata: { a: 1, b: { c: 2 }, d: "x" },
      },
    );
    assert.deepEqual(
      (await api("PUT", "/recipe/user/metadata", { userId: "m1", metadataUpdate: { b: { e: 3 }, d: null } })).body
        .metadata,
      {
        a: 1,
        b: { e: 3 },
      },
    );
    assertError(
      await api("PUT", "/recipe/user/metadata", { userId: "m1", metadataUpdate: [1] }),
      400,
      "Field name 'metadataUpdate' is invalid in JSON input",
    );
    assert.deepEqual((await api("POST", "/recipe/user/metadata/remove", { userId: "m1" })).body, { status: "OK" });
    assert.deepEqual((await api("GET", "/recipe/user/metadata?userId=m1")).body.metadata, {});
  });
});

describe("email verification endpoints", () => {
  it("verifies by token once, refuses verified emails and unsupported methods, unverifies", async () => {
    const { api } = await newApp();
    assertError(
      await api("POST", "/public/recipe/user/email/verify", { method: "link", token: "t" }),
      400,
      "Unsupported method for email verification",
    );
    const t = await api("POST", "/public/recipe/user/email/verify/token", { userId: "u1", email: " U1@Example.com" });
    assert.equal(t.body.status, "OK");
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/email/verify", { method: "token", token: t.body.token })).body,
      {
        status: "OK",
        userId: "u1",
        email: "u1@example.com",
      },
    );
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/email/verify", { method: "token", token: t.body.token })).body,
      {
        status: "EMAIL_VERIFICATION_INVALID_TOKEN_ERROR",
      },
    );
    assert.deepEqual(
      (await api("POST", "/public/recipe/user/email/verify/token", { userId: "u1", email: "u1@example.com" })).body,
      {
        status: "EMAIL_ALREADY_VERIFIED_ERROR",
      },
    );
    assert.deepEqual((await api("GET", "/recipe/user/email/verify?userId=u1&email=u1%40example.com")).body, {
      status: "OK",
      isVerified: true,
    });
    assert.deepEqual(
      (await api("POST", "/recipe/user/email/verify/remove", { userId: "u1", email: "U1@example.com" })).body,
      { status: "OK" },
    );
    assert.equal(
      (await api("GET", "/recipe/user/email/verify?userId=u1&email=u1%40example.com")).body.isVerified,
      false,
    );
  });

  it("revokes tokens and expires them", async () => {
    const { api } = await newApp({ email_verification_token_lifetime: 1 });
    const t = await api("POST", "/public/recipe/user/email/verify/token", { userId: "u2", email: "u2@example.com" });
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(
      (await api("POST", "/public/recipe/user/email/verify", { method: "token", token: t.body.token })).body.status,
      "EMAIL_VERIFICATION_INVALID_TOKEN_ERROR",
    );

    const other = await newApp();
    const t2 = await other.api("POST", "/public/recipe/user/email/verify/token", {
      userId: "u3",
      email: "u3@example.com",
    });
    assert.deepEqual(
      (
        await other.api("POST", "/public/recipe/user/email/verify/token/remove", {
          userId: "u3",
          email: "U3@example.com",
        })
      ).body,
      { status: "OK" },
    );
    assert.equal(
      (await other.api("POST", "/public/recipe/user/email/verify", { method: "token", token: t2.body.token })).body
        .status,
      "EMAIL_VERIFICATION_INVALID_TOKEN_ERROR",
    );
  });
});
