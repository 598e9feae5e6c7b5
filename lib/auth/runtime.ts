import type { RecipeInterface } from "supertokens-node/recipe/emailpassword";
import { CoreClient } from "./core-via-sdk.js";
import { dummyVerify, verifyPassword, type VerifyResult } from "../hashes/index.js";
import { ConfigError, isMigrateError, UnavailableError } from "../errors.js";
import { LegacyRoleGranter, parseRoles, type RoleStats } from "../roles.js";
import type { UserContext } from "../user-context.js";
import { LegacyUsers, type LegacyRecord } from "./legacy-users.js";
import { KeyedLock } from "./lock.js";
import { authLog } from "./log.js";
import type { LegacyAuthConfig, UserMigratedEvent } from "./options.js";

/**
 * Longer passwords are refused before any hashing (T21): a megabyte "password" must not buy a megabyte of KDF
 * input. Far above any real password, and bcrypt reads only 72 bytes anyway.
 */
export const MAX_PASSWORD_LENGTH = 4096;

/** What every part of legacyAuth shares: the resolved config, the two stores and the per-email lock. */
export class LegacyAuthRuntime {
  readonly core = new CoreClient();
  readonly legacy: LegacyUsers;
  readonly lock = new KeyedLock();
  readonly roles: LegacyRoleGranter;

  private raw: RecipeInterface | undefined;

  constructor(readonly config: LegacyAuthConfig) {
    this.legacy = new LegacyUsers(config);
    this.roles = new LegacyRoleGranter("legacyAuth", config.createRoles);
  }

  roleStats(): RoleStats {
    return this.roles.stats();
  }

  /**
   * Give a moved legacy user their legacy roles (`getRoles`, else the row's `roles`) in `tenantId`, under the legacy
   * id, before their first session is created so that its access token carries them. A role that cannot be given
   * is left out and reported (LegacyRoleGranter); a failing `getRoles` or core is an outage (503), so the move is
   * tried again, roles included.
   */
  async grantRoles(tenantId: string, legacy: LegacyRecord, userContext?: UserContext): Promise<void> {
    const row = legacy.row;
    if (!row) return;
    let value: unknown = row.roles;
    if (this.config.getRoles) {
      try {
        value = await this.config.getRoles(row);
      } catch (err) {
        throw new UnavailableError("ERR_MIGRATE_STORE_UNAVAILABLE", "legacyAuth: getRoles failed", { cause: err });
      }
    }
    const { roles, invalid } = parseRoles(value);
    this.roles.reportInvalid(legacy.id, invalid);
    try {
      await this.roles.grant(tenantId, legacy.id, roles, userContext);
    } catch (err) {
      if (isMigrateError(err)) throw err;
      throw new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", "legacyAuth: giving the legacy roles failed", {
        cause: err,
      });
    }
  }

  /** Kept when EmailPassword.init applies our override: the SDK's own implementation, beneath every override. */
  setRawImplementation(implementation: RecipeInterface): void {
    this.raw = implementation;
  }

  rawImplementation(): RecipeInterface {
    if (!this.raw) {
      throw new ConfigError(
        "ERR_MIGRATE_SDK_NOT_INITIALISED",
        "legacyAuth: pass its result as EmailPassword.init({ override: legacyAuth(...) }) before using it.",
      );
    }
    return this.raw;
  }

  covers(tenantId: string): boolean {
    return this.config.tenantIds.includes(tenantId);
  }

  /** A throwaway verify at the cost of `hashLike` (default: the configured dummy), so failures all cost alike (T14). */
  async dummy(hashLike?: string | null): Promise<void> {
    await dummyVerify(hashLike ?? this.config.dummyHash, { verifiers: this.config.verifiers });
  }

  /**
   * One legacy verify. An unusable hash (unknown format, a Firebase hash without the signer key, no hash at all)
   * is UNKNOWN_FORMAT: a logged failure for that user, never a crash (issue 5, behaviour 7).
   */
  async verify(password: string, hash: string | null): Promise<VerifyResult> {
    if (hash === null || hash.trim() === "") return { status: "UNKNOWN_FORMAT" };
    const custom = this.config.verifyPassword;
    if (custom) return { status: (await custom(password, hash)) === true ? "MATCH" : "NO_MATCH", format: "custom" };
    try {
      return await verifyPassword(password, hash, {
        verifiers: this.config.verifiers,
        firebaseSignerKey: this.config.firebaseSignerKey,
      });
    } catch (err) {
      if (isMigrateError(err) && err.code === "ERR_MIGRATE_MISSING_SIGNER_KEY") {
        authLog("a Firebase scrypt hash needs the firebaseSignerKey option; treating it as unusable");
        return { status: "UNKNOWN_FORMAT" };
      }
      throw err;
    }
  }

  /**
   * The user is already moved, so a failing hook must not fail the request: log it and go on. Moves that did not
   * give the legacy roles on the way (`rolesGranted`) give them here, from the row read again.
   */
  async userMigrated(event: UserMigratedEvent, opts: { rolesGranted?: boolean } = {}): Promise<void> {
    if (!opts.rolesGranted) {
      const legacy = await this.legacy.byId(event.userId);
      if (legacy) await this.grantRoles(event.tenantId, legacy);
    }
    this.config.metrics.userMigrated(event);
    const hook = this.config.onUserMigrated;
    if (!hook) return;
    try {
      await hook(event);
    } catch (err) {
      authLog(
        "onUserMigrated threw for %s (%s); ignored, the user is moved",
        event.userId,
        (err as Error)?.name ?? typeof err,
      );
    }
  }
}
