/**
 * The demo's "Acme" identity provider (demo-app/idp.ts): a real oidc-provider on loopback, driven here over HTTP
 * by openid-client (a certified relying party) and plain fetch, as a browser and a server would: discovery, the
 * authorization-code flow with PKCE through its own login and consent pages, the token and userinfo answers, and
 * the sign-ins it must refuse.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as oidc from "openid-client";
import { startIdp, type IdpAccount, type RunningIdp } from "../../demo-app/idp.js";

const REDIRECT = "http://127.0.0.1:9/auth/acme/callback";
const accounts: IdpAccount[] = [
  { sub: "acme-7f3a", email: "frank@acme.test", email_verified: true, name: "Frank", password: "frank-acme-1" },
  { sub: "acme-0b11", email: "gina@acme.test", email_verified: false, name: "Gina", password: "gina-acme-1" },
];

let idp: RunningIdp;
let config: oidc.Configuration;

before(async () => {
  idp = await startIdp({
    accounts,
    client: { clientId: "notes", clientSecret: "notes-secret-for-tests", redirectUris: [REDIRECT] },
  });
  config = await oidc.discovery(
    new URL(idp.issuer),
    "notes",
    undefined,
    oidc.ClientSecretPost(idp.client.clientSecret),
    {
      execute: [oidc.allowInsecureRequests],
    },
  );
});
after(() => idp?.close());

/** A browser's cookie jar for one origin, enough for the IdP's session and interaction cookies. */
class Browser {
  private readonly jar = new Map<string, string>();

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === "" || /expires=Thu, 01 Jan 1970/i.test(line)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects within the IdP; stops at the first page, or at a redirect leaving it (the app's callback). */
  async follow(res: Response): Promise<Response | URL> {
    while (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get("location")!, res.url || idp.issuer);
      if (next.origin !== idp.issuer) return next;
      res = await this.go(next.href);
    }
    return res;
  }

  post(url: string, form: Record<string, string>): Promise<Response> {
    return this.go(url, {
      method: "POST",
      body: new URLSearchParams(form).toString(),
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
  }
}

function formAction(page: string, id: string): string {
  const match = new RegExp(`<form method="post" action="([^"]+)" id="${id}"`).exec(page);
  assert.ok(match, `no form #${id} on the page:\n${page.slice(0, 500)}`);
  return new URL(match[1], idp.issuer).href;
}

async function startSignIn(browser: Browser, redirectUri = REDIRECT) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: "openid email profile",
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  });
  const page = await browser.follow(await browser.go(url.href));
  return { verifier, state, page };
}

/** Sign in as `email` and allow the consent: the callback URL the browser is sent to. */
async function signIn(browser: Browser, email: string, password: string) {
  const start = await startSignIn(browser);
  assert.ok(!(start.page instanceof URL));
  const loginPage = await start.page.text();
  assert.match(loginPage, /id="idp-login-form"/);
  const afterLogin = await browser.follow(
    await browser.post(formAction(loginPage, "idp-login-form"), { email, password }),
  );
  assert.ok(!(afterLogin instanceof URL), "the first sign-in of a session asks for consent");
  const consentPage = await afterLogin.text();
  assert.match(consentPage, /Allow access\?/);
  const callback = await browser.follow(await browser.post(formAction(consentPage, "idp-consent-form"), {}));
  assert.ok(callback instanceof URL, "after consent the browser goes back to the app");
  return { ...start, callback };
}

describe("the Acme identity provider", () => {
  it("publishes a discovery document for the code flow with PKCE and RS256 ID tokens", async () => {
    const res = await fetch(idp.discoveryUrl);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, idp.issuer);
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    for (const endpoint of ["authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri"])
      assert.ok(String(doc[endpoint]).startsWith(`${idp.issuer}/`), `${endpoint}: ${String(doc[endpoint])}`);
    assert.deepEqual(doc.response_types_supported, ["code"]);
    assert.deepEqual(doc.code_challenge_methods_supported, ["S256"]);
    assert.ok((doc.id_token_signing_alg_values_supported as string[]).includes("RS256"));
    assert.ok((doc.token_endpoint_auth_methods_supported as string[]).includes("client_secret_post"));
    for (const claim of ["sub", "email", "email_verified", "name"])
      assert.ok((doc.claims_supported as string[]).includes(claim), claim);
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as { keys: Array<Record<string, unknown>> };
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kty, "RSA");
    assert.equal(jwks.keys[0].d, undefined, "the private part stays private");
  });

  it("signs in through its login and consent pages; the token and userinfo carry email, email_verified", async () => {
    const browser = new Browser();
    const { verifier, state, callback } = await signIn(browser, "Frank@acme.test", "frank-acme-1");
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(callback.searchParams.get("state"), state);
    assert.equal(callback.searchParams.get("iss"), idp.issuer);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const idToken = tokens.claims()!;
    assert.equal(idToken.sub, "acme-7f3a");
    assert.equal(idToken.iss, idp.issuer);
    assert.equal(idToken.aud, "notes");
    const info = await oidc.fetchUserInfo(config, tokens.access_token, "acme-7f3a");
    assert.deepEqual(
      { sub: info.sub, email: info.email, email_verified: info.email_verified, name: info.name },
      { sub: "acme-7f3a", email: "frank@acme.test", email_verified: true, name: "Frank" },
    );

    // A second sign-in in the same browser: the IdP session and the grant are remembered, no page is shown.
    const again = await startSignIn(browser);
    assert.ok(again.page instanceof URL, "signed in already and consent given: straight back to the app");
    assert.ok(again.page.searchParams.get("code"));
  });

  it("says so when the provider has not verified the email", async () => {
    const { verifier, state, callback } = await signIn(new Browser(), "gina@acme.test", "gina-acme-1");
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const info = await oidc.fetchUserInfo(config, tokens.access_token, "acme-0b11");
    assert.equal(info.email, "gina@acme.test");
    assert.equal(info.email_verified, false);
  });

  it("refuses a code exchanged without its PKCE verifier", async () => {
    const { state, callback } = await signIn(new Browser(), "frank@acme.test", "frank-acme-1");
    await assert.rejects(
      oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: state,
      }),
      (err: { error?: string }) => err.error === "invalid_grant",
    );
  });

  const refused: Array<[string, string, string]> = [
    ["an unknown account", "nobody@acme.test", "whatever-1"],
    ["a wrong password", "frank@acme.test", "not-franks"],
  ];
  for (const [name, email, password] of refused) {
    it(`refuses ${name} on its login page, and sends the browser nowhere`, async () => {
      const browser = new Browser();
      const { page } = await startSignIn(browser);
      assert.ok(!(page instanceof URL));
      const loginPage = await page.text();
      const res = await browser.post(formAction(loginPage, "idp-login-form"), { email, password });
      assert.equal(res.status, 401);
      assert.equal(res.headers.get("location"), null);
      assert.match(await res.text(), /Unknown email or wrong password\./);
    });
  }

  it("refuses a redirect URI the client did not register", async () => {
    const browser = new Browser();
    const { page } = await startSignIn(browser, "http://127.0.0.1:9/elsewhere");
    assert.ok(!(page instanceof URL), "no redirect to an unregistered URI");
    assert.equal(page.status, 400);
    assert.match(await page.text(), /redirect_uri did not match/);
  });

  it("answers an expired or unknown interaction with a page, not an error trace", async () => {
    const res = await fetch(`${idp.issuer}/interaction/no-such-uid`);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /This sign-in has expired/);
  });
});
