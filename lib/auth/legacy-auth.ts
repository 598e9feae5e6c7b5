import type { APIInterface, RecipeInterface } from "supertokens-node/recipe/emailpassword";
import type * as PasswordlessTypes from "supertokens-node/recipe/passwordless";
import type * as ThirdPartyTypes from "supertokens-node/recipe/thirdparty";
import { ConfigError } from "../errors.js";
import type { RoleStats } from "../roles.js";
import { detectHashFormat } from "../hashes/index.js";
import { authLog } from "./log.js";
import {
  resolveLegacyAuthOptions,
  type ApisOverride,
  type FunctionsOverride,
  type LegacyAuthOptions,
  type PasswordlessOverride,
  type ThirdPartyOverride,
} from "./options.js";
import { DecisionMemo, legacyApis, legacyFunctions } from "./overrides.js";
import { legacyPasswordlessApis, legacyPasswordlessFunctions } from "./passwordless.js";
import { assertRecipesGuarded, checkAfterInit } from "./recipe-guard.js";
import { legacyThirdPartyApis, legacyThirdPartyFunctions } from "./thirdparty.js";
import { LegacyAuthRuntime } from "./runtime.js";
import { UsersView, type AnyUser, type FinishPendingResult, type MigrationProgress } from "./users-view.js";

/** EmailPassword's `override`, plus helpers that read both stores. Pass the whole object as `override`. */
export interface LegacyAuth {
  functions: FunctionsOverride;
  apis: ApisOverride;
  /** ThirdParty's `override`: `ThirdParty.init({ ..., override: legacy.thirdParty })`. */
  thirdParty: Required<Pick<ThirdPartyOverride, "functions" | "apis">>;
  /** Passwordless' `override`: `Passwordless.init({ ..., override: legacy.passwordless })`. */
  passwordless: Required<Pick<PasswordlessOverride, "functions" | "apis">>;
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
  /** Counters since start-up: `roles`, what became of moved users' legacy roles (granted, created, unknown...). */
  stats(): { roles: RoleStats };
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

  const tp = config.thirdPartyOverride;
  const pl = config.passwordlessOverride;
  return Object.freeze({
    functions: (original: RecipeInterface, builder: Parameters<FunctionsOverride>[1]) => {
      checkAfterInit();
      const ours = guardedFunctions(legacyFunctions(rt, memo, original));
      return config.override.functions ? config.override.functions(ours, builder) : ours;
    },
    apis: (original: APIInterface, builder: Parameters<ApisOverride>[1]) => {
      const ours = guardedFunctions(legacyApis(rt, memo, original));
      return config.override.apis ? config.override.apis(ours, builder) : ours;
    },
    thirdParty: Object.freeze({
      functions: (original: ThirdPartyTypes.RecipeInterface, builder: TpBuilder<"functions">) => {
        checkAfterInit();
        const ours = legacyThirdPartyFunctions(rt, original);
        return tp.functions ? tp.functions(ours, builder) : ours;
      },
      apis: (original: ThirdPartyTypes.APIInterface, builder: TpBuilder<"apis">) => {
        const ours = legacyThirdPartyApis(original);
        return tp.apis ? tp.apis(ours, builder) : ours;
      },
    }),
    passwordless: Object.freeze({
      functions: (original: PasswordlessTypes.RecipeInterface, builder: PlBuilder<"functions">) => {
        checkAfterInit();
        const ours = legacyPasswordlessFunctions(rt, original);
        return pl.functions ? pl.functions(ours, builder) : ours;
      },
      apis: (original: PasswordlessTypes.APIInterface, builder: PlBuilder<"apis">) => {
        const ours = legacyPasswordlessApis(rt, original);
        return pl.apis ? pl.apis(ours, builder) : ours;
      },
    }),
    getUserById: (id: string) => view.getUserById(id),
    getUserByEmail: (email: string, tenantId?: string) => view.getUserByEmail(email, tenantId),
    getUserCount: () => view.getUserCount(),
    migrationProgress: () => view.migrationProgress(),
    finishPendingMigrations: (opts?: { minAgeMs?: number }) => view.finishPendingMigrations(opts),
    stats: () => ({ roles: rt.roleStats() }),
  });
}

type TpBuilder<K extends "functions" | "apis"> = Parameters<NonNullable<ThirdPartyOverride[K]>>[1];
type PlBuilder<K extends "functions" | "apis"> = Parameters<NonNullable<PasswordlessOverride[K]>>[1];

/**
 * Every EmailPassword function and API of legacyAuth first checks that ThirdParty and Passwordless, when the app
 * initialised them, carry legacyAuth's override too (recipe-guard.ts): fail closed, naming the fix.
 */
function guardedFunctions<T extends object>(layer: T): T {
  const out: Record<string, unknown> = { ...(layer as Record<string, unknown>) };
  for (const [key, value] of Object.entries(layer)) {
    if (typeof value !== "function") continue;
    out[key] = (...args: unknown[]) => {
      assertRecipesGuarded();
      return (value as (...a: unknown[]) => unknown)(...args);
    };
  }
  return out as T;
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
