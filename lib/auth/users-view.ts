import type { User } from "supertokens-node";
import { emailOf, isPendingEmail, normaliseEmail, PENDING_EMAIL_DOMAIN } from "./core-via-sdk.js";
import { resumeMove } from "./import-user.js";
import { lockKey } from "./lock.js";
import { authLog } from "./log.js";
import type { LegacyAuthRuntime } from "./runtime.js";

/** A user from either store. A legacy user never carries its hash out of legacyAuth. */
export type AnyUser =
  | { source: "supertokens"; id: string; email: string | undefined; user: User }
  | { source: "legacy"; id: string; email: string };

export interface MigrationProgress {
  /** Legacy users who now live in SuperTokens (their legacy id is a SuperTokens user id). */
  moved: number;
  /** Legacy users still only in the legacy table: `total - moved`. */
  legacyOnly: number;
  /** Rows in the legacy table (`countLegacyUsers`). */
  total: number;
  /**
   * The moved users by the login methods they have in SuperTokens now: a user with a password and a linked
   * provider counts under both, so these may add up to more than `moved`.
   */
  byLoginMethod: { emailpassword: number; thirdparty: number; passwordless: number };
  /** The moved users with a login of each third-party provider, by its id (`acme`, `google`, ...). */
  byThirdPartyProvider: Record<string, number>;
}

/** The login methods a moved user can have, as `getUsersOldestFirst`'s `includeRecipeIds` names them. */
const LOGIN_RECIPES = ["emailpassword", "thirdparty", "passwordless"] as const;

export interface FinishPendingResult {
  /** Interrupted moves whose email step was completed. */
  resumed: number;
  /** Placeholders removed: unmapped and older than `minAgeMs`, or whose email was taken meanwhile. */
  removed: number;
  /** Placeholders left alone: too young (maybe still in progress) or their legacy row is gone. */
  left: number;
}

export class UsersView {
  constructor(private readonly rt: LegacyAuthRuntime) {}

  /** SuperTokens first (by SuperTokens or legacy id, thanks to the mapping), then the legacy table. */
  async getUserById(id: string): Promise<AnyUser | undefined> {
    const user = await this.rt.core.getUser(id);
    if (user && !isPendingEmail(emailOf(user)))
      return { source: "supertokens", id: user.id, email: emailOf(user), user };
    const legacy = await this.rt.legacy.byId(id);
    return legacy ? { source: "legacy", id: legacy.id, email: legacy.email } : undefined;
  }

  /**
   * SuperTokens' email-password user with this email in `tenantId`, else the legacy user who has not moved.
   * A legacy row whose user moved and changed email in SuperTokens is stale and not returned.
   */
  async getUserByEmail(email: string, tenantId: string = this.rt.config.tenantIds[0]): Promise<AnyUser | undefined> {
    const normalised = normaliseEmail(email);
    const user = await this.rt.core.emailPasswordUser(tenantId, normalised);
    if (user) return { source: "supertokens", id: user.id, email: emailOf(user), user };
    if (!this.rt.covers(tenantId)) return undefined;
    const found = await this.rt.legacy.byEmail(normalised, tenantId);
    if (found.kind !== "one") return undefined;
    const superTokensId = await this.rt.core.superTokensIdOf(found.user.id);
    if (superTokensId !== undefined) {
      const moved = await this.rt.core.getUser(found.user.id);
      if (!moved || !isPendingEmail(emailOf(moved))) return undefined;
    }
    return { source: "legacy", id: found.user.id, email: found.user.email };
  }

  /** Users across both stores, each once: SuperTokens users plus legacy users who have not moved. */
  async getUserCount(): Promise<number> {
    const [superTokensCount, scan, total] = await Promise.all([
      this.rt.core.countUsers(),
      this.scan(),
      this.rt.legacy.count(),
    ]);
    // Orphaned placeholders (a move that failed before its mapping) are nobody; moved users are counted once.
    return superTokensCount - scan.orphans + Math.max(0, total - scan.moved.size);
  }

  async migrationProgress(): Promise<MigrationProgress> {
    const [scan, total] = await Promise.all([this.scan(), this.rt.legacy.count()]);
    const moved = Math.min(scan.moved.size, total);
    const byLoginMethod = { emailpassword: 0, thirdparty: 0, passwordless: 0 };
    const byThirdPartyProvider: Record<string, number> = {};
    for (const user of scan.moved.values()) {
      const recipes = new Set(user.loginMethods.map((lm) => lm.recipeId));
      for (const recipe of LOGIN_RECIPES) if (recipes.has(recipe)) byLoginMethod[recipe]++;
      const providers = new Set(user.loginMethods.flatMap((lm) => (lm.thirdParty ? [lm.thirdParty.id] : [])));
      for (const id of providers) byThirdPartyProvider[id] = (byThirdPartyProvider[id] ?? 0) + 1;
    }
    authLog("migrationProgress: %d of %d moved, by login method %o", moved, total, byLoginMethod);
    return { moved, legacyOnly: total - moved, total, byLoginMethod, byThirdPartyProvider };
  }

  /**
   * Pages through the SuperTokens users of the covered tenants, of every login method (500 at a time), and asks
   * the legacy store which of them are legacy users: one core call and one store query per page. A user is moved
   * when its id, or the id of one of its login methods (a legacy user linked under another), is a legacy id.
   */
  private async scan(): Promise<{ moved: Map<string, User>; orphans: number }> {
    const moved = new Map<string, User>();
    const orphans = new Set<string>();
    for await (const { users } of this.pages(undefined, [...LOGIN_RECIPES])) {
      const ids = users.flatMap((u) => [u.id, ...u.loginMethods.map((lm) => lm.recipeUserId.getAsString())]);
      const legacyIds = await this.rt.legacy.existing([...new Set(ids)]);
      for (const u of users) {
        const isLegacy =
          legacyIds.has(u.id) || u.loginMethods.some((lm) => legacyIds.has(lm.recipeUserId.getAsString()));
        if (isLegacy) moved.set(u.id, u);
        else if (isPendingEmail(emailOf(u))) orphans.add(u.id);
      }
    }
    return { moved, orphans: orphans.size };
  }

  /**
   * The users of each covered tenant with a login method of `recipeIds` (default: email-password) and, if given,
   * an email containing `email`; 500 a page.
   */
  private async *pages(email?: string, recipeIds?: string[]): AsyncGenerator<{ tenantId: string; users: User[] }> {
    for (const tenantId of this.rt.config.tenantIds) {
      let paginationToken: string | undefined;
      do {
        const page = await this.rt.core.listUsers(tenantId, { paginationToken, email, recipeIds });
        yield { tenantId, users: page.users };
        paginationToken = page.nextPaginationToken;
      } while (paginationToken);
    }
  }

  /**
   * Tidies what faults left behind (see import-user.ts): finishes mapped users still under a pending address,
   * and deletes unmapped placeholders older than `minAgeMs` (default 10 minutes, so moves in flight are left
   * alone). Safe to run at any time, from any process, as often as wanted.
   */
  async finishPendingMigrations(options: { minAgeMs?: number } = {}): Promise<FinishPendingResult> {
    const minAgeMs = options.minAgeMs ?? 600_000;
    const result: FinishPendingResult = { resumed: 0, removed: 0, left: 0 };
    for await (const { tenantId, users } of this.pages(PENDING_EMAIL_DOMAIN)) {
      for (const user of users) {
        if (isPendingEmail(emailOf(user))) await this.finishOne(tenantId, user, minAgeMs, result);
      }
    }
    authLog("finishPendingMigrations: %d resumed, %d removed, %d left", result.resumed, result.removed, result.left);
    return result;
  }

  private async finishOne(tenantId: string, user: User, minAgeMs: number, result: FinishPendingResult): Promise<void> {
    // A mapped user is reported under its legacy id, so an EXTERNAL lookup of its id finds the mapping.
    const superTokensId = await this.rt.core.superTokensIdOf(user.id);
    if (superTokensId === undefined) {
      if (user.timeJoined > Date.now() - minAgeMs) {
        result.left++;
        return;
      }
      await this.rt.core.deleteUser(user.id);
      authLog("removed orphaned placeholder %s", user.id);
      result.removed++;
      return;
    }
    const legacy = await this.rt.legacy.byId(user.id);
    if (!legacy) {
      authLog("pending user %s has no legacy row any more; left for an operator", user.id);
      result.left++;
      return;
    }
    const email = normaliseEmail(legacy.email);
    const outcome = await this.rt.lock.run(lockKey(tenantId, email), () =>
      resumeMove(this.rt.core, {
        tenantId,
        email,
        legacyId: legacy.id,
        superTokensId,
        userContext: undefined,
        grantRoles: () => this.rt.grantRoles(tenantId, legacy),
      }),
    );
    if (outcome.status === "RESUMED") result.resumed++;
    else if (outcome.status === "IN_SUPERTOKENS") result.removed++;
    else result.left++;
  }
}
