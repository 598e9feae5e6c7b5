import type { User } from "supertokens-node";
import type { RecipeInterface } from "supertokens-node/recipe/emailpassword";
import { UnavailableError } from "../errors.js";
import { type CoreClient, emailOf, isPendingEmail, pendingEmail } from "./core-via-sdk.js";
import type { ImportAlgorithm, VerifyResult } from "../hashes/index.js";
import {
  checkImportFormat,
  importableBcryptCost,
  isImportAlgorithm,
  MIN_IMPORTED_BCRYPT_COST,
} from "../hashes/import-format.js";
import { authLog, maskEmail } from "./log.js";
import type { LegacyAuthConfig } from "./options.js";
import type { UserContext } from "../user-context.js";

/** How the SuperTokens user gets its password: the legacy hash as is, or a password the core hashes itself. */
export type Credential =
  { kind: "hash"; passwordHash: string; algorithm: ImportAlgorithm } | { kind: "password"; password: string };

/**
 * - MOVED: this call created the user, its mapping and its email.
 * - RESUMED: an earlier, interrupted move of this legacy id was finished (email attached); the password is
 *   whatever that move set, so the caller lets SuperTokens decide (sign-in) or sets the new one (reset).
 * - IN_SUPERTOKENS: an email-password user with this email already exists (maybe created a moment ago by another
 *   request or process); SuperTokens decides, and nothing was written.
 * - ALREADY_MOVED: the legacy id is mapped to a SuperTokens user who now has another email; the legacy row is
 *   stale and must never be imported again (T16: no stale-hash overwrite).
 */
export type MoveOutcome =
  | { status: "MOVED"; user: User }
  | { status: "RESUMED"; user: User }
  | { status: "IN_SUPERTOKENS" }
  | { status: "ALREADY_MOVED" };

/**
 * Whether the verified legacy hash can go into the core byte for byte (T17): only formats the core verifies,
 * with the full bcrypt grammar, never `$2x$` (crypt_blowfish's buggy variant), and never below bcrypt cost 10
 * (OWASP's floor; the core then hashes the verified password at its own cost). A custom `verifyPassword` or
 * custom verifier means the core could not check the hash the same way, so the password is used instead.
 */
export function importPlan(
  hash: string,
  verdict: VerifyResult,
  config: LegacyAuthConfig,
): { ok: true; credential: Credential } | { ok: false; reason: string } {
  if (config.verifyPassword) return { ok: false, reason: "verified by a custom verifyPassword" };
  if (verdict.status !== "MATCH") return { ok: false, reason: "no match" };
  const { format } = verdict;
  // A custom verifier's key may spell a core format ("bcrypt"); what it verified is still not known to be one.
  if (Object.hasOwn(config.verifiers, format))
    return { ok: false, reason: `verified by the custom verifier ${format}` };
  if (!isImportAlgorithm(format)) return { ok: false, reason: `${format} is not a format the core imports` };
  const trimmed = hash.trim();
  if (format === "bcrypt") {
    const cost = importableBcryptCost(trimmed);
    if (cost === undefined) return { ok: false, reason: "bcrypt hash is $2x$ or not in the full $2a/$2b/$2y grammar" };
    if (cost < MIN_IMPORTED_BCRYPT_COST) return { ok: false, reason: `bcrypt cost below ${MIN_IMPORTED_BCRYPT_COST}` };
  }
  const check = checkImportFormat(trimmed, format, { firebaseSignerKey: config.firebaseSignerKey });
  if (!check.ok) return { ok: false, reason: check.message };
  return { ok: true, credential: { kind: "hash", passwordHash: check.passwordHash, algorithm: check.algorithm } };
}

export interface MoveInput {
  tenantId: string;
  /** Normalised. */
  email: string;
  legacyId: string;
  credential: Credential;
  userContext?: UserContext;
  /**
   * Gives the user their legacy roles, once the mapping exists and before the email step: a grant the core could not
   * make leaves the move resumable, and the resumed move grants them again (granting is idempotent).
   */
  grantRoles?: () => Promise<void>;
}

/**
 * Creates the SuperTokens user for a legacy user, as three idempotent steps: (1) a user under a pending address,
 * (2) the mapping to the legacy id, (3) the real email. Must run under the (tenant, email) lock; it re-reads
 * everything first because whoever held the lock before may have done the work.
 *
 * Why this order: the core has no atomic "create with external id", and its mapping is refused once a session
 * uses the SuperTokens id. A user created under the real email first would, after a crash before the mapping,
 * be signed in by SuperTokens under its random id, and that session would then block the mapping for good.
 * Under a pending address nobody can sign in until the mapping exists.
 */
export async function moveUser(
  core: CoreClient,
  original: Pick<RecipeInterface, "createNewRecipeUser">,
  input: MoveInput,
): Promise<MoveOutcome> {
  const { tenantId, email, legacyId, credential, userContext, grantRoles } = input;
  // Two passes at most: a lost mapping race sends us round once more to find the winner's user.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await core.emailPasswordUser(tenantId, email, userContext)) {
      authLog("move %s: %s already has a SuperTokens user; SuperTokens decides", legacyId, maskEmail(email));
      return { status: "IN_SUPERTOKENS" };
    }
    const existingId = await core.superTokensIdOf(legacyId, userContext);
    if (existingId !== undefined)
      return resumeMove(core, { tenantId, email, legacyId, superTokensId: existingId, userContext, grantRoles });

    const placeholder = pendingEmail();
    let superTokensId: string;
    if (credential.kind === "hash") {
      superTokensId = await core.importHash(
        tenantId,
        placeholder,
        credential.passwordHash,
        credential.algorithm,
        userContext,
      );
      authLog("move %s: imported the legacy %s hash unchanged", legacyId, credential.algorithm);
    } else {
      // The SDK's own implementation, not the app's override: the app's hooks must not see a half-made user.
      const created = await original.createNewRecipeUser({
        email: placeholder,
        password: credential.password,
        tenantId,
        userContext: (userContext ?? {}) as Parameters<RecipeInterface["createNewRecipeUser"]>[0]["userContext"],
      });
      if (created.status !== "OK")
        throw new UnavailableError(
          "ERR_MIGRATE_CORE_UNAVAILABLE",
          `legacyAuth: creating the user failed (${created.status})`,
        );
      superTokensId = created.recipeUserId.getAsString();
      authLog("move %s: created with the password; the core hashed it", legacyId);
    }

    let mapped: Awaited<ReturnType<CoreClient["createMapping"]>>;
    try {
      mapped = await core.createMapping(superTokensId, legacyId, userContext);
    } catch (err) {
      await discardPlaceholder(core, superTokensId, userContext);
      throw err;
    }
    if (mapped.status === "USER_ID_MAPPING_ALREADY_EXISTS_ERROR") {
      // Another process mapped this legacy id first. Our placeholder has no mapping and no session: drop it.
      authLog("move %s: lost the mapping race; discarding our placeholder and re-reading", legacyId);
      await discardPlaceholder(core, superTokensId, userContext);
      continue;
    }
    if (mapped.status !== "OK") {
      await discardPlaceholder(core, superTokensId, userContext);
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        `legacyAuth: creating the user id mapping failed (${mapped.status})`,
      );
    }
    authLog("move %s: mapped", legacyId);
    await grantRoles?.();
    const attached = await attachEmail(core, { legacyId, superTokensId, email, userContext });
    if (!attached) return { status: "IN_SUPERTOKENS" };
    const user = await core.getUser(legacyId, userContext);
    if (!user)
      throw new UnavailableError(
        "ERR_MIGRATE_CORE_UNAVAILABLE",
        "legacyAuth: the moved user vanished before it could be read back",
      );
    authLog("move %s: done for %s", legacyId, maskEmail(email));
    return { status: "MOVED", user };
  }
  // Both passes lost a race and found no winner: something else is editing this user; let the client retry.
  throw new UnavailableError(
    "ERR_MIGRATE_CORE_UNAVAILABLE",
    "legacyAuth: the user kept changing while being moved; retry",
  );
}

/** The legacy id is mapped. Finish a move that stopped before its email step; otherwise report it moved. */
export async function resumeMove(
  core: CoreClient,
  input: {
    tenantId: string;
    email: string;
    legacyId: string;
    superTokensId: string;
    userContext?: UserContext;
    grantRoles?: () => Promise<void>;
  },
): Promise<MoveOutcome> {
  const { email, legacyId, superTokensId, userContext } = input;
  const user = await core.getUser(legacyId, userContext);
  if (!user || !isPendingEmail(emailOf(user))) {
    authLog("move %s: already mapped to a SuperTokens user with another email; the legacy row is stale", legacyId);
    return { status: "ALREADY_MOVED" };
  }
  authLog("move %s: resuming an interrupted move (email step)", legacyId);
  await input.grantRoles?.();
  if (!(await attachEmail(core, { legacyId, superTokensId, email, userContext }))) return { status: "IN_SUPERTOKENS" };
  const finished = await core.getUser(legacyId, userContext);
  if (!finished)
    throw new UnavailableError(
      "ERR_MIGRATE_CORE_UNAVAILABLE",
      "legacyAuth: the resumed user vanished before it could be read back",
    );
  return { status: "RESUMED", user: finished };
}

/**
 * Step 3. If the email was taken meanwhile by someone else's SuperTokens user (an admin, another recipe), the
 * placeholder and its mapping are removed (it never had a session) and false is returned. The mapping goes
 * first and by force, so that the user is deleted under its SuperTokens id: deleting it under the legacy id
 * would delete whatever the app keeps under that id (metadata, roles).
 */
async function attachEmail(
  core: CoreClient,
  input: { legacyId: string; superTokensId: string; email: string; userContext?: UserContext },
): Promise<boolean> {
  const status = await core.updateUser(input.legacyId, { email: input.email }, input.userContext);
  if (status === "OK") return true;
  if (status === "EMAIL_ALREADY_EXISTS_ERROR") {
    authLog(
      "move %s: %s was taken in SuperTokens meanwhile; removing our placeholder",
      input.legacyId,
      maskEmail(input.email),
    );
    await core.deleteMapping(input.superTokensId, input.userContext);
    await core.deleteUser(input.superTokensId, input.userContext);
    return false;
  }
  throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", `legacyAuth: attaching the email failed (${status})`);
}

/**
 * Roll back step 1, but only while the placeholder has no mapping: a mapping call whose answer was lost may
 * have succeeded, and that user is then resumable, not garbage. Failing here (core down) leaves an orphan under
 * a pending address, invisible to sign-in and sign-up; `finishPendingMigrations()` removes it later.
 */
async function discardPlaceholder(core: CoreClient, superTokensId: string, userContext?: UserContext): Promise<void> {
  try {
    if (await core.hasMapping(superTokensId, userContext)) {
      authLog("placeholder %s got its mapping after all; keeping it for resumption", superTokensId);
      return;
    }
    await core.deleteUser(superTokensId, userContext);
  } catch {
    authLog("could not remove placeholder %s (core unavailable); finishPendingMigrations() will", superTokensId);
  }
}
