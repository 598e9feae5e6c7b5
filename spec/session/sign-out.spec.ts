// What signing out means with SuperTokens' stateless access tokens: /auth/signout revokes the
// session in the core and clears the browser's cookies, but a copy of the access token (a JWT) still verifies
// locally until it expires. Only verifySession({ checkDatabase: true }) asks the core and refuses it at once.
// README "Signing out" documents this; bench/sign-out.ts measures what checkDatabase costs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import express from "express";
import request from "supertest";
import supertokens from "supertokens-node";
import Session from "supertokens-node/recipe/session";
import { verifySession } from "supertokens-node/recipe/session/framework/express";
import { errorHandler, middleware } from "supertokens-node/framework/express";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { initSuperTokens } from "../helpers/dual-app.js";
import { CookieJar } from "../helpers/cookies.js";

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

/** The access token's lifetime on the dev core (its default, as the real core's): 1 h. */
const ACCESS_TOKEN_VALIDITY_MS = 3600_000;

/** A SuperTokens app: sign-in, the SDK's /auth/signout, and one route behind each kind of verifySession. */
function app() {
  const a = express();
  a.use(middleware());
  a.post("/login/:id", async (req, res) => {
    await Session.createNewSession(req, res, "public", supertokens.convertToRecipeUserId(req.params.id));
    res.json({ ok: true });
  });
  const me = (req: express.Request, res: express.Response) => {
    res.json({ userId: (req as unknown as { session: Session.SessionContainer }).session.getUserId() });
  };
  a.get("/local/me", verifySession(), me);
  a.get("/db/me", verifySession({ checkDatabase: true }), me);
  a.use(errorHandler());
  return a;
}

/** Signed in, a copy of the cookies taken (what an attacker or a second tab holds), then signed out. */
async function signedInCopiedAndSignedOut(userId: string) {
  initSuperTokens(await createCoreApp(core.url));
  const server = app();
  const jar = new CookieJar().update(await request(server).post(`/login/${userId}`));
  const copied = new CookieJar().set("sAccessToken", jar.get("sAccessToken")!);
  const [handle] = await Session.getAllSessionHandlesForUser(userId);
  assert.ok(handle);
  assert.equal((await request(server).get("/db/me").set("Cookie", copied.header("/db/me"))).status, 200);

  const out = await request(server).post("/auth/signout").set("Cookie", jar.header("/auth/signout"));
  assert.equal(out.status, 200, JSON.stringify(out.body));
  assert.deepEqual(out.body, { status: "OK" });
  jar.update(out);
  assert.equal(jar.get("sAccessToken"), undefined, "the browser's access token cookie is cleared");
  assert.equal(await Session.getSessionInformation(handle), undefined, "the session is revoked in the core");
  return { server, jar, copied };
}

describe("sign-out with SuperTokens' stateless access tokens", () => {
  it("after /auth/signout a copied access token still passes verifySession() until it expires", async (t) => {
    const { server, jar, copied } = await signedInCopiedAndSignedOut("signout-local-1");
    const still = await request(server).get("/local/me").set("Cookie", copied.header("/local/me"));
    assert.equal(still.status, 200, "verifySession() checks the JWT's signature and expiry only");
    assert.deepEqual(still.body, { userId: "signout-local-1" });
    assert.equal(
      (await request(server).get("/local/me").set("Cookie", jar.header("/local/me"))).status,
      401,
      "the signed-out browser itself holds no token",
    );

    // One second before it expires, for the SDK and the dev core alike: still accepted.
    const realNow = Date.now.bind(Date);
    const claims = JSON.parse(Buffer.from(copied.get("sAccessToken")!.split(".")[1], "base64url").toString()) as {
      iat: number;
      exp: number;
    };
    assert.equal((claims.exp - claims.iat) * 1000, ACCESS_TOKEN_VALIDITY_MS);
    const expiresAt = claims.exp * 1000;
    const clock = t.mock.method(Date, "now", () => expiresAt - 1000);
    assert.equal((await request(server).get("/local/me").set("Cookie", copied.header("/local/me"))).status, 200);

    clock.mock.mockImplementation(() => expiresAt + 1000);
    const expired = await request(server).get("/local/me").set("Cookie", copied.header("/local/me"));
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body, { message: "try refresh token" }, "and its refresh token is revoked with it");
    clock.mock.mockImplementation(realNow);
  });

  it(
    "after /auth/signout a copied access token fails at once with verifySession({ " + "checkDatabase: true })",
    async () => {
      const { server, copied } = await signedInCopiedAndSignedOut("signout-db-1");
      const refused = await request(server).get("/db/me").set("Cookie", copied.header("/db/me"));
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.deepEqual(refused.body, { message: "unauthorised" });
      assert.equal(
        (await request(server).get("/local/me").set("Cookie", copied.header("/local/me"))).status,
        200,
        "the same token on a route without checkDatabase is still accepted",
      );
    },
  );
});
