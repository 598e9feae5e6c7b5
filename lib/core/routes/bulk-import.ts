import { javaTrim } from "../../hashes/encoding.js";
import {
  BulkImportFailure,
  bulkImportJob,
  importBulkUser,
  primaryLoginMethod,
  tenantlessMessage,
  type BulkEntry,
  type BulkLoginMethod,
  type BulkStatus,
  type BulkUserRole,
} from "../bulk-import-queue.js";
import { ok, type Route, type RouteContext } from "../context.js";
import { badRequest, CoreHttpError, field, queryInt, queryParam, type Json } from "../http.js";
import { checkImportable } from "../passwords.js";
import { newImportedUserId } from "../storage/import-users.js";
import { normalisePhoneNumber, userJson } from "../users.js";

/*
 * The bulk-import API (CORE api/bulkimport/*, bulkimport/BulkImportUserUtils.java), §2.8 of the core reference.
 * Validation errors are collected per user with the core's wording, so a migration script sees the same 400 from
 * the dev core as from a real core. The dev core imports email-password, third-party and passwordless login methods,
 * several of them linked into one user, with the user's roles (which must exist, as in the core): TOTP devices fail
 * validation with a message that says so.
 */

const maxUsersToAdd = 10_000;
const maxPageSize = 500;
const defaultPageSize = 100;
const maxIdsToRemove = 500;
const statuses: readonly BulkStatus[] = ["NEW", "PROCESSING", "FAILED"];
const devCoreOnly = "the supertokens-migrate dev core";

type ValueType = "string" | "integer" | "boolean" | "object" | "array of string" | "array of object";

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Java's String.isBlank: only Character.isWhitespace characters (not the no-break spaces U+00A0, U+2007, U+202F,
 * which JavaScript's trim() also removes).
 */
const isJavaWhitespace = (c: number): boolean =>
  (c >= 0x09 && c <= 0x0d) ||
  (c >= 0x1c && c <= 0x20) ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x2006) ||
  (c >= 0x2008 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x205f ||
  c === 0x3000;
const isJavaBlank = (s: string): boolean => [...s].every((ch) => isJavaWhitespace(ch.codePointAt(0)!));

function hasType(value: unknown, type: ValueType): boolean {
  switch (type) {
    case "string":
      // JsonValidatorUtils refuses a blank string as it refuses a wrong type.
      return typeof value === "string" && !isJavaBlank(value);
    case "integer":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    case "object":
      return isObject(value);
    case "array of string":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && !isJavaBlank(v));
    case "array of object":
      return Array.isArray(value) && value.every(isObject);
  }
}

/** JsonValidatorUtils.parseAndValidateFieldType: a present JSON null is a wrong type, as Gson's `has` sees it. */
function read<T>(
  obj: Json,
  key: string,
  type: ValueType,
  required: boolean,
  errors: string[],
  suffix: string,
): T | undefined {
  if (!(key in obj)) {
    if (required) errors.push(`${key} is required${suffix}`);
    return undefined;
  }
  if (!hasType(obj[key], type)) {
    errors.push(`${key} should be of type ${type}${suffix}`);
    return undefined;
  }
  return obj[key] as T;
}

interface ParseContext {
  ctx: RouteContext;
  /** externalUserIds seen earlier in the same request: they must be unique within it. */
  seenExternalIds: Set<string>;
}

async function tenantIdsOf(
  p: ParseContext,
  raw: string[] | undefined,
  recipeId: string | undefined,
  errors: string[],
): Promise<string[]> {
  if (raw === undefined) return ["public"];
  const out: string[] = [];
  for (const t of raw) {
    // validateAndNormaliseTenantId takes "public" exactly as given; any other id is trimmed and lower-cased first.
    if (t === "public") {
      out.push(t);
      continue;
    }
    const normalised = javaTrim(t).toLowerCase();
    if (!(await p.ctx.core.storage.getTenant(p.ctx.app.appId, normalised))) {
      // Java's string concatenation prints a missing recipeId as "null".
      errors.push(`Invalid tenantId: ${t} for ${recipeId ?? "null"} recipe.`);
    } else out.push(normalised);
  }
  return out;
}

/**
 * BulkImportUserUtils.getParsedUserRoles: each `{ role, tenantIds }`; the role (trimmed, at most 255 characters) must
 * exist in the app already (the core does not create it), and each tenant must exist.
 */
async function parseUserRoles(
  p: ParseContext,
  raw: Json[] | undefined,
  errors: string[],
): Promise<BulkUserRole[] | undefined> {
  if (raw === undefined) return undefined;
  const out: BulkUserRole[] = [];
  for (const item of raw) {
    const role = read<string>(item, "role", "string", true, errors, " for a user role.");
    const rawTenants = read<string[]>(item, "tenantIds", "array of string", true, errors, " for a user role.");
    let normalised: string | undefined;
    if (role !== undefined) {
      if (role.length > 255) errors.push(`role ${role} is too long. Max length is 255.`);
      normalised = javaTrim(role);
      if (!(await p.ctx.app.storage.roles.roleExists(normalised))) errors.push(`Role ${normalised} does not exist.`);
    }
    const tenantIds: string[] = [];
    for (const t of rawTenants ?? []) {
      const id = t === "public" ? t : javaTrim(t).toLowerCase();
      if (id === "public" || (await p.ctx.core.storage.getTenant(p.ctx.app.appId, id))) tenantIds.push(id);
      else errors.push(`Invalid tenantId: ${t} for a user role.`);
    }
    if (normalised !== undefined && rawTenants !== undefined) out.push({ role: normalised, tenantIds });
  }
  return out;
}

/**
 * validateTenantIdsForRoleAndLoginMethods, run after every other check of the user
: a login method left with no
 * tenant (none given, or none valid) fails.
 */
function tenantlessErrors(tenantLists: string[][], errors: string[]): void {
  for (const tenants of tenantLists) if (tenants.length === 0) errors.push(tenantlessMessage());
}

/** validateAndNormaliseEmail: trimmed and lower-cased; the core's message says 256 while it checks 255. */
function normaliseBulkEmail(raw: string, errors: string[]): string {
  if (raw.length > 255) errors.push(`email ${raw} is too long. Max length is 256.`);
  return javaTrim(raw).toLowerCase();
}

async function parseLoginMethod(
  p: ParseContext,
  json: Json,
  errors: string[],
  now: number,
  tenantLists: string[][],
): Promise<BulkLoginMethod | undefined> {
  const lmSuffix = " for a loginMethod.";
  const recipeId = read<string>(json, "recipeId", "string", true, errors, lmSuffix);
  const rawTenants = read<string[]>(json, "tenantIds", "array of string", false, errors, lmSuffix);
  const isVerified = read<boolean>(json, "isVerified", "boolean", false, errors, lmSuffix) ?? false;
  const isPrimary = read<boolean>(json, "isPrimary", "boolean", false, errors, lmSuffix) ?? false;
  // The core's suffix for this one field has no full stop.
  const timeJoined = read<number>(json, "timeJoinedInMSSinceEpoch", "integer", false, errors, " for a loginMethod");

  if (recipeId !== undefined && !["emailpassword", "thirdparty", "passwordless"].includes(recipeId)) {
    errors.push("Invalid recipeId for loginMethod. Pass one of emailpassword, thirdparty or, passwordless!");
  }
  const tenantIds = await tenantIdsOf(p, rawTenants, recipeId, errors);
  // The core keeps a login method of a known recipe even when its fields fail, and checks its tenants last.
  if (recipeId === "emailpassword" || recipeId === "thirdparty" || recipeId === "passwordless")
    tenantLists.push(tenantIds);
  let timeJoinedInMSSinceEpoch = now;
  if (timeJoined !== undefined) {
    timeJoinedInMSSinceEpoch = Math.trunc(timeJoined);
    if (timeJoinedInMSSinceEpoch > now) errors.push("timeJoined cannot be in future for a loginMethod.");
    if (timeJoinedInMSSinceEpoch < 0) errors.push("timeJoined cannot be < 0 for a loginMethod.");
  }

  const common = { tenantIds, isVerified, isPrimary, timeJoinedInMSSinceEpoch, superTokensUserId: newImportedUserId() };
  if (recipeId === "thirdparty") {
    const tpSuffix = " for a thirdparty recipe.";
    const rawEmail = read<string>(json, "email", "string", true, errors, tpSuffix);
    const thirdPartyId = read<string>(json, "thirdPartyId", "string", true, errors, tpSuffix);
    const thirdPartyUserId = read<string>(json, "thirdPartyUserId", "string", true, errors, tpSuffix);
    const email = rawEmail === undefined ? undefined : normaliseBulkEmail(rawEmail, errors);
    // Neither is normalised, as the core's sign-in-up takes them.
    if (thirdPartyId !== undefined && thirdPartyId.length > 28)
      errors.push(`thirdPartyId ${thirdPartyId} is too long. Max length is 28.`);
    if (thirdPartyUserId !== undefined && thirdPartyUserId.length > 256)
      errors.push(`thirdPartyUserId ${thirdPartyUserId} is too long. Max length is 256.`);
    if (email === undefined || thirdPartyId === undefined || thirdPartyUserId === undefined) return undefined;
    return { recipeId, ...common, email, thirdPartyId, thirdPartyUserId };
  }
  if (recipeId === "passwordless") {
    const plSuffix = " for a passwordless recipe.";
    const rawEmail = read<string>(json, "email", "string", false, errors, plSuffix);
    const rawPhone = read<string>(json, "phoneNumber", "string", false, errors, plSuffix);
    const email = rawEmail === undefined ? undefined : normaliseBulkEmail(rawEmail, errors);
    let phoneNumber: string | undefined;
    if (rawPhone !== undefined) {
      if (rawPhone.length > 256) errors.push(`phoneNumber ${rawPhone} is too long. Max length is 256.`);
      phoneNumber = normalisePhoneNumber(rawPhone);
    }
    if (email === undefined && phoneNumber === undefined) {
      errors.push("Either email or phoneNumber is required for a passwordless recipe.");
      return undefined;
    }
    return {
      recipeId,
      ...common,
      ...(email !== undefined ? { email } : {}),
      ...(phoneNumber !== undefined ? { phoneNumber } : {}),
    };
  }
  if (recipeId !== "emailpassword") return undefined;

  const epSuffix = " for an emailpassword recipe.";
  const rawEmail = read<string>(json, "email", "string", true, errors, epSuffix);
  const rawHash = read<string>(json, "passwordHash", "string", false, errors, epSuffix);
  const rawAlgorithm = read<string>(json, "hashingAlgorithm", "string", false, errors, epSuffix);
  const plainTextPassword = read<string>(json, "plainTextPassword", "string", false, errors, epSuffix);
  if ((rawHash === undefined || rawAlgorithm === undefined) && plainTextPassword === undefined) {
    errors.push(
      "Either (passwordHash, hashingAlgorithm) or plainTextPassword is required for an emailpassword recipe.",
    );
  }
  const email = rawEmail === undefined ? undefined : normaliseBulkEmail(rawEmail, errors);
  let hashingAlgorithm: string | undefined;
  if (rawAlgorithm !== undefined) {
    hashingAlgorithm = javaTrim(rawAlgorithm).toUpperCase();
    if (!["BCRYPT", "ARGON2", "FIREBASE_SCRYPT"].includes(hashingAlgorithm)) {
      errors.push("Invalid hashingAlgorithm for emailpassword recipe. Pass one of bcrypt, argon2 or, firebase_scrypt!");
      hashingAlgorithm = undefined;
    }
  }
  let passwordHash = rawHash;
  if (hashingAlgorithm !== undefined && rawHash !== undefined) {
    if (rawHash.length > 256) errors.push("passwordHash is too long. Max length is 256.");
    const checked = checkImportable(p.ctx.app.config(), rawHash, hashingAlgorithm);
    if (checked.ok) passwordHash = checked.passwordHash;
    // A Firebase hash without firebase_password_hashing_signer_key: the core's check throws something that is not
    // a validation error, nothing catches it, and the whole request answers its generic 500.
    else if (checked.status === 500) throw new CoreHttpError(500, "Internal Error");
    else errors.push(checked.message);
  }
  if (email === undefined) return undefined;
  return {
    recipeId: "emailpassword",
    ...common,
    email,
    ...(passwordHash !== undefined && hashingAlgorithm !== undefined ? { passwordHash, hashingAlgorithm } : {}),
    ...(plainTextPassword !== undefined ? { plainTextPassword } : {}),
  };
}

/** BulkImportUserUtils.createBulkImportUserFromJSON: an entry, or every error found in the user. */
async function parseBulkUser(
  p: ParseContext,
  json: unknown,
  now: number,
): Promise<{ entry: BulkEntry } | { errors: string[] }> {
  const errors: string[] = [];
  // users.get(i).getAsJsonObject() throws on anything else, outside the validation: the request's generic 500.
  if (!isObject(json)) throw new CoreHttpError(500, "Internal Error");
  const externalUserId = read<string>(json, "externalUserId", "string", false, errors, ".");
  const userMetadata = read<Json>(json, "userMetadata", "object", false, errors, ".");
  const userRoles = await parseUserRoles(
    p,
    read<Json[]>(json, "userRoles", "array of object", false, errors, "."),
    errors,
  );
  if (read<Json[]>(json, "totpDevices", "array of object", false, errors, ".") !== undefined) {
    errors.push(`MFA must be enabled to import totp devices; ${devCoreOnly} has no TOTP support.`);
  }
  const rawMethods = read<Json[]>(json, "loginMethods", "array of object", true, errors, ".");
  const loginMethods: BulkLoginMethod[] = [];
  const tenantLists: string[][] = [];
  if (rawMethods !== undefined) {
    if (rawMethods.length === 0) errors.push("At least one loginMethod is required.");
    if (rawMethods.filter((m) => m.isPrimary === true).length > 1)
      errors.push("No two loginMethods can have isPrimary as true.");
    for (const m of rawMethods) {
      const lm = await parseLoginMethod(p, m, errors, now, tenantLists);
      if (lm) loginMethods.push(lm);
    }
  }
  let externalId: string | undefined;
  if (externalUserId !== undefined) {
    if (externalUserId.length > 128) errors.push(`externalUserId ${externalUserId} is too long. Max length is 128.`);
    if (p.seenExternalIds.has(externalUserId)) {
      errors.push(`externalUserId ${externalUserId} is not unique. It is already used by another user.`);
    }
    p.seenExternalIds.add(externalUserId);
    externalId = javaTrim(externalUserId);
  }
  tenantlessErrors(tenantLists, errors);
  if (errors.length > 0 || loginMethods.length === 0) return { errors };
  return {
    entry: {
      id: primaryLoginMethod(loginMethods).superTokensUserId,
      status: "NEW",
      ...(externalId !== undefined ? { externalUserId: externalId } : {}),
      ...(userMetadata !== undefined ? { userMetadata } : {}),
      ...(userRoles !== undefined ? { userRoles } : {}),
      loginMethods,
      createdAt: now,
      updatedAt: now,
    },
  };
}

const invalidFields = "Data has missing or invalid fields. Please check the users field for more details.";

async function addUsers(ctx: RouteContext) {
  const users = field(ctx.body, "users", "array", true);
  if (users.length === 0) return ok();
  if (users.length > maxUsersToAdd) {
    throw badRequest(JSON.stringify({ error: `You can only add ${maxUsersToAdd} users at a time.` }));
  }
  const queue = bulkImportJob(ctx.core).queue(ctx.core, ctx.app.appId);
  const p: ParseContext = { ctx, seenExternalIds: new Set() };
  const failures: { index: number; errors: string[] }[] = [];
  const entries: BulkEntry[] = [];
  for (let index = 0; index < users.length; index++) {
    const parsed = await parseBulkUser(p, users[index], ctx.now);
    if ("errors" in parsed) failures.push({ index, errors: parsed.errors });
    else entries.push(parsed.entry);
  }
  if (failures.length > 0) throw badRequest(JSON.stringify({ error: invalidFields, users: failures }));
  for (const e of entries) e.createdAt = e.updatedAt = queue.nextCreatedAt(ctx.now);
  queue.add(entries);
  return ok({ users: entries.map(responseJson) });
}

/**
 * BulkImportUser.toResponseJson (plugin interface; the core answers it since 10.1.1, "upload now returns the ids of
 * the users"): the user's external id, else the id the core generated for it, which is the row's id in GET
 * /bulk-import/users and the id the user is created with. A login method's userId is its own SuperTokens id: its
 * externalUserId is only set when the mapping is made, at import.
 */
function responseJson(e: BulkEntry): Json {
  return {
    userId: e.externalUserId ?? e.id,
    loginMethods: e.loginMethods.map((lm) => ({
      recipeId: lm.recipeId,
      userId: lm.superTokensUserId,
      tenants: lm.tenantIds,
      ...(lm.email !== undefined ? { email: lm.email } : {}),
      ...(lm.recipeId === "thirdparty" ? { thirdpartyId: lm.thirdPartyId, thirdpartyUserId: lm.thirdPartyUserId } : {}),
      ...(lm.phoneNumber !== undefined ? { phoneNumber: lm.phoneNumber } : {}),
    })),
  };
}

function entryJson(e: BulkEntry): Json {
  return {
    id: e.id,
    status: e.status,
    ...(e.externalUserId !== undefined ? { externalUserId: e.externalUserId } : {}),
    ...(e.userMetadata !== undefined ? { userMetadata: e.userMetadata } : {}),
    ...(e.userRoles !== undefined ? { userRoles: e.userRoles } : {}),
    loginMethods: e.loginMethods,
    ...(e.primaryUserId !== undefined ? { primaryUserId: e.primaryUserId } : {}),
    ...(e.errorMessage !== undefined ? { errorMessage: e.errorMessage } : {}),
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

function statusQuery(ctx: RouteContext): BulkStatus | undefined {
  const raw = queryParam(ctx.query, "status", false);
  if (raw === undefined) return undefined;
  if (!statuses.includes(raw as BulkStatus))
    throw badRequest("Invalid value for status. Pass one of NEW, PROCESSING, or FAILED!");
  return raw as BulkStatus;
}

function limitQuery(ctx: RouteContext): number {
  const n = queryInt(ctx.query, "limit");
  if (n === undefined) return defaultPageSize;
  if (n > maxPageSize) throw badRequest(`Max limit allowed is ${maxPageSize}`);
  if (n < 1) throw badRequest("limit must a positive integer with min value 1");
  return n;
}

/** BulkImportUserPaginationToken: base64("<id>;<createdAt>") of the first user of the next page. */
function parseToken(token: string): { id: string; createdAt: number } {
  const parts = Buffer.from(token, "base64").toString("utf8").split(";");
  if (parts.length !== 2 || !/^\d{1,19}$/.test(parts[1])) throw badRequest("invalid pagination token");
  return { id: parts[0], createdAt: Number(parts[1]) };
}

/** Newest first, then id descending (the PostgreSQL plugin's ORDER BY created_at DESC, id DESC). */
const newestFirst = (a: BulkEntry, b: BulkEntry) =>
  b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

async function listUsers(ctx: RouteContext) {
  const status = statusQuery(ctx);
  const limit = limitQuery(ctx);
  const rawToken = queryParam(ctx.query, "paginationToken", false);
  const from = rawToken === undefined ? undefined : parseToken(rawToken);
  const queue = bulkImportJob(ctx.core).queue(ctx.core, ctx.app.appId);
  let rows = [...queue.entries.values()].filter((e) => status === undefined || e.status === status).sort(newestFirst);
  if (from)
    rows = rows.filter((e) => e.createdAt < from.createdAt || (e.createdAt === from.createdAt && e.id <= from.id));
  const page = rows.slice(0, limit);
  const body: Json = { users: page.map(entryJson) };
  const next = rows[limit];
  if (next) body.nextPaginationToken = Buffer.from(`${next.id};${next.createdAt}`).toString("base64");
  return ok(body);
}

async function countUsers(ctx: RouteContext) {
  const status = statusQuery(ctx);
  let count = 0;
  for (const e of bulkImportJob(ctx.core).queue(ctx.core, ctx.app.appId).entries.values()) {
    if (status === undefined || e.status === status) count++;
  }
  return ok({ count });
}

/** The one 200 body of the core with no `status` field (§1.3). */
async function removeUsers(ctx: RouteContext) {
  const ids = field(ctx.body, "ids", "array", true);
  // No empty-array check in the core's remove (DeleteBulkImportUserAPI): nothing is removed.
  if (ids.length > maxIdsToRemove)
    throw badRequest(`Field name 'ids' cannot contain more than ${maxIdsToRemove} elements`);
  for (const id of ids) {
    if (typeof id !== "string") throw badRequest("Field name 'ids' is invalid in JSON input");
    if (id === "") throw badRequest("Field name 'ids' cannot contain an empty string");
  }
  const queue = bulkImportJob(ctx.core).queue(ctx.core, ctx.app.appId);
  const deletedIds: string[] = [];
  const invalidIds: string[] = [];
  for (const id of ids as string[]) (queue.entries.delete(id) ? deletedIds : invalidIds).push(id);
  return { body: { deletedIds, invalidIds } };
}

/** ImportUserAPI: one user, imported at once; the body is the user itself. */
async function importOne(ctx: RouteContext) {
  const parsed = await parseBulkUser({ ctx, seenExternalIds: new Set() }, ctx.body, ctx.now);
  if ("errors" in parsed) throw badRequest(JSON.stringify({ errors: parsed.errors }));
  try {
    const user = await importBulkUser(ctx.app, parsed.entry);
    return ok({ user: await userJson(ctx.app, user) });
  } catch (err) {
    if (err instanceof BulkImportFailure) throw badRequest(JSON.stringify({ errors: [err.message] }));
    throw err;
  }
}

/** BulkImportBackgroundJobManagerAPI: stop and start processing (one switch per dev core, as in the core). */
async function backgroundJob(ctx: RouteContext) {
  const job = bulkImportJob(ctx.core);
  if (ctx.method === "POST") {
    const command = field(ctx.body, "command", "string", true);
    const batchSize = field(ctx.body, "batchSize", "number", false);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
      throw badRequest("Field name 'batchSize' is invalid in JSON input");
    }
    if (command === "START") job.start(batchSize);
    else if (command === "STOP") job.stop();
    else throw badRequest("Field name 'command' should be one of START or STOP");
  }
  return ok({ jobStatus: job.active ? "ACTIVE" : "INACTIVE" });
}

/** A real core on its in-memory database refuses the bulk-import API before reading the request (isInMemDb). */
const unlessInMemoryDb =
  (handler: Route["handler"]): Route["handler"] =>
  (ctx) => {
    if (ctx.app.config().dev_core_bulk_import_as_in_memory_db)
      throw badRequest("This API is not supported in the in-memory database.");
    return handler(ctx);
  };

export const bulkImportRoutes: Route[] = [
  { method: "POST", path: "/bulk-import/users", scope: "app", handler: unlessInMemoryDb(addUsers) },
  { method: "GET", path: "/bulk-import/users", scope: "app", handler: unlessInMemoryDb(listUsers) },
  { method: "GET", path: "/bulk-import/users/count", scope: "app", handler: unlessInMemoryDb(countUsers) },
  { method: "POST", path: "/bulk-import/users/remove", scope: "app", handler: unlessInMemoryDb(removeUsers) },
  { method: "POST", path: "/bulk-import/import", scope: "app", handler: unlessInMemoryDb(importOne) },
  { method: "POST", path: "/bulk-import/backgroundjob", scope: "app", handler: backgroundJob },
  { method: "GET", path: "/bulk-import/backgroundjob", scope: "app", handler: backgroundJob },
];
