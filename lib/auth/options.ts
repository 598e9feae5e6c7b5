import type EmailPassword from "supertokens-node/recipe/emailpassword";
import type Passwordless from "supertokens-node/recipe/passwordless";
import type ThirdParty from "supertokens-node/recipe/thirdparty";
import type { User } from "supertokens-node";
import {
  booleanOption,
  functionOption,
  invalidOption,
  objectOption,
  readOptions,
  requiredFunction,
  stringOption,
  type OptionKeys,
} from "../options.js";
import { DEFAULT_DUMMY_HASH, type PasswordVerifier } from "../hashes/index.js";
import { resolveMetrics, type MigrationMetrics, type MigrationMetricsOption } from "../metrics.js";
import type { LegacyRolesValue } from "../roles.js";

/** A row of the app's own users table, as legacyAuth needs it. */
export interface LegacyUser {
  /** Primary key. Numbers are turned into strings: it becomes the SuperTokens external user id. */
  id: string | number | bigint;
  email: string;
  /** The stored hash. `null` (no password, e.g. a social-login-only row) can never sign in with a password. */
  passwordHash: string | null;
  /**
   * Whether the app had verified `email`. Carried into SuperTokens when the user first signs in with a provider or
   * a magic link (a magic link verifies it anyway). Default: false.
   */
  emailVerified?: boolean;
  /**
   * The user's roles in the legacy app: one role, a comma-separated list, or an array (what a PostgreSQL `text[]`,
   * `json` or `jsonb` column gives). They become SuperTokens UserRoles when the user is moved. Default: none.
   */
  roles?: LegacyRolesValue;
}

/**
 * What a lookup by email may answer. Return every row when several match after SuperTokens' normalisation
 * (trim + lower case): legacyAuth then refuses to move, or let anyone sign up with, that email (T13).
 */
export type LegacyLookup = LegacyUser | readonly LegacyUser[] | undefined | null;

/** Reported to `onUserMigrated` once a legacy user lives in SuperTokens. Holds no password or hash. */
export interface UserMigratedEvent {
  /** The legacy id, now the SuperTokens (external) user id. */
  userId: string;
  email: string;
  tenantId: string;
  user: User;
  /**
   * `signIn`: first sign-in with the legacy password. `passwordReset`: completed a reset while legacy-only.
   * `thirdParty`: first sign-in with a provider (ThirdParty). `passwordless`: first magic link or one-time code.
   */
  via: "signIn" | "passwordReset" | "thirdParty" | "passwordless";
  /** True when the legacy hash was imported byte for byte; false when the core hashed the password itself. */
  hashImported: boolean;
}

/** EmailPassword.init's `override`: the SDK's own types for the two functions, builder included. */
type EmailPasswordOverride = NonNullable<NonNullable<Parameters<typeof EmailPassword.init>[0]>["override"]>;
export type FunctionsOverride = NonNullable<EmailPasswordOverride["functions"]>;
export type ApisOverride = NonNullable<EmailPasswordOverride["apis"]>;
/** ThirdParty.init's and Passwordless.init's `override`, as the SDK types them. */
export type ThirdPartyOverride = NonNullable<NonNullable<Parameters<typeof ThirdParty.init>[0]>["override"]>;
export type PasswordlessOverride = NonNullable<Parameters<typeof Passwordless.init>[0]["override"]>;

export interface LegacyAuthOptions {
  /**
   * Look a user up by email, already normalised as SuperTokens does (trimmed, lower case): match
   * case-insensitively. `tenantId` is the SuperTokens tenant of the request. Required.
   */
  findUserByEmail?: (email: string, tenantId: string) => Promise<LegacyLookup>;
  /** Look a user up by primary key (as a string). Required. */
  findUserById?: (id: string) => Promise<LegacyUser | undefined | null>;
  /**
   * Look a user up by a social login they had in the legacy app: SuperTokens' `thirdPartyId` ("google", "github",
   * or your custom provider's id; map it to your own provider column) and the provider's user id (Google's `sub`,
   * GitHub's numeric id as a string). Their first sign-in through ThirdParty then lands on their legacy id. Default:
   * none; a provider sign-in then matches a legacy user only by an email the provider says is verified.
   */
  findUserByThirdParty?: (
    thirdPartyId: string,
    thirdPartyUserId: string,
    tenantId: string,
  ) => Promise<LegacyUser | undefined | null>;
  /** Number of rows in the legacy table. Default: none; `getUserCount()` and `migrationProgress()` then throw. */
  countLegacyUsers?: () => Promise<number>;
  /**
   * The legacy rows among `ids` (any may be unknown or not even of the key's type). Lets `migrationProgress()`
   * and `getUserCount()` count moved users with one query per page of SuperTokens users. Default: none, then
   * `findUserById` is asked once per SuperTokens user.
   */
  findUsersByIds?: (ids: readonly string[]) => Promise<readonly LegacyUser[]>;
  /** Accepted so that `createPgLegacyUsers()`'s result can be spread in; legacyAuth does not call it. */
  listLegacyUsers?: (page: { after?: string; limit: number }) => Promise<readonly LegacyUser[]>;
  /**
   * Replaces format detection: answer whether `password` matches `hash`. Hashes verified this way are never
   * imported as they are (the core could not know how to check them): the user is created with the password.
   * Default: recognise bcrypt, argon2, scrypt, PBKDF2 (incl. Django) and Firebase scrypt, plus `verifiers`.
   */
  verifyPassword?: (password: string, hash: string) => Promise<boolean>;
  /** Extra formats, asked before the built-in ones; see `PasswordVerifier`. Default: none. */
  verifiers?: Record<string, PasswordVerifier>;
  /** Firebase project's base64 signer key, for `$f_scrypt$` hashes; the core must have the same key. Default: none. */
  firebaseSignerKey?: string;
  /**
   * Called after a legacy user is moved (e.g. to flag or delete the legacy row). Awaited; what it throws is
   * logged and swallowed, because the user is already moved and the sign-in must not fail. Default: none.
   */
  onUserMigrated?: (event: UserMigratedEvent) => void | Promise<void>;
  /**
   * Tenants whose users the legacy table holds. Elsewhere legacyAuth stays out of the way. A legacy id maps to
   * one SuperTokens user, so a user moved in one tenant is not moved again in another. Default: `["public"]`.
   */
  tenantIds?: readonly string[];
  /**
   * A hash from the legacy table, or its cost prefix (`$2b$12$`): an unknown email spends the same time on a
   * throwaway verify of that cost, so timing does not tell which emails have accounts (T14). Default: `$2b$10$`.
   */
  dummyHash?: string;
  /**
   * The app's own EmailPassword overrides. legacyAuth applies them on top of its own: yours see the finished
   * behaviour (legacy users signing in, sign-up refused), and legacyAuth's internal writes bypass yours so your
   * hooks never see a half-moved user. Default: none.
   */
  override?: { functions?: FunctionsOverride; apis?: ApisOverride };
  /** The app's own ThirdParty overrides, on top of `legacyAuth().thirdParty` as with `override`. Default: none. */
  thirdPartyOverride?: ThirdPartyOverride;
  /** The app's own Passwordless overrides, applied on top of `legacyAuth().passwordless`. Default: none. */
  passwordlessOverride?: PasswordlessOverride;
  /**
   * Moved users as OpenTelemetry metrics (docs/metrics.md). Default: the global MeterProvider of
   * `@opentelemetry/api` when it is installed, none otherwise. `false`: none. `{ meterProvider }`: that one.
   */
  metrics?: MigrationMetricsOption;
  /**
   * The roles of a legacy user, from the row the lookups returned: one role, a comma-separated list or an array.
   * They are given to the user as SuperTokens UserRoles (in the tenant of the sign-in) when the user is moved, before
   * the first session, so its access token carries them. Needs UserRoles.init() in the recipe list. Default: the
   * row's `roles` field (createPgLegacyUsers reads it from `columns.roles`); none when it has none.
   */
  getRoles?: (user: LegacyUser) => LegacyRolesValue | Promise<LegacyRolesValue>;
  /**
   * Create a legacy role in the core when it does not exist yet. `false`: a role the core does not know is left
   * out (counted in `stats().roles.unknown`, said once on console.error); the sign-in goes on. Default: true.
   */
  createRoles?: boolean;
}

export interface LegacyAuthConfig {
  readonly findUserByEmail: (email: string, tenantId: string) => Promise<LegacyLookup>;
  readonly findUserById: (id: string) => Promise<LegacyUser | undefined | null>;
  readonly findUserByThirdParty?: (
    thirdPartyId: string,
    thirdPartyUserId: string,
    tenantId: string,
  ) => Promise<LegacyUser | undefined | null>;
  readonly countLegacyUsers?: () => Promise<number>;
  readonly findUsersByIds?: (ids: readonly string[]) => Promise<readonly LegacyUser[]>;
  readonly verifyPassword?: (password: string, hash: string) => Promise<boolean>;
  readonly verifiers: Readonly<Record<string, PasswordVerifier>>;
  readonly firebaseSignerKey?: string;
  readonly onUserMigrated?: (event: UserMigratedEvent) => void | Promise<void>;
  readonly tenantIds: readonly string[];
  readonly dummyHash: string;
  readonly override: { readonly functions?: FunctionsOverride; readonly apis?: ApisOverride };
  readonly thirdPartyOverride: Readonly<ThirdPartyOverride>;
  readonly passwordlessOverride: Readonly<PasswordlessOverride>;
  readonly metrics: MigrationMetrics;
  readonly getRoles?: (user: LegacyUser) => LegacyRolesValue | Promise<LegacyRolesValue>;
  readonly createRoles: boolean;
}

/** Every option of legacyAuth: the build fails when LegacyAuthOptions gains one not listed. */
const LEGACY_AUTH_KEYS = {
  findUserByEmail: true,
  findUserById: true,
  findUserByThirdParty: true,
  countLegacyUsers: true,
  findUsersByIds: true,
  listLegacyUsers: true,
  verifyPassword: true,
  verifiers: true,
  firebaseSignerKey: true,
  onUserMigrated: true,
  tenantIds: true,
  dummyHash: true,
  override: true,
  thirdPartyOverride: true,
  passwordlessOverride: true,
  metrics: true,
  getRoles: true,
  createRoles: true,
} satisfies OptionKeys<LegacyAuthOptions>;

const OVERRIDE_KEYS = { functions: true, apis: true } satisfies OptionKeys<NonNullable<LegacyAuthOptions["override"]>>;

/** Every default of legacyAuth, and nowhere else. */
export const LEGACY_AUTH_DEFAULTS = Object.freeze({
  tenantIds: Object.freeze<string[]>(["public"]),
  dummyHash: DEFAULT_DUMMY_HASH,
  verifiers: Object.freeze({}) as Readonly<Record<string, PasswordVerifier>>,
  override: Object.freeze({}) as LegacyAuthConfig["override"],
  createRoles: true,
});

const what = "legacyAuth";
const spreadPg = "or spread in createPgLegacyUsers({ pool, table }).";

function resolveVerifiers(value: unknown): Readonly<Record<string, PasswordVerifier>> {
  if (value === undefined) return LEGACY_AUTH_DEFAULTS.verifiers;
  objectOption(what, "verifiers", value as object, "an object of { name: { detect(hash), verify(password, hash) } }");
  const out: Record<string, PasswordVerifier> = {};
  for (const [name, verifier] of Object.entries(value as object)) {
    const v = verifier as Partial<PasswordVerifier> | null;
    if (!v || typeof v.detect !== "function" || typeof v.verify !== "function") {
      throw invalidOption(
        what,
        `verifiers.${name}`,
        "an object with `detect(hash)` and `verify(password, hash)` functions",
        verifier,
      );
    }
    out[name] = v as PasswordVerifier;
  }
  return Object.freeze(out);
}

function resolveTenantIds(value: unknown): readonly string[] {
  if (value === undefined) return LEGACY_AUTH_DEFAULTS.tenantIds;
  if (!Array.isArray(value) || value.length === 0 || value.some((t) => typeof t !== "string" || t.trim() === "")) {
    throw invalidOption(
      what,
      "tenantIds",
      "a non-empty array of tenant ids",
      value,
      'Leave it undefined for ["public"].',
    );
  }
  return Object.freeze([...new Set(value as string[])]);
}

function resolveOverride<T extends { functions?: unknown; apis?: unknown }>(
  name: string,
  recipe: string,
  value: T | undefined,
): Readonly<T> {
  if (value === undefined) return LEGACY_AUTH_DEFAULTS.override as Readonly<T>;
  const o = objectOption(
    what,
    name,
    value,
    `an object { functions?, apis? }, as ${recipe}.init takes it`,
    OVERRIDE_KEYS,
  )!;
  return Object.freeze({
    functions: functionOption(what, `${name}.functions`, o.functions),
    apis: functionOption(what, `${name}.apis`, o.apis),
  }) as Readonly<T>;
}

/** Run once, when legacyAuth() is called; nothing is validated at request time. */
export function resolveLegacyAuthOptions(input: LegacyAuthOptions | undefined): LegacyAuthConfig {
  const o = readOptions(what, input, LEGACY_AUTH_KEYS, "with at least findUserByEmail and findUserById");
  const dummyHash = stringOption(what, "dummyHash", o.dummyHash, LEGACY_AUTH_DEFAULTS.dummyHash, {
    expected: 'a hash from the legacy table or its cost prefix, e.g. "$2b$12$"',
    test: (h) => h.trim() !== "",
  });
  const firebaseSignerKey = stringOption(what, "firebaseSignerKey", o.firebaseSignerKey, undefined, {
    expected: "the base64 signer key of the Firebase project, or undefined",
  });
  functionOption(what, "listLegacyUsers", o.listLegacyUsers);
  return Object.freeze({
    findUserByEmail: requiredFunction(
      what,
      "findUserByEmail",
      o.findUserByEmail,
      `pass async (email, tenantId) => ({ id, email, passwordHash }) or undefined, ${spreadPg}`,
    ),
    findUserById: requiredFunction(
      what,
      "findUserById",
      o.findUserById,
      `pass async (id) => ({ id, email, passwordHash }) or undefined, ${spreadPg}`,
    ),
    findUserByThirdParty: functionOption(what, "findUserByThirdParty", o.findUserByThirdParty),
    countLegacyUsers: functionOption(what, "countLegacyUsers", o.countLegacyUsers),
    findUsersByIds: functionOption(what, "findUsersByIds", o.findUsersByIds),
    verifyPassword: functionOption(what, "verifyPassword", o.verifyPassword),
    verifiers: resolveVerifiers(o.verifiers),
    firebaseSignerKey,
    onUserMigrated: functionOption(what, "onUserMigrated", o.onUserMigrated),
    tenantIds: resolveTenantIds(o.tenantIds),
    dummyHash,
    override: resolveOverride("override", "EmailPassword", o.override),
    thirdPartyOverride: resolveOverride("thirdPartyOverride", "ThirdParty", o.thirdPartyOverride),
    passwordlessOverride: resolveOverride("passwordlessOverride", "Passwordless", o.passwordlessOverride),
    metrics: resolveMetrics(what, o.metrics),
    getRoles: functionOption(what, "getRoles", o.getRoles),
    createRoles: booleanOption(what, "createRoles", o.createRoles, LEGACY_AUTH_DEFAULTS.createRoles),
  });
}
