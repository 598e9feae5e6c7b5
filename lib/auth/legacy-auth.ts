import type { APIInterface, RecipeInterface } from "supertokens-node/recipe/emailpassword";
import { ConfigError } from "../errors.js";
import { detectHashFormat } from "../hashes/index.js";
import { authLog } from "./log.js";
import {
  resolveLegacyAuthOptions,
  type ApisOverride,
  type FunctionsOverride,
  type LegacyAuthOptions,
} from "./options.js";
import { DecisionMemo, legacyApis, legacyFunctions } from "./overrides.js";
import { LegacyAuthRuntime } from "./runtime.js";
import { UsersView, type AnyUser, type FinishPendingResult, type MigrationProgress } from "./users-view.js";

/** EmailPassword's `override`, plus helpers that read both stores. Pass the whole object as `override`. */
export interface LegacyAuth {
  functions: FunctionsOverride;
  apis: ApisOverride;
  /** By SuperTokens or legacy id; SuperTokens first. */
  getUserById(id: string): Promise<AnyUser | undefined>;
  /** In `tenantId` (default: the first of `tenantIds`); SuperTokens first. */
  getUserByEmail(email: string, tenantId?: string): Promise<AnyUser | undefined>;
  /** SuperTokens users (all tenants) plus legacy users not moved yet. Needs `countLegacyUsers`. */
  getUserCount(): Promise<number>;
  /** `{ moved, legacyOnly, total }` over the legacy table. Needs `countLegacyUsers`. */
  migrationProgress(): Promise<MigrationProgress>;
  /** Finish or remove what interrupted moves left behind; see docs/api.md, `legacyAuth()`. */
  finishPendingMigrations(options?: { minAgeMs?: number }): Promise<FinishPendingResult>;
}

/**
 * Users still in the app's own table sign in with their old password and are moved into SuperTokens on the way,
 * keeping their id (issue 5). Sign-up cannot claim their email, and password reset works for them before they
 * move.
 *
 *     EmailPassword.init({ override: legacyAuth({ findUserByEmail, findUserById }) })
 *
 * Composition: the app's `override.functions`/`override.apis` are applied on top of ours, so the app's code sees
 * the finished behaviour (a legacy user's sign-in answers OK with the legacy id; sign-up of a legacy email answers
 * EMAIL_ALREADY_EXISTS_ERROR) exactly as if SuperTokens did it, and calls ours when it calls the original. Our
 * internal writes use the SDK's own implementation underneath both, so the app's hooks (e.g. "on sign-up, send a
 * welcome email") never fire for a user being moved; use `onUserMigrated` for that.
 */
export function legacyAuth(options: LegacyAuthOptions): LegacyAuth {
  const config = resolveLegacyAuthOptions(options);
  const rt = new LegacyAuthRuntime(config);
  const memo = new DecisionMemo();
  const view = new UsersView(rt);
  authLog(
    "legacyAuth: tenants %o, dummy hash format %s, custom verifyPassword %s, verifiers %o, onUserMigrated %s, " +
      "metrics %s",
    config.tenantIds,
    detectHashFormat(config.dummyHash) ?? "unrecognised (bcrypt cost 10 is used)",
    config.verifyPassword ? "yes" : "no",
    Object.keys(config.verifiers),
    config.onUserMigrated ? "yes" : "no",
    config.metrics.source,
  );
  // Build the dummy hash now, so the first unknown email does not pay for it (and stand out by its timing).
  rt.dummy().catch(() => authLog("warming the dummy hash failed; the first unknown email will build it"));

  return Object.freeze({
    functions: (original: RecipeInterface, builder: Parameters<FunctionsOverride>[1]) => {
      const ours = legacyFunctions(rt, memo, original);
      return config.override.functions ? config.override.functions(ours, builder) : ours;
    },
    apis: (original: APIInterface, builder: Parameters<ApisOverride>[1]) => {
      const ours = legacyApis(rt, memo, original);
      return config.override.apis ? config.override.apis(ours, builder) : ours;
    },
    getUserById: (id: string) => view.getUserById(id),
    getUserByEmail: (email: string, tenantId?: string) => view.getUserByEmail(email, tenantId),
    getUserCount: () => view.getUserCount(),
    migrationProgress: () => view.migrationProgress(),
    finishPendingMigrations: (opts?: { minAgeMs?: number }) => view.finishPendingMigrations(opts),
  });
}

// `override: legacyAuth` (not called) would give EmailPassword no override at all and silently let legacy emails
// be signed up. The SDK copies `override.functions`/`apis` off whatever it is given, so these make init fail loudly.
const uncalled = () => {
  throw new ConfigError(
    "ERR_MIGRATE_FACTORY_NOT_CALLED",
    "legacyAuth was passed without being called: call legacyAuth({ ... }) — you passed the factory itself. Use " +
      "EmailPassword.init({ override: legacyAuth({ findUserByEmail, findUserById }) }).",
  );
};
Object.defineProperties(legacyAuth, {
  functions: { value: uncalled, enumerable: true },
  apis: { value: uncalled, enumerable: true },
});
