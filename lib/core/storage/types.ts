import type { PasswordlessCodeStorage } from "./passwordless.js";
import type { RoleStorage } from "./roles.js";

/**
 * The dev core's storage contract. One `CoreStorage` holds every app; each app's data is reached through
 * `app(appId)` and never leaks into another app. Every method is async so that a persistent backend
 * (PostgreSQL in the core's own table layout) can implement the same contract.
 *
 * Methods that decide a race (insert a user whose email must be unique, rotate a refresh token, consume a
 * one-time token) are single calls with compare-and-set semantics, so a backend can make them atomic.
 */

export interface TenantRecord {
  tenantId: string;
  firstFactors?: string[] | null;
  requiredSecondaryFactors?: string[] | null;
  coreConfig: Record<string, unknown>;
  /**
   * Third-party provider configs (the SDK's ProviderConfig JSON: thirdPartyId, name, clients, endpoints…), in
   * the order first created; absent means none.
   */
  thirdPartyProviders?: Record<string, unknown>[];
}

export interface AppRecord {
  appId: string;
  /** Stored fragment; merged over the dev core's base config. */
  coreConfig: Record<string, unknown>;
  firstFactors?: string[] | null;
  requiredSecondaryFactors?: string[] | null;
  createdAt: number;
}

export interface SigningKeyRecord {
  /** `d-<createdAtMs>` for dynamic keys, `s-<uuid>` for the static key. */
  kid: string;
  type: "dynamic" | "static" | "refresh";
  createdAt: number;
  /** PKCS#8 PEM. */
  privateKey: string;
  /** SPKI PEM. */
  publicKey: string;
}

export interface SessionRecord {
  handle: string;
  /** Primary user id as the session was created with it (external id when a mapping existed). */
  userId: string;
  recipeUserId: string;
  tenantId: string;
  userDataInJWT: Record<string, unknown>;
  userDataInDatabase: Record<string, unknown>;
  /** sha256hex(sha256hex(current refresh token)). */
  refreshTokenHash2: string;
  /** Session expiry in ms (moves on promotion). */
  expiry: number;
  createdAt: number;
  useStaticKey: boolean;
}

/**
 * What every recipe user has. A recipe user is one login method; linked recipe users share
 * `primaryOrRecipeUserId` (the id of the primary user, which is itself one of them) and form one primary user.
 */
export interface RecipeUserBase {
  /** SuperTokens (internal) recipe user id. */
  id: string;
  timeJoined: number;
  tenantIds: string[];
  /** The primary user this recipe user belongs to; absent means `id` (not linked, or the primary itself). */
  primaryOrRecipeUserId?: string;
  /** True for a primary user and for every recipe user linked to one; absent means false. */
  isLinkedOrPrimary?: boolean;
}

export interface EmailPasswordUserRecord extends RecipeUserBase {
  recipeId: "emailpassword";
  email: string;
  passwordHash: string;
}

export interface ThirdPartyUserRecord extends RecipeUserBase {
  recipeId: "thirdparty";
  email: string;
  /** The provider (`id`, e.g. "google") and the user's id at that provider; unique per tenant. */
  thirdParty: { id: string; userId: string };
}

export interface PasswordlessUserRecord extends RecipeUserBase {
  recipeId: "passwordless";
  /** At least one of email and phoneNumber; each unique among passwordless users of a tenant. */
  email?: string;
  /** E.164. */
  phoneNumber?: string;
}

/** One login method as stored: the recipe's fields plus the account-linking fields. */
export type UserRecord = EmailPasswordUserRecord | ThirdPartyUserRecord | PasswordlessUserRecord;
export type AuthRecipeId = UserRecord["recipeId"];

/**
 * The account info of GET /users/by-accountinfo: a recipe user matches when it has any of the given values.
 * Emails are normalised (trimmed, lower-cased), phone numbers E.164.
 */
export interface AccountInfoQuery {
  email?: string;
  phoneNumber?: string;
  thirdParty?: { id: string; userId: string };
}

/** insertUser's outcomes: a value unique per tenant within the user's recipe is taken (the core's Duplicate*). */
export type InsertUserResult =
  "OK" | "EMAIL_ALREADY_EXISTS" | "PHONE_NUMBER_ALREADY_EXISTS" | "THIRD_PARTY_USER_ALREADY_EXISTS";

/** updateUser's patch; `null` removes a passwordless user's email or phone number. */
export interface UserPatch {
  email?: string | null;
  passwordHash?: string;
  phoneNumber?: string | null;
  tenantIds?: string[];
}

export interface UserIdMappingRecord {
  superTokensUserId: string;
  externalUserId: string;
  externalUserIdInfo?: string;
}

export interface OneTimeTokenRecord {
  tokenHash: string;
  /** SuperTokens id for reset tokens; the id as given (external if mapped) for email verification. */
  userId: string;
  email: string;
  tenantId: string;
  expiry: number;
}

export interface ListUsersQuery {
  tenantId?: string;
  order: "ASC" | "DESC";
  limit: number;
  /** First user of the page (inclusive), from a pagination token. */
  from?: { id: string; timeJoined: number };
  emailContains?: string[];
  /** Only primary-or-recipe users with a login method of one of these recipes. */
  recipeIds?: AuthRecipeId[];
}

/** One user for `AppStorage.importUsers`: what the bulk import's processing writes for one email-password user. */
export interface ImportUserRecord {
  user: EmailPasswordUserRecord;
  /** Mapped to `user.id`; the user's email verification and metadata then live under this id. */
  externalUserId?: string;
  /** Mark `user.email` verified (under the external id when mapped). */
  verified: boolean;
  /** Merged over the metadata already stored (a null value removes the key), as PUT /recipe/user/metadata does. */
  metadataUpdate?: Record<string, unknown>;
}

/**
 * Why a user was not imported. `error` is anything else (a tenant that does not exist, a user id taken): that user
 * is left as it was, the others are not affected.
 */
export type ImportUserOutcome =
  "OK" | "EMAIL_ALREADY_EXISTS" | "EXTERNAL_ID_EXISTS" | "EXTERNAL_ID_IS_USER_ID" | { error: unknown };

export interface AppStorage {
  /** Passwordless: sign-in attempts (devices) and the codes sent for them, per tenant. */
  readonly passwordlessCodes: PasswordlessCodeStorage;

  /** UserRoles: roles, their permissions, and the roles users hold per tenant. */
  readonly roles: RoleStorage;

  // signing keys
  listSigningKeys(): Promise<SigningKeyRecord[]>;
  addSigningKey(key: SigningKeyRecord): Promise<void>;
  removeSigningKeys(kids: string[]): Promise<void>;

  // sessions
  createSession(session: SessionRecord): Promise<void>;
  getSession(handle: string): Promise<SessionRecord | undefined>;
  /** Replace refresh hash and expiry only if the stored hash is still `expectedHash2`. */
  rotateSession(
    handle: string,
    expectedHash2: string,
    next: { refreshTokenHash2: string; expiry: number },
  ): Promise<boolean>;
  updateSession(
    handle: string,
    patch: Partial<Pick<SessionRecord, "userDataInJWT" | "userDataInDatabase" | "useStaticKey">>,
  ): Promise<boolean>;
  /** Delete and return the handles that existed. */
  deleteSessions(handles: string[]): Promise<string[]>;
  /**
   * Handles of live (unexpired at `now`) sessions whose recipe user id is one of `userIds` (the core's
   * session_info.user_id; without account linking it is the session's user id).
   */
  findSessionHandles(userIds: string[], now: number, tenantId?: string): Promise<string[]>;

  // auth recipe users (email-password, third-party, passwordless), each a login method
  /**
   * Insert a recipe user of any recipe unless a value unique per tenant within its recipe is taken in one of its
   * tenants: the email of an email-password user, the (provider, provider user id) of a third-party user, the
   * email or phone number of a passwordless user. The account-linking fields may be left out (not linked).
   */
  insertUser(user: UserRecord): Promise<InsertUserResult>;
  /** A recipe user of any recipe by its own id. */
  getUser(id: string): Promise<UserRecord | undefined>;
  /** Email-password users with this email in this tenant (the sign-in lookup). */
  findUsersByEmail(email: string, tenantId: string): Promise<EmailPasswordUserRecord[]>;
  /**
   * Recipe users of every recipe that hold any of the given account infos, in `tenantId` when given, oldest first.
   */
  findUsersByAccountInfo(info: AccountInfoQuery, tenantId?: string): Promise<UserRecord[]>;
  /**
   * The recipe users whose primaryOrRecipeUserId is `primaryOrRecipeUserId` (the login methods of a primary user,
   * or the one user that is not linked), oldest first.
   */
  getLinkedUsers(primaryOrRecipeUserId: string): Promise<UserRecord[]>;
  /**
   * Make `recipeUserId` a primary user (`primaryUserId` equal to it), link it to a primary user, or unlink it
   * (`undefined`: its own primary-or-recipe id again, not linked). False when the recipe user does not exist.
   */
  setLink(recipeUserId: string, primaryUserId: string | undefined): Promise<boolean>;
  /**
   * Uniqueness as insertUser's, within the user's recipe; "same email as now" is no change. A patch field that
   * does not fit the user's recipe is ignored.
   */
  updateUser(
    id: string,
    patch: UserPatch,
  ): Promise<"OK" | "EMAIL_ALREADY_EXISTS" | "PHONE_NUMBER_ALREADY_EXISTS" | "UNKNOWN_USER">;
  deleteUser(id: string): Promise<boolean>;
  /**
   * Primary-or-recipe users (one row per primary user, the recipe user whose id it has; linked recipe users are
   * not listed on their own) in the core's order, with a login method in `tenantId` when given.
   */
  listUsers(query: ListUsersQuery): Promise<UserRecord[]>;
  /** Distinct primary-or-recipe users, optionally with a login method in a tenant or of given recipes. */
  countUsers(tenantId?: string, recipeIds?: AuthRecipeId[]): Promise<number>;

  /**
   * Import users in order, each all or nothing, with the outcome of each: exactly what the one-by-one sequence
   * (importUsersOneByOne: check the external id, insertUser, insertMapping, setEmailVerified, merge metadata) gives,
   * including users of the same call that collide with each other. A persistent backend may write them in batches.
   */
  importUsers(records: ImportUserRecord[]): Promise<ImportUserOutcome[]>;

  // user id mapping
  getMapping(id: string, type: "SUPERTOKENS" | "EXTERNAL"): Promise<UserIdMappingRecord | undefined>;
  /**
   * The mappings of these SuperTokens ids, keyed by SuperTokens id (unmapped ids are absent): a page of listed users
   * in one lookup, not one per user.
   */
  getMappings(superTokensUserIds: string[]): Promise<Map<string, UserIdMappingRecord>>;
  insertMapping(mapping: UserIdMappingRecord): Promise<"OK" | "EXISTS">;
  deleteMapping(superTokensUserId: string): Promise<boolean>;
  updateMappingInfo(superTokensUserId: string, info: string | undefined): Promise<boolean>;

  // password reset tokens
  addResetToken(token: OneTimeTokenRecord): Promise<void>;
  /** Find by hash, delete every token of that user, and return the row found. */
  consumeResetToken(tokenHash: string): Promise<OneTimeTokenRecord | undefined>;
  listResetTokens(): Promise<OneTimeTokenRecord[]>;

  // user metadata
  getMetadata(userId: string): Promise<Record<string, unknown> | undefined>;
  setMetadata(userId: string, metadata: Record<string, unknown>): Promise<void>;
  deleteMetadata(userId: string): Promise<boolean>;

  // email verification
  isEmailVerified(userId: string, email: string): Promise<boolean>;
  /** isEmailVerified for each pair, in order, in one lookup. */
  verifiedEmails(pairs: { userId: string; email: string }[]): Promise<boolean[]>;
  setEmailVerified(userId: string, email: string, verified: boolean): Promise<void>;
  /** Move verification rows from one id to another (mapping creation moves them to the external id). */
  renameEmailVerificationUser(from: string, to: string): Promise<void>;
  hasEmailVerificationData(userId: string): Promise<boolean>;
  addEmailVerificationToken(token: OneTimeTokenRecord): Promise<void>;
  consumeEmailVerificationToken(tokenHash: string): Promise<OneTimeTokenRecord | undefined>;
  deleteEmailVerificationTokens(userId: string, email: string): Promise<void>;
  deleteEmailVerificationData(userId: string): Promise<void>;
}

export interface CoreStorage {
  listApps(): Promise<AppRecord[]>;
  getApp(appId: string): Promise<AppRecord | undefined>;
  putApp(app: AppRecord): Promise<void>;
  deleteApp(appId: string): Promise<boolean>;
  listTenants(appId: string): Promise<TenantRecord[]>;
  getTenant(appId: string, tenantId: string): Promise<TenantRecord | undefined>;
  putTenant(appId: string, tenant: TenantRecord): Promise<void>;
  deleteTenant(appId: string, tenantId: string): Promise<boolean>;
  app(appId: string): AppStorage;
  close?(): Promise<void>;
}
