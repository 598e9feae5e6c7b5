import { coreError, type CoreClient } from "./core-http-client.js";
import { emailPasswordEmail, type CoreUser } from "./existing.js";
import { importLog } from "./log.js";
import { isPendingEmail, MAPPING_INFO, pendingEmailFor } from "./pending.js";
import type { Candidate, Outcome } from "./plan.js";
import { grantUserRoles } from "./roles.js";

const skipped = (c: Candidate, reason: "already-imported" | "email-exists", detail?: string): Outcome => ({
  kind: "skipped",
  row: c.row,
  id: c.id,
  reason,
  ...(detail ? { detail } : {}),
});
const failed = (c: Candidate, reason: "core-rejected" | "conflict", detail: string): Outcome => ({
  kind: "failed",
  row: c.row,
  id: c.id,
  reason,
  detail,
});

async function getMapping(client: CoreClient, externalId: string): Promise<string | undefined> {
  const res = await client.ok<{ status: string; superTokensUserId?: string }>("GET", "/recipe/userid/map", {
    query: { userId: externalId, userIdType: "EXTERNAL" },
  });
  return res.status === "OK" ? res.superTokensUserId : undefined;
}

async function getUser(client: CoreClient, id: string): Promise<CoreUser | undefined> {
  const res = await client.ok<{ status: string; user?: CoreUser }>("GET", "/user/id", { query: { userId: id } });
  return res.status === "OK" ? res.user : undefined;
}

async function emailTaken(client: CoreClient, email: string): Promise<boolean> {
  const res = await client.ok<{ users: CoreUser[] }>("GET", "/public/users/by-accountinfo", {
    query: { email, doUnionOfAccountInfo: "false" },
  });
  return res.users.some((u) => emailPasswordEmail(u) === email);
}

async function removeUser(client: CoreClient, id: string): Promise<void> {
  await client.ok("POST", "/user/remove", { body: { userId: id, removeAllLinkedAccounts: false } });
}

/**
 * One user through the per-user endpoints, safe to repeat from any point a killed run stopped at:
 *
 *   1. with `recheck`, re-read the live state: a mapping for the legacy id means the user exists (finish it if it
 *      is still pending, else skip it); an email-password user with the email means someone else has it (skip).
 *      Without it the plan's snapshot stands, and the steps below still settle every race;
 *   2. import the hash under the user's placeholder address: the core's import is an upsert, and the
 *      placeholder is ours alone, so no existing user's hash is ever replaced (T16);
 *   3. map the SuperTokens id to the legacy id; if someone else mapped it meanwhile, theirs stands;
 *   4. metadata, roles and email verification, under the legacy id;
 *   5. set the real email: only now can anyone sign in. If someone signed up with it meanwhile, the core refuses
 *      the change and the placeholder user is removed.
 */
export async function importOneUser(client: CoreClient, c: Candidate, recheck: boolean): Promise<Outcome> {
  if (c.passwordHash === undefined) return importThirdPartyUser(client, c);
  const mapped = recheck ? await getMapping(client, c.id) : undefined;
  if (mapped !== undefined) {
    const user = await getUser(client, c.id);
    if (!user) return failed(c, "conflict", "the legacy id is mapped to a user that does not exist");
    if (!isPendingEmail(emailPasswordEmail(user))) return skipped(c, "already-imported");
    importLog("user %s: finishing a half-imported user", c.id);
  } else {
    if (recheck && (await emailTaken(client, c.email)))
      return skipped(c, "email-exists", "another SuperTokens user has this email");
    const imported = await client.call<{ status?: unknown; user: { loginMethods: { recipeUserId: string }[] } }>(
      "POST",
      "/public/recipe/user/passwordhash/import",
      {
        rid: "emailpassword",
        body: { email: pendingEmailFor(c.id), passwordHash: c.passwordHash, hashingAlgorithm: c.algorithm },
      },
    );
    if (imported.status !== 200 || imported.json?.status !== "OK") {
      return failed(
        c,
        "core-rejected",
        `passwordhash/import: ${imported.status} ${imported.text.trim().slice(0, 300)}`,
      );
    }
    const stId: string = imported.json.user.loginMethods[0].recipeUserId;
    const mapping = await client.call<{
      status: string;
      doesExternalUserIdExist?: boolean;
      doesSuperTokensUserIdExist?: boolean;
    }>("POST", "/recipe/userid/map", {
      body: { superTokensUserId: stId, externalUserId: c.id, externalUserIdInfo: MAPPING_INFO },
    });
    if (mapping.status !== 200)
      return failed(c, "core-rejected", `userid/map: ${mapping.status} ${mapping.text.trim().slice(0, 300)}`);
    // A 200 from the core always carries its JSON answer.
    const m = mapping.json!;
    if (m.status === "USER_ID_MAPPING_ALREADY_EXISTS_ERROR") {
      if (m.doesExternalUserIdExist && !m.doesSuperTokensUserIdExist) {
        // legacyAuth() or another run moved this user between the plan and now: theirs stands.
        await removeUser(client, stId);
        return skipped(c, "already-imported", "moved by another process during this run");
      }
      if (!m.doesExternalUserIdExist) return failed(c, "conflict", "its placeholder user is mapped to another id");
    } else if (m.status !== "OK") {
      return failed(c, "core-rejected", `userid/map: ${m.status}`);
    }
  }

  if (c.metadata !== undefined) {
    await client.ok("PUT", "/recipe/user/metadata", {
      rid: "usermetadata",
      body: { userId: c.id, metadataUpdate: c.metadata },
    });
  }
  if (c.roles.length > 0) {
    const refused = await grantUserRoles(client, c.id, c.roles);
    if (refused !== undefined) return failed(c, "core-rejected", refused);
  }
  if (c.emailVerified) {
    const token = await client.ok<{ status: string; token?: string }>(
      "POST",
      "/public/recipe/user/email/verify/token",
      {
        rid: "emailverification",
        body: { userId: c.id, email: c.email },
      },
    );
    if (token.status === "OK") {
      const verified = await client.ok<{ status: string }>("POST", "/public/recipe/user/email/verify", {
        rid: "emailverification",
        body: { method: "token", token: token.token },
      });
      if (verified.status !== "OK") return failed(c, "core-rejected", `email/verify: ${verified.status}`);
    } else if (token.status !== "EMAIL_ALREADY_VERIFIED_ERROR") {
      return failed(c, "core-rejected", `email/verify/token: ${token.status}`);
    }
  }
  const reveal = await client.call<{ status: string }>("PUT", "/recipe/user", {
    rid: "emailpassword",
    body: { recipeUserId: c.id, email: c.email },
  });
  if (reveal.status !== 200) throw coreError("PUT", "/recipe/user", reveal);
  // A 200 from the core always carries its JSON answer.
  const revealed = reveal.json!;
  switch (revealed.status) {
    case "OK":
      return c.thirdParty ? linkThirdParty(client, c) : { kind: "imported", row: c.row, id: c.id };
    case "EMAIL_ALREADY_EXISTS_ERROR":
    case "EMAIL_CHANGE_NOT_ALLOWED_ERROR":
      await removeUser(client, c.id);
      return skipped(c, "email-exists", "another SuperTokens user took this email during the run");
    default:
      return failed(c, "core-rejected", `PUT /recipe/user: ${revealed.status}`);
  }
}

type SignInUp = { status: string; createdNewUser?: boolean; recipeUserId?: string; user?: CoreUser };

/** The core's ThirdParty sign-in-up for the row's identity, as the SDK calls it on a provider sign-in. */
async function thirdPartySignInUp(client: CoreClient, c: Candidate): Promise<SignInUp | string> {
  const tp = c.thirdParty!;
  const res = await client.call<SignInUp>("POST", "/public/recipe/signinup", {
    rid: "thirdparty",
    body: { thirdPartyId: tp.id, thirdPartyUserId: tp.userId, email: { id: c.email, isVerified: tp.emailVerified } },
  });
  if (res.status !== 200 || res.json?.status !== "OK")
    return `recipe/signinup: ${res.status} ${res.text.trim().slice(0, 300)}`;
  return res.json;
}

/**
 * A row with a third-party identity and no hash: the core's ThirdParty sign-in-up creates the user (a provider
 * identity is unique, so nobody else can hold it meanwhile and no placeholder is needed), then its id is mapped to
 * the legacy id, and metadata and roles follow under it. An identity the core already has is not taken over: mapped
 * to this legacy id it was imported before; otherwise its user stands and the row is skipped.
 */
async function importThirdPartyUser(client: CoreClient, c: Candidate): Promise<Outcome> {
  const existing = await getMapping(client, c.id);
  if (existing !== undefined) return skipped(c, "already-imported");
  const signed = await thirdPartySignInUp(client, c);
  if (typeof signed === "string") return failed(c, "core-rejected", signed);
  const stId = signed.recipeUserId!;
  if (!signed.createdNewUser) {
    return signed.user?.id === c.id
      ? skipped(c, "already-imported")
      : skipped(c, "email-exists", "a SuperTokens user already has this third-party identity");
  }
  const mapping = await client.call<{ status: string }>("POST", "/recipe/userid/map", {
    body: { superTokensUserId: stId, externalUserId: c.id, externalUserIdInfo: MAPPING_INFO },
  });
  if (mapping.status !== 200 || mapping.json?.status !== "OK") {
    // Someone mapped the legacy id meanwhile (legacyAuth() moving this user): theirs stands.
    await removeUser(client, stId);
    return mapping.json?.status === "USER_ID_MAPPING_ALREADY_EXISTS_ERROR"
      ? skipped(c, "already-imported", "moved by another process during this run")
      : failed(c, "core-rejected", `userid/map: ${mapping.status} ${mapping.text.trim().slice(0, 300)}`);
  }
  if (c.metadata !== undefined) {
    await client.ok("PUT", "/recipe/user/metadata", {
      rid: "usermetadata",
      body: { userId: c.id, metadataUpdate: c.metadata },
    });
  }
  if (c.roles.length > 0) {
    const refused = await grantUserRoles(client, c.id, c.roles);
    if (refused !== undefined) return failed(c, "core-rejected", refused);
  }
  return { kind: "imported", row: c.row, id: c.id };
}

/**
 * After the email-password user of a row with both is complete: its third-party login, linked to it (the
 * email-password user, under the legacy id, becomes the primary user), as the bulk import makes it.
 */
async function linkThirdParty(client: CoreClient, c: Candidate): Promise<Outcome> {
  const signed = await thirdPartySignInUp(client, c);
  if (typeof signed === "string") return failed(c, "core-rejected", signed);
  if (signed.user?.id === c.id) return { kind: "imported", row: c.row, id: c.id };
  if (!signed.createdNewUser)
    return failed(c, "conflict", "its password login was imported; another user already has its third-party identity");
  const primary = await client.ok<{ status: string }>("POST", "/recipe/accountlinking/user/primary", {
    body: { recipeUserId: c.id },
  });
  if (primary.status !== "OK") return failed(c, "core-rejected", `accountlinking/user/primary: ${primary.status}`);
  const link = await client.ok<{ status: string }>("POST", "/recipe/accountlinking/user/link", {
    body: { recipeUserId: signed.recipeUserId, primaryUserId: c.id },
  });
  if (link.status !== "OK") return failed(c, "core-rejected", `accountlinking/user/link: ${link.status}`);
  return { kind: "imported", row: c.row, id: c.id };
}

/** Run `work` over `items` with at most `concurrency` at once; stops at the first thrown error. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        await work(item);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrows a worker's caught error unchanged
  if (failure !== undefined) throw failure;
}
