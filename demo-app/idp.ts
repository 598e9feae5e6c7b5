import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import Provider, {
  type Adapter,
  type AdapterPayload,
  type Configuration,
  type KoaContextWithOIDC,
} from "oidc-provider";
import { html } from "./views/html.js";

/**
 * "Acme": a real OpenID Connect provider on loopback, for the demo's "Sign in with Acme" and the tests that sign
 * in through it. It is oidc-provider (OpenID Certified), configured the way a small company IdP would be: one
 * confidential client, the authorization-code flow (PKCE offered, S256 only), RS256 ID tokens, userinfo with
 * `email`, `email_verified` and `name`, and login and consent pages of its own. Nothing in it is a mock: the
 * legacy app's passport strategy and SuperTokens' ThirdParty recipe talk to it over HTTP as they would to Google.
 *
 * Everything is in memory: the accounts we give it, its signing key, its sessions and grants. A restart is a new
 * IdP with the same accounts (the `sub`s are what apps keep), and a new issuer port unless one is given.
 */

export interface IdpAccount {
  /** The provider's user id: what apps store as the identity. Stable, never reassigned. */
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  /** What the login page asks for. Accounts are ours, so a plain comparison is enough. */
  password: string;
}

export interface IdpClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs the client may ask for (no wildcards, as the spec and every real IdP require). */
  redirectUris: string[];
}

export interface StartIdpOptions {
  accounts: readonly IdpAccount[];
  client: IdpClient;
  /** 0 (default): a free port. Always on 127.0.0.1: the IdP is for this machine's browser and servers only. */
  port?: number;
  log?: (line: string) => void;
}

export interface RunningIdp {
  /** `http://127.0.0.1:<port>`: the issuer, as ID tokens carry it in `iss`. */
  issuer: string;
  /** `<issuer>/.well-known/openid-configuration`: what relying parties are configured with. */
  discoveryUrl: string;
  client: Readonly<IdpClient>;
  /** Accounts by `sub`; tests may add or change one while the IdP runs. */
  accounts: Map<string, IdpAccount>;
  close(): Promise<void>;
}

/** Where the login and consent pages live; oidc-provider sends the browser to `<issuer>/interaction/<uid>`. */
const INTERACTION = "/interaction";

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function pageOf(title: string, body: ReturnType<typeof html>): string {
  return `<!doctype html>${html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${title} · Acme ID</title>
      <style>
        body { font: 16px/1.5 system-ui, sans-serif; background: #f3f0ff; margin: 0; }
        main { max-width: 380px; margin: 60px auto; background: #fff; padding: 24px 28px; border-radius: 10px;
          box-shadow: 0 2px 12px rgba(60, 30, 120, 0.15); }
        .brand { color: #5b2bd6; font-weight: 700; letter-spacing: 0.02em; }
        label { display: block; margin: 12px 0 4px; }
        input { width: 100%; box-sizing: border-box; padding: 8px; font: inherit; }
        button { margin-top: 16px; padding: 8px 16px; font: inherit; background: #5b2bd6; color: #fff;
          border: 0; border-radius: 6px; cursor: pointer; }
        button.secondary { background: #ddd; color: #222; }
        .error { color: #b00020; min-height: 1.5em; }
      </style>
    </head>
    <body>
      <main>
        <p class="brand">Acme ID</p>
        <h1>${title}</h1>
        ${body}
      </main>
    </body>
  </html>`.toString()}`;
}

function loginForm(uid: string, clientName: string, opts: { email?: string; error?: string } = {}): string {
  return pageOf(
    "Sign in",
    html`<p>to continue to <strong>${clientName}</strong></p>
      <form method="post" action="${INTERACTION}/${uid}/login" id="idp-login-form">
        <label for="idp-email">Email</label>
        <input id="idp-email" name="email" type="email" value="${opts.email ?? ""}" autocomplete="username" required />
        <label for="idp-password">Password</label>
        <input id="idp-password" name="password" type="password" autocomplete="current-password" required />
        <p class="error" id="idp-error" role="alert">${opts.error ?? ""}</p>
        <button type="submit" id="idp-sign-in">Sign in</button>
      </form>
      <form method="post" action="${INTERACTION}/${uid}/abort"><button class="secondary">Cancel</button></form>`,
  );
}

function consentForm(uid: string, clientName: string, email: string, scopes: string[]): string {
  return pageOf(
    "Allow access?",
    html`<p><strong>${clientName}</strong> wants to know who you are (${email}): ${scopes.join(", ")}.</p>
      <form method="post" action="${INTERACTION}/${uid}/confirm" id="idp-consent-form">
        <button type="submit" id="idp-allow">Allow</button>
      </form>
      <form method="post" action="${INTERACTION}/${uid}/abort"><button class="secondary">Deny</button></form>`,
  );
}

/**
 * oidc-provider's storage (sessions, interactions, codes, tokens, grants), kept in this process on purpose: the
 * IdP is a fixture of the demo and tests, and its own in-memory default prints a production warning at start.
 * One map for all models; an entry past its expiry reads as absent, as in a store with TTLs.
 */
function memoryAdapter() {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt?: number }>();
  return class MemoryAdapter implements Adapter {
    constructor(private readonly model: string) {}

    private key(id: string): string {
      return `${this.model}:${id}`;
    }

    private read(key: string): AdapterPayload | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.payload;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? Date.now() + expiresIn * 1000 : undefined;
      entries.set(this.key(id), { payload, expiresAt });
    }
    async find(id: string): Promise<AdapterPayload | undefined> {
      return this.read(this.key(id));
    }
    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      for (const key of entries.keys()) {
        if (!key.startsWith(`${this.model}:`)) continue;
        const payload = this.read(key);
        if (payload?.uid === uid) return payload;
      }
      return undefined;
    }
    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      for (const key of entries.keys()) {
        if (!key.startsWith(`${this.model}:`)) continue;
        const payload = this.read(key);
        if (payload?.userCode === userCode) return payload;
      }
      return undefined;
    }
    async consume(id: string): Promise<void> {
      const payload = this.read(this.key(id));
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    }
    async destroy(id: string): Promise<void> {
      entries.delete(this.key(id));
    }
    async revokeByGrantId(grantId: string): Promise<void> {
      for (const [key, entry] of entries) if (entry.payload.grantId === grantId) entries.delete(key);
    }
  };
}

/** Start the IdP on 127.0.0.1. Resolves once it listens; `close()` stops it and drops its connections. */
export async function startIdp(options: StartIdpOptions): Promise<RunningIdp> {
  const log = options.log ?? (() => {});
  const accounts = new Map(options.accounts.map((a) => [a.sub, { ...a }]));
  const client = Object.freeze({ ...options.client, redirectUris: [...options.client.redirectUris] });
  const clientName = "Notes";

  // Listen first: the issuer names its port, which with port 0 is known only now. The routes are added once the
  // provider exists; nobody knows the port before this function returns.
  const app = express();
  app.disable("x-powered-by");
  const server: Server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A fresh RS256 key per start: RS256 is what every relying party accepts by default (SuperTokens included).
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: "jwk" }), kid: `acme-${randomBytes(4).toString("hex")}` };

  const configuration: Configuration = {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        client_name: clientName,
        redirect_uris: client.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        // What SuperTokens' ThirdParty recipe sends (client_id and client_secret in the form body); the legacy
        // app's openid-client is told to do the same.
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    async findAccount(_ctx: KoaContextWithOIDC, sub: string) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const current = accounts.get(sub) ?? account;
          return { sub, email: current.email, email_verified: current.email_verified, name: current.name };
        },
      };
    },
    adapter: memoryAdapter(),
    responseTypes: ["code"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"] },
    scopes: ["openid"],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    pkce: { methods: ["S256"], required: () => false },
    features: { devInteractions: { enabled: false } },
    async renderError(ctx, out) {
      ctx.type = "html";
      ctx.body = pageOf(
        "Sign-in failed",
        html`<p id="idp-error-code">${out.error}</p>
          <p>${out.error_description ?? ""}</p>`,
      );
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION}/${interaction.uid}` },
    // A session at the IdP outlives the apps' sessions, as at Google: signing in again only asks for consent
    // for scopes not granted yet.
    ttl: {
      Session: 24 * 3600,
      Interaction: 600,
      Grant: 24 * 3600,
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.on("server_error", (_ctx, err) => log(`idp: server error: ${err.message}`));

  const form = express.urlencoded({ extended: false, limit: "4kb" });
  const run =
    (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) =>
      void fn(req, res).catch(next);

  app.get(
    `${INTERACTION}/:uid`,
    run(async (req, res) => {
      res.set("cache-control", "no-store");
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === "login") {
        res.send(loginForm(details.uid, clientName));
        return;
      }
      const account = details.session?.accountId ? accounts.get(details.session.accountId) : undefined;
      const missing = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
      res.send(consentForm(details.uid, clientName, account?.email ?? "", missing));
    }),
  );

  app.post(
    `${INTERACTION}/:uid/login`,
    form,
    run(async (req, res) => {
      res.set("cache-control", "no-store");
      const details = await provider.interactionDetails(req, res);
      const body = req.body as Record<string, unknown>;
      const email = typeof body.email === "string" ? body.email.trim().toLowerCase() : "";
      const password = typeof body.password === "string" ? body.password : "";
      const account = [...accounts.values()].find((a) => a.email.toLowerCase() === email);
      if (!account || !sameSecret(password, account.password)) {
        log(`idp: refused a sign-in for ${email || "(no email)"} (${account ? "wrong password" : "no such account"})`);
        res.status(401).send(loginForm(details.uid, clientName, { email, error: "Unknown email or wrong password." }));
        return;
      }
      log(`idp: ${email} signed in (sub ${account.sub})`);
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: account.sub } },
        { mergeWithLastSubmission: false },
      );
    }),
  );

  app.post(
    `${INTERACTION}/:uid/confirm`,
    form,
    run(async (req, res) => {
      const details = await provider.interactionDetails(req, res);
      const { prompt, params, session } = details;
      if (prompt.name !== "consent" || !session) {
        res.status(400).send(pageOf("Nothing to confirm", html`<p>This sign-in has no consent step open.</p>`));
        return;
      }
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: String(params.client_id) });
      if (!grant) throw new Error(`grant ${details.grantId} vanished during the interaction`);
      const scopes = prompt.details.missingOIDCScope as string[] | undefined;
      const claims = prompt.details.missingOIDCClaims as string[] | undefined;
      if (scopes?.length) grant.addOIDCScope(scopes.join(" "));
      if (claims?.length) grant.addOIDCClaims(claims);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    }),
  );

  app.post(
    `${INTERACTION}/:uid/abort`,
    run(async (req, res) => {
      await provider.interactionFinished(
        req,
        res,
        { error: "access_denied", error_description: "The user cancelled the sign-in." },
        { mergeWithLastSubmission: false },
      );
    }),
  );

  // An interaction that expired or never existed: oidc-provider throws SessionNotFound; a page, not a stack.
  app.use(`${INTERACTION}/`, (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const name = (err as { name?: string })?.name;
    if (name !== "SessionNotFound") return next(err);
    res.status(400).send(pageOf("Sign-in expired", html`<p>This sign-in has expired. Go back and start again.</p>`));
  });

  app.use(provider.callback());
  log(`idp: Acme OpenID Connect provider at ${issuer} (${accounts.size} accounts)`);

  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    client,
    accounts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
