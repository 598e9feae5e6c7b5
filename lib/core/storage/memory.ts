import { importUsersOneByOne } from "./import-users.js";
import { MemoryPasswordlessCodeStorage } from "./passwordless-memory.js";
import { MemoryRoleStorage } from "./roles-memory.js";
import type {
  AppRecord,
  AppStorage,
  CoreStorage,
  ImportUserRecord,
  ListUsersQuery,
  OneTimeTokenRecord,
  SessionRecord,
  SigningKeyRecord,
  TenantRecord,
  UserIdMappingRecord,
  UserRecord,
  AccountInfoQuery,
  AuthRecipeId,
  EmailPasswordUserRecord,
  InsertUserResult,
  UserPatch,
  PasswordlessUserRecord,
} from "./types.js";
import { applyPatch, byTimeJoined, matchesAccountInfo } from "./users.js";

/**
 * In-memory storage. Each method body runs without an `await` in the middle, so on Node's single thread every
 * call is atomic: that is what makes the compare-and-set methods safe here.
 */
class MemoryAppStorage implements AppStorage {
  readonly passwordlessCodes = new MemoryPasswordlessCodeStorage();
  readonly roles = new MemoryRoleStorage();
  private keys: SigningKeyRecord[] = [];
  private sessions = new Map<string, SessionRecord>();
  private users = new Map<string, UserRecord>();
  /** email -> ids of the users holding it: a bulk import of 100,000 users must not scan every user per insert. */
  private idsByEmail = new Map<string, Set<string>>();
  /**
   * Users in each listing order, rebuilt after an insert or delete: paging through 100,000 users must not sort per
   * page.
   */
  /** Set once a user is linked or made primary: until then each listed user is its own group. */
  private anyLinked = false;
  private sorted: Partial<Record<"ASC" | "DESC", UserRecord[]>> = {};
  private mappingsBySt = new Map<string, UserIdMappingRecord>();
  private mappingsByExt = new Map<string, UserIdMappingRecord>();
  private resetTokens = new Map<string, OneTimeTokenRecord>();
  private metadata = new Map<string, Record<string, unknown>>();
  /** userId -> set of verified emails */
  private verified = new Map<string, Set<string>>();
  private evTokens = new Map<string, OneTimeTokenRecord>();

  async listSigningKeys() {
    return this.keys.slice();
  }
  async addSigningKey(key: SigningKeyRecord) {
    this.keys.push(key);
  }
  async removeSigningKeys(kids: string[]) {
    this.keys = this.keys.filter((k) => !kids.includes(k.kid));
  }

  async createSession(session: SessionRecord) {
    this.sessions.set(session.handle, structuredClone(session));
  }
  async getSession(handle: string) {
    const s = this.sessions.get(handle);
    return s && structuredClone(s);
  }
  async rotateSession(handle: string, expectedHash2: string, next: { refreshTokenHash2: string; expiry: number }) {
    const s = this.sessions.get(handle);
    if (!s || s.refreshTokenHash2 !== expectedHash2) return false;
    s.refreshTokenHash2 = next.refreshTokenHash2;
    s.expiry = next.expiry;
    return true;
  }
  async updateSession(
    handle: string,
    patch: Partial<Pick<SessionRecord, "userDataInJWT" | "userDataInDatabase" | "useStaticKey">>,
  ) {
    const s = this.sessions.get(handle);
    if (!s) return false;
    Object.assign(s, structuredClone(patch));
    return true;
  }
  async deleteSessions(handles: string[]) {
    return handles.filter((h) => this.sessions.delete(h));
  }
  async findSessionHandles(userIds: string[], now: number, tenantId?: string) {
    const out: string[] = [];
    for (const s of this.sessions.values()) {
      if (s.expiry > now && userIds.includes(s.recipeUserId) && (tenantId === undefined || s.tenantId === tenantId))
        out.push(s.handle);
    }
    return out;
  }

  private withEmail(email: string): UserRecord[] {
    const ids = this.idsByEmail.get(email);
    return ids ? [...ids].map((id) => this.users.get(id)!) : [];
  }
  private indexEmail(id: string, email: string | undefined) {
    if (email === undefined) return;
    let ids = this.idsByEmail.get(email);
    if (!ids) this.idsByEmail.set(email, (ids = new Set()));
    ids.add(id);
  }
  private unindexEmail(id: string, email: string | undefined) {
    if (email === undefined) return;
    const ids = this.idsByEmail.get(email);
    ids?.delete(id);
    if (ids?.size === 0) this.idsByEmail.delete(email);
  }
  /** Another user of `recipeId` sharing a tenant with `tenantIds` and matching `same`. */
  private taken(recipeId: AuthRecipeId, tenantIds: string[], same: (u: UserRecord) => boolean, exceptId?: string) {
    for (const u of this.users.values()) {
      if (u.recipeId === recipeId && u.id !== exceptId && same(u) && u.tenantIds.some((t) => tenantIds.includes(t)))
        return true;
    }
    return false;
  }
  private emailTaken(recipeId: AuthRecipeId, email: string, tenantIds: string[], exceptId?: string) {
    // A third-party user's email is not unique: several providers may vouch for one address.
    if (recipeId === "thirdparty") return false;
    return this.withEmail(email).some(
      (u) => u.recipeId === recipeId && u.id !== exceptId && u.tenantIds.some((t) => tenantIds.includes(t)),
    );
  }
  private conflict(user: UserRecord, exceptId?: string): InsertUserResult {
    if (user.email !== undefined && this.emailTaken(user.recipeId, user.email, user.tenantIds, exceptId))
      return "EMAIL_ALREADY_EXISTS";
    if (user.recipeId === "passwordless" && user.phoneNumber !== undefined) {
      const phone = user.phoneNumber;
      const same = (u: UserRecord) => u.recipeId === "passwordless" && u.phoneNumber === phone;
      if (this.taken("passwordless", user.tenantIds, same, exceptId)) return "PHONE_NUMBER_ALREADY_EXISTS";
    }
    if (user.recipeId === "thirdparty") {
      const tp = user.thirdParty;
      const same = (u: UserRecord) =>
        u.recipeId === "thirdparty" && u.thirdParty.id === tp.id && u.thirdParty.userId === tp.userId;
      if (this.taken("thirdparty", user.tenantIds, same, exceptId)) return "THIRD_PARTY_USER_ALREADY_EXISTS";
    }
    return "OK";
  }
  importUsers(records: ImportUserRecord[]) {
    return importUsersOneByOne(this, records);
  }
  async insertUser(user: UserRecord) {
    const outcome = this.conflict(user);
    if (outcome !== "OK") return outcome;
    this.users.set(user.id, structuredClone(user));
    this.indexEmail(user.id, user.email);
    this.sorted = {};
    return "OK" as const;
  }
  async getUser(id: string) {
    const u = this.users.get(id);
    return u && structuredClone(u);
  }
  async findUsersByEmail(email: string, tenantId: string) {
    return this.withEmail(email)
      .filter((u): u is EmailPasswordUserRecord => u.recipeId === "emailpassword" && u.tenantIds.includes(tenantId))
      .map((u) => structuredClone(u));
  }
  async findUsersByAccountInfo(info: AccountInfoQuery, tenantId?: string) {
    const out: UserRecord[] = [];
    for (const u of this.users.values()) {
      if (tenantId !== undefined && !u.tenantIds.includes(tenantId)) continue;
      if (matchesAccountInfo(u, info)) out.push(structuredClone(u));
    }
    return out.sort(byTimeJoined);
  }
  async getLinkedUsers(primaryOrRecipeUserId: string) {
    const out: UserRecord[] = [];
    for (const u of this.users.values())
      if ((u.primaryOrRecipeUserId ?? u.id) === primaryOrRecipeUserId) out.push(structuredClone(u));
    return out.sort(byTimeJoined);
  }
  async setLink(recipeUserId: string, primaryUserId: string | undefined) {
    const u = this.users.get(recipeUserId);
    if (!u) return false;
    if (primaryUserId === undefined || primaryUserId === recipeUserId) delete u.primaryOrRecipeUserId;
    else u.primaryOrRecipeUserId = primaryUserId;
    if (primaryUserId === undefined) delete u.isLinkedOrPrimary;
    else u.isLinkedOrPrimary = this.anyLinked = true;
    this.sorted = {};
    return true;
  }
  async updateUser(id: string, patch: UserPatch) {
    const u = this.users.get(id);
    if (!u) return "UNKNOWN_USER" as const;
    const next = applyPatch(u, patch);
    if (
      next.email !== undefined &&
      next.email !== u.email &&
      this.emailTaken(u.recipeId, next.email, next.tenantIds, id)
    )
      return "EMAIL_ALREADY_EXISTS" as const;
    if (next.recipeId === "passwordless" && next.phoneNumber !== undefined) {
      const phone = next.phoneNumber;
      const same = (o: UserRecord) => o.recipeId === "passwordless" && o.phoneNumber === phone;
      if (phone !== (u as PasswordlessUserRecord).phoneNumber && this.taken("passwordless", next.tenantIds, same, id))
        return "PHONE_NUMBER_ALREADY_EXISTS" as const;
    }
    this.unindexEmail(id, u.email);
    this.users.set(id, next);
    this.indexEmail(id, next.email);
    this.sorted = {};
    return "OK" as const;
  }
  async deleteUser(id: string) {
    const u = this.users.get(id);
    if (u) this.unindexEmail(id, u.email);
    this.sorted = {};
    return this.users.delete(id);
  }
  /** The tenants and recipes of each primary-or-recipe user's login methods. */
  private groups() {
    const g = new Map<string, { tenants: Set<string>; recipes: Set<string> }>();
    for (const u of this.users.values()) {
      const key = u.primaryOrRecipeUserId ?? u.id;
      let e = g.get(key);
      if (!e) g.set(key, (e = { tenants: new Set(), recipes: new Set() }));
      for (const t of u.tenantIds) e.tenants.add(t);
      e.recipes.add(u.recipeId);
    }
    return g;
  }
  async listUsers(q: ListUsersQuery) {
    const dir = q.order === "ASC" ? 1 : -1;
    // The core orders by time joined in the requested direction, then by user id descending (GeneralQueries).
    const cmp = (a: { timeJoined: number; id: string }, b: { timeJoined: number; id: string }) =>
      a.timeJoined !== b.timeJoined ? dir * (a.timeJoined - b.timeJoined) : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
    const rows = (this.sorted[q.order] ??= [...this.users.values()]
      .filter((u) => u.primaryOrRecipeUserId === undefined || u.primaryOrRecipeUserId === u.id)
      .sort(cmp));
    const groups = this.anyLinked ? this.groups() : undefined;
    let i = 0;
    if (q.from) {
      let hi = rows.length;
      while (i < hi) {
        const mid = (i + hi) >>> 1;
        if (cmp(rows[mid], q.from) < 0) i = mid + 1;
        else hi = mid;
      }
    }
    const out: UserRecord[] = [];
    for (; i < rows.length && out.length < q.limit; i++) {
      const u = rows[i];
      const g = groups?.get(u.id);
      if (q.tenantId !== undefined && !(g ? g.tenants.has(q.tenantId) : u.tenantIds.includes(q.tenantId))) continue;
      if (q.recipeIds && !q.recipeIds.some((r) => (g ? g.recipes.has(r) : u.recipeId === r))) continue;
      if (q.emailContains?.length && !q.emailContains.some((e) => u.email?.includes(e))) continue;
      out.push(structuredClone(u));
    }
    return out;
  }
  async countUsers(tenantId?: string, recipeIds?: AuthRecipeId[]) {
    let n = 0;
    for (const g of this.groups().values()) {
      if (tenantId !== undefined && !g.tenants.has(tenantId)) continue;
      if (recipeIds && !recipeIds.some((r) => g.recipes.has(r))) continue;
      n++;
    }
    return n;
  }

  async getMapping(id: string, type: "SUPERTOKENS" | "EXTERNAL") {
    const m = (type === "SUPERTOKENS" ? this.mappingsBySt : this.mappingsByExt).get(id);
    return m && { ...m };
  }
  async getMappings(superTokensUserIds: string[]) {
    const found = new Map<string, UserIdMappingRecord>();
    for (const id of superTokensUserIds) {
      const m = this.mappingsBySt.get(id);
      if (m) found.set(id, { ...m });
    }
    return found;
  }
  async insertMapping(m: UserIdMappingRecord) {
    if (this.mappingsBySt.has(m.superTokensUserId) || this.mappingsByExt.has(m.externalUserId))
      return "EXISTS" as const;
    const row = { ...m };
    this.mappingsBySt.set(m.superTokensUserId, row);
    this.mappingsByExt.set(m.externalUserId, row);
    return "OK" as const;
  }
  async deleteMapping(superTokensUserId: string) {
    const m = this.mappingsBySt.get(superTokensUserId);
    if (!m) return false;
    this.mappingsBySt.delete(superTokensUserId);
    this.mappingsByExt.delete(m.externalUserId);
    return true;
  }
  async updateMappingInfo(superTokensUserId: string, info: string | undefined) {
    const m = this.mappingsBySt.get(superTokensUserId);
    if (!m) return false;
    if (info === undefined) delete m.externalUserIdInfo;
    else m.externalUserIdInfo = info;
    return true;
  }

  async addResetToken(t: OneTimeTokenRecord) {
    this.resetTokens.set(t.tokenHash, { ...t });
  }
  async consumeResetToken(tokenHash: string) {
    const row = this.resetTokens.get(tokenHash);
    if (!row) return undefined;
    for (const [h, t] of this.resetTokens) if (t.userId === row.userId) this.resetTokens.delete(h);
    return row;
  }
  async listResetTokens() {
    return [...this.resetTokens.values()].map((t) => ({ ...t }));
  }

  async getMetadata(userId: string) {
    const m = this.metadata.get(userId);
    return m && structuredClone(m);
  }
  async setMetadata(userId: string, metadata: Record<string, unknown>) {
    this.metadata.set(userId, structuredClone(metadata));
  }
  async deleteMetadata(userId: string) {
    return this.metadata.delete(userId);
  }

  async isEmailVerified(userId: string, email: string) {
    return this.verified.get(userId)?.has(email) ?? false;
  }
  async verifiedEmails(pairs: { userId: string; email: string }[]) {
    return pairs.map((p) => this.verified.get(p.userId)?.has(p.email) ?? false);
  }
  async setEmailVerified(userId: string, email: string, verified: boolean) {
    let set = this.verified.get(userId);
    if (verified) {
      if (!set) this.verified.set(userId, (set = new Set()));
      set.add(email);
    } else {
      set?.delete(email);
      if (set?.size === 0) this.verified.delete(userId);
    }
  }
  async renameEmailVerificationUser(from: string, to: string) {
    const set = this.verified.get(from);
    if (set) {
      this.verified.delete(from);
      const target = this.verified.get(to) ?? new Set<string>();
      for (const e of set) target.add(e);
      this.verified.set(to, target);
    }
    for (const t of this.evTokens.values()) if (t.userId === from) t.userId = to;
  }
  async hasEmailVerificationData(userId: string) {
    if (this.verified.has(userId)) return true;
    for (const t of this.evTokens.values()) if (t.userId === userId) return true;
    return false;
  }
  async addEmailVerificationToken(t: OneTimeTokenRecord) {
    this.evTokens.set(t.tokenHash, { ...t });
  }
  /** Delete the verification tokens of `userId`, of `email` only when given. */
  private dropEvTokens(userId: string, email?: string) {
    for (const [h, t] of this.evTokens)
      if (t.userId === userId && (email === undefined || t.email === email)) this.evTokens.delete(h);
  }
  async consumeEmailVerificationToken(tokenHash: string) {
    const row = this.evTokens.get(tokenHash);
    if (!row) return undefined;
    this.dropEvTokens(row.userId, row.email);
    return row;
  }
  async deleteEmailVerificationTokens(userId: string, email: string) {
    this.dropEvTokens(userId, email);
  }
  async deleteEmailVerificationData(userId: string) {
    this.verified.delete(userId);
    this.dropEvTokens(userId);
  }
}

export class MemoryStorage implements CoreStorage {
  private apps = new Map<string, AppRecord>();
  private tenants = new Map<string, Map<string, TenantRecord>>();
  private data = new Map<string, MemoryAppStorage>();

  async listApps() {
    return [...this.apps.values()].map((a) => structuredClone(a));
  }
  async getApp(appId: string) {
    const a = this.apps.get(appId);
    return a && structuredClone(a);
  }
  async putApp(app: AppRecord) {
    this.apps.set(app.appId, structuredClone(app));
    if (!this.tenants.has(app.appId)) this.tenants.set(app.appId, new Map());
  }
  async deleteApp(appId: string) {
    this.tenants.delete(appId);
    this.data.delete(appId);
    return this.apps.delete(appId);
  }
  async listTenants(appId: string) {
    return [...(this.tenants.get(appId)?.values() ?? [])].map((t) => structuredClone(t));
  }
  async getTenant(appId: string, tenantId: string) {
    const t = this.tenants.get(appId)?.get(tenantId);
    return t && structuredClone(t);
  }
  async putTenant(appId: string, tenant: TenantRecord) {
    let map = this.tenants.get(appId);
    if (!map) this.tenants.set(appId, (map = new Map<string, TenantRecord>()));
    map.set(tenant.tenantId, structuredClone(tenant));
  }
  async deleteTenant(appId: string, tenantId: string) {
    return this.tenants.get(appId)?.delete(tenantId) ?? false;
  }
  app(appId: string): AppStorage {
    let s = this.data.get(appId);
    if (!s) this.data.set(appId, (s = new MemoryAppStorage()));
    return s;
  }
}
