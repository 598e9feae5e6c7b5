import * as oidc from "openid-client";
import type { Queryable } from "./db.js";
import { startIdp, type IdpAccount, type RunningIdp } from "./idp.js";
import { otherAcmeAccounts, seededUsers } from "./schema.js";

/**
 * "Sign in with Acme": the demo's identity provider and what both apps need to know about it. Acme runs in the
 * demo's process on its own loopback port (demo-app/idp.ts). The legacy app signs users in with it through
 * passport; after the switch, SuperTokens' ThirdParty recipe uses the same provider and the same client.
 */

/** The provider's name in `legacy_identities.provider`, and SuperTokens' `thirdPartyId` for it. */
export const ACME = "acme";
/** Where the legacy app's passport strategy receives the code. */
export const LEGACY_CALLBACK_PATH = "/auth/acme/callback";
/** Where SuperTokens sends the browser back: websiteDomain + websiteBasePath + /callback/<thirdPartyId>. */
export const SUPERTOKENS_CALLBACK_PATH = "/account/callback/acme";

/** The demo's registration at Acme. A demo value, like the session secret: Acme runs on loopback only. */
export const ACME_CLIENT = { clientId: "notes-demo", clientSecret: "demo-only-acme-client-secret" } as const;

/** Everyone who can sign in at Acme: the seeded users with an Acme login, and a few without a user in the app. */
export function acmeAccounts(): IdpAccount[] {
  const linked = seededUsers.flatMap((u) =>
    u.acme ? [{ sub: u.acme.sub, email: u.email, email_verified: true, name: u.name, password: u.acme.password }] : [],
  );
  return [...linked, ...otherAcmeAccounts.map((a) => ({ ...a }))];
}

/** Start Acme for a demo at `origin`, with both apps' callbacks registered. */
export function startAcme(origin: string, log: (line: string) => void): Promise<RunningIdp> {
  return startIdp({
    accounts: acmeAccounts(),
    client: {
      ...ACME_CLIENT,
      redirectUris: [`${origin}${LEGACY_CALLBACK_PATH}`, `${origin}${SUPERTOKENS_CALLBACK_PATH}`],
    },
    log,
  });
}

/**
 * openid-client's view of Acme (its discovery document). Plain http is allowed for a loopback issuer only: the
 * demo's Acme never leaves the machine, and openid-client refuses http otherwise.
 */
export async function discoverAcme(issuer: string): Promise<oidc.Configuration> {
  const url = new URL(issuer);
  const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
  return oidc.discovery(
    url,
    ACME_CLIENT.clientId,
    undefined,
    oidc.ClientSecretPost(ACME_CLIENT.clientSecret),
    url.protocol === "http:" && loopback ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
}

/** What the provider told us about the person, from the ID token and userinfo. */
export interface ProviderProfile {
  sub: string;
  email?: string;
  emailVerified: boolean;
  name?: string;
}

export type ProviderSignIn =
  | { status: "OK"; userId: string; created: boolean; linked: boolean }
  | { status: "EMAIL_NOT_VERIFIED"; email: string }
  | { status: "NO_EMAIL" };

/**
 * The legacy app's rule for a provider sign-in, as such apps usually have it:
 * - a known identity (provider + sub) signs in as its user, and the stored email and its state follow the
 *   provider's latest answer;
 * - an unknown identity whose email the provider verified, and which a user already has, is linked to that user
 *   (the person proved they own the email);
 * - an unknown identity with the email of a user, unverified by the provider, is refused: anyone can type an
 *   email at an identity provider, and linking would hand them that user's account;
 * - otherwise a new user is created, without a password.
 */
export async function signInWithProvider(
  db: Queryable,
  provider: string,
  profile: ProviderProfile,
): Promise<ProviderSignIn> {
  const known = await db.query<{ user_id: string }>(
    "UPDATE legacy_identities SET email = $3, email_verified = $4 WHERE provider = $1 AND provider_user_id = $2 " +
      "RETURNING user_id::text AS user_id",
    [provider, profile.sub, profile.email ?? null, profile.emailVerified],
  );
  if (known.rows[0]) return { status: "OK", userId: known.rows[0].user_id, created: false, linked: false };
  if (!profile.email) return { status: "NO_EMAIL" };
  const email = profile.email.trim().toLowerCase();
  const owner = await db.query<{ id: string }>("SELECT id::text AS id FROM users WHERE lower(email) = $1", [email]);
  let userId = owner.rows[0]?.id;
  if (userId && !profile.emailVerified) return { status: "EMAIL_NOT_VERIFIED", email };
  const created = !userId;
  if (!userId) {
    const inserted = await db.query<{ id: string }>(
      "INSERT INTO users (email, password_hash, name) VALUES ($1, NULL, $2) RETURNING id::text AS id",
      [email, profile.name || email.split("@")[0]],
    );
    userId = inserted.rows[0].id;
  }
  await db.query(
    "INSERT INTO legacy_identities (provider, provider_user_id, user_id, email, email_verified) VALUES ($1, $2, $3, " +
      "$4, $5)",
    [provider, profile.sub, Number(userId), email, profile.emailVerified],
  );
  return { status: "OK", userId, created, linked: !created };
}
