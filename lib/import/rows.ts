import { javaTrim } from "../hashes/encoding.js";
import { parseRoles } from "../roles.js";
import { importLog } from "./log.js";
import type { ImportConfig, ImportField } from "./options.js";
import type { RawRow } from "./sources/index.js";

/** A source row read into the fields the import needs. */
export interface SourceUser {
  row: number;
  /** The legacy id, trimmed as the core trims external ids: it becomes the SuperTokens (external) user id. */
  id: string;
  /** Normalised as the core does (Utils.normaliseEmail: Java's trim, then lower case). */
  email: string;
  passwordHash: string | undefined;
  emailVerified: boolean;
  timeJoined: number | undefined;
  metadata: Record<string, unknown> | undefined;
  /** Legacy roles, trimmed and without duplicates; what cannot be a role is left out (logged). */
  roles: string[];
  /** A third-party identity of the user (provider and the user's id there), with the row's email. */
  thirdParty?: { id: string; userId: string; emailVerified: boolean };
}

/** A row that cannot become a user; `id` is null when the row has none. */
export interface RowProblem {
  row: number;
  id: string | null;
  reason:
    | "invalid-row"
    | "missing-id"
    | "invalid-id"
    | "invalid-email"
    | "invalid-email-verified"
    | "invalid-time-joined"
    | "invalid-metadata"
    | "invalid-third-party";
  detail: string;
}

/**
 * supertokens-node's default EmailPassword email rule (defaultEmailValidator in recipe/emailpassword/utils.js, an
 * internal file): the sign-in refuses an email that fails it, so a user imported with one could never sign in.
 */
const sdkEmailPattern = new RegExp(
  String.raw`^(([^<>()\[\]\\.,;:\s@"]+(\.[^<>()\[\]\\.,;:\s@"]+)*)|(".+"))@` +
    String.raw`((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\])|(([a-zA-Z\-0-9]+\.)+[a-zA-Z]{2,}))$`,
);

/** The SDK's default email rule: its message for an email it refuses, undefined for one it accepts. */
export const signInEmailRule = (email: string): string | undefined =>
  sdkEmailPattern.test(email) ? undefined : "Email is invalid";

export const normaliseEmail = (email: string): string => javaTrim(email).toLowerCase();

/** Numbers below 10^11 are seconds: as milliseconds they would be in 1973. */
const secondsBelow = 1e11;

function pick(values: Record<string, unknown>, columns: readonly string[]): unknown {
  for (const c of columns) if (c in values) return values[c];
  return undefined;
}

const absent = (v: unknown) => v === undefined || v === null || v === "";

function toId(v: unknown): string | undefined | false {
  if (absent(v)) return undefined;
  if (typeof v === "string") return javaTrim(v) || undefined;
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v === "bigint") return String(v);
  return false;
}

function toBoolean(v: unknown): boolean | undefined {
  if (absent(v)) return false;
  if (typeof v === "boolean") return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === "string") {
    const s = v.trim().toLowerCase();
    if (["true", "t", "1", "yes", "y"].includes(s)) return true;
    if (["false", "f", "0", "no", "n"].includes(s)) return false;
  }
  return undefined;
}

function toTime(v: unknown): number | undefined | false {
  if (absent(v)) return undefined;
  let ms: number;
  if (v instanceof Date) ms = v.getTime();
  else if (typeof v === "number" || (typeof v === "string" && /^\s*\d+(\.\d+)?\s*$/.test(v))) {
    const n = Number(v);
    ms = n < secondsBelow ? n * 1000 : n;
  } else if (typeof v === "string") ms = Date.parse(v);
  else return false;
  return Number.isFinite(ms) ? Math.trunc(ms) : false;
}

function toMetadata(v: unknown): Record<string, unknown> | undefined | false {
  if (absent(v)) return undefined;
  let value: unknown = v;
  if (typeof v === "string") {
    try {
      value = JSON.parse(v) as unknown;
    } catch {
      return false;
    }
  }
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : false;
}

/** Read one row with the column mapping; a row that cannot be a user comes back as a problem to report. */
export function toSourceUser(raw: RawRow, config: Pick<ImportConfig, "columns">, now: number): SourceUser | RowProblem {
  if ("error" in raw) return { row: raw.row, id: null, reason: "invalid-row", detail: raw.error };
  const get = (field: ImportField) => pick(raw.values, config.columns[field]);
  const id = toId(get("id"));
  if (id === undefined) return { row: raw.row, id: null, reason: "missing-id", detail: "the row has no id" };
  if (id === false)
    return { row: raw.row, id: null, reason: "invalid-id", detail: "the id is neither a string nor an integer" };
  const problem = (reason: RowProblem["reason"], detail: string): RowProblem => ({ row: raw.row, id, reason, detail });
  // The core's limit for external user ids (BulkImportUserUtils); the mapping API would take more, the bulk API not.
  if (id.length > 128) return problem("invalid-id", "the id is longer than 128 characters");

  const rawEmail = get("email");
  if (typeof rawEmail !== "string" || !rawEmail.includes("@"))
    return problem("invalid-email", "the email is missing or has no @");
  if (rawEmail.length > 255) return problem("invalid-email", "the email is longer than 255 characters");
  const email = normaliseEmail(rawEmail);

  const verified = toBoolean(get("emailVerified"));
  if (verified === undefined)
    return problem("invalid-email-verified", "email verified is not a boolean (true/false, t/f, 1/0, yes/no)");
  const timeJoined = toTime(get("timeJoined"));
  if (timeJoined === false)
    return problem("invalid-time-joined", "time joined is not a date, an ISO 8601 string or a number");
  if (timeJoined !== undefined && (timeJoined < 0 || timeJoined > now)) {
    return problem("invalid-time-joined", "time joined is in the future or before 1970 (the core refuses both)");
  }
  const metadata = toMetadata(get("metadata"));
  if (metadata === false) return problem("invalid-metadata", "metadata is not a JSON object");
  const thirdParty = toThirdParty(get("thirdPartyId"), get("thirdPartyUserId"));
  if (typeof thirdParty === "string") return problem("invalid-third-party", thirdParty);
  let tpVerified = verified;
  if (thirdParty) {
    const given = get("thirdPartyEmailVerified");
    const v = absent(given) ? verified : toBoolean(given);
    if (v === undefined)
      return problem(
        "invalid-third-party",
        "third-party email verified is not a boolean (true/false, t/f, 1/0, yes/no)",
      );
    tpVerified = v;
  }
  const hash = get("passwordHash");
  const { roles, invalid } = parseRoles(get("roles"));
  if (invalid.length > 0) importLog("row %d: %d value(s) cannot be roles; left out", raw.row, invalid.length);
  return {
    row: raw.row,
    id,
    email,
    passwordHash: typeof hash === "string" && hash !== "" ? hash : undefined,
    emailVerified: verified,
    timeJoined,
    metadata,
    roles,
    ...(thirdParty ? { thirdParty: { ...thirdParty, emailVerified: tpVerified } } : {}),
  };
}

/**
 * The row's third-party identity: both parts or neither; the core's limits (28 and 256 characters), no other
 * normalisation (the core takes them as given). A string says what is wrong.
 */
function toThirdParty(rawId: unknown, rawUserId: unknown): { id: string; userId: string } | undefined | string {
  if (absent(rawId) && absent(rawUserId)) return undefined;
  const id = toId(rawId);
  const userId = toId(rawUserId);
  if (id === undefined || userId === undefined)
    return "a third-party identity needs both thirdPartyId and thirdPartyUserId";
  if (id === false || userId === false) return "thirdPartyId and thirdPartyUserId must be strings or integers";
  if (id.length > 28) return "thirdPartyId is longer than 28 characters";
  if (userId.length > 256) return "thirdPartyUserId is longer than 256 characters";
  return { id, userId };
}
