import type { RecipeInterface } from "supertokens-node/recipe/emailpassword";
import { CoreClient } from "./core-via-sdk.js";
import { dummyVerify, verifyPassword, type VerifyResult } from "../hashes/index.js";
import { ConfigError, isMigrateError } from "../errors.js";
import { LegacyUsers } from "./legacy-users.js";
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

  private raw: RecipeInterface | undefined;

  constructor(readonly config: LegacyAuthConfig) {
    this.legacy = new LegacyUsers(config);
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

  /** The user is already moved, so a failing hook must not fail the request: log it and go on. */
  async userMigrated(event: UserMigratedEvent): Promise<void> {
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
