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

export interface UserRecord {
  /** SuperTokens (internal) recipe user id. */
  id: string;
  recipeId: "emailpassword";
  email: string;
  passwordHash: string;
  timeJoined: number;
  tenantIds: string[];
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
}

/** One user for `AppStorage.importUsers`: what the bulk import's processing writes for one email-password user. */
export interface ImportUserRecord {
  user: UserRecord;
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
  /** Handles of live (unexpired at `now`) sessions whose stored userId is one of `userIds`. */
  findSessionHandles(userIds: string[], now: number, tenantId?: string): Promise<string[]>;

  // email-password users
  /** Insert unless an email-password user with the same email exists in one of its tenants. */
  insertUser(user: UserRecord): Promise<"OK" | "EMAIL_ALREADY_EXISTS">;
  getUser(id: string): Promise<UserRecord | undefined>;
  findUsersByEmail(email: string, tenantId: string): Promise<UserRecord[]>;
  updateUser(
    id: string,
    patch: Partial<Pick<UserRecord, "email" | "passwordHash" | "tenantIds">>,
  ): Promise<"OK" | "EMAIL_ALREADY_EXISTS" | "UNKNOWN_USER">;
  deleteUser(id: string): Promise<boolean>;
  listUsers(query: ListUsersQuery): Promise<UserRecord[]>;
  countUsers(tenantId?: string): Promise<number>;

  /**
   * Import users in order, each all or nothing, with the outcome of each: exactly what the one-by-one sequence
   * (importUsersOneByOne: check the external id, insertUser, insertMapping, setEmailVerified, merge metadata) gives,
   * including users of the same call that collide with each other. A persistent backend may write them in batches.
   */
  importUsers(records: ImportUserRecord[]): Promise<ImportUserOutcome[]>;

  // user id mapping
  getMapping(id: string, type: "SUPERTOKENS" | "EXTERNAL"): Promise<UserIdMappingRecord | undefined>;
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
