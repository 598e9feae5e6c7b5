/**
 * The wire conventions of the SuperTokens core: success is HTTP 200 with a JSON body; failures are plain
 * text ending in "\n" (the core writes them with println). supertokens-node copies that text into the
 * errors it throws, so the exact wording matters.
 */
export class CoreHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "CoreHttpError";
  }
}

export const badRequest = (message: string): CoreHttpError => new CoreHttpError(400, message);

/** App-specific APIs (and app-wide options) answer 403 on any tenant but public. */
export const publicTenantOnly = (): CoreHttpError =>
  new CoreHttpError(403, "Only public tenantId can call this app specific API");

/** An app or tenant the storage does not know. */
export const tenantNotFound = (appId: string, tenantId: string): CoreHttpError =>
  badRequest(
    `AppId or tenantId not found => Tenant with the following connectionURIDomain, appId and tenantId combination ` +
      `not found: (, ${appId}, ${tenantId})`,
  );

export type Json = Record<string, unknown>;

/** Read a field from a JSON body with the core's exact error wording. */
export function field<T extends "string" | "boolean" | "object" | "number" | "array">(
  body: Json,
  name: string,
  type: T,
  required: true,
): T extends "string"
  ? string
  : T extends "boolean"
    ? boolean
    : T extends "number"
      ? number
      : T extends "array"
        ? unknown[]
        : Json;
export function field<T extends "string" | "boolean" | "object" | "number" | "array">(
  body: Json,
  name: string,
  type: T,
  required: false,
):
  | (T extends "string"
      ? string
      : T extends "boolean"
        ? boolean
        : T extends "number"
          ? number
          : T extends "array"
            ? unknown[]
            : Json)
  | undefined;
export function field(body: Json, name: string, type: string, required: boolean): unknown {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw badRequest(`Field name '${name}' is invalid in JSON input`);
    return undefined;
  }
  const ok =
    type === "array"
      ? Array.isArray(value)
      : type === "object"
        ? typeof value === "object" && !Array.isArray(value)
        : typeof value === type;
  if (!ok) throw badRequest(`Field name '${name}' is invalid in JSON input`);
  return value;
}

export function queryParam(query: URLSearchParams, name: string, required: true): string;
export function queryParam(query: URLSearchParams, name: string, required: false): string | undefined;
export function queryParam(query: URLSearchParams, name: string, required: boolean): string | undefined {
  const value = query.get(name);
  if (value === null) {
    if (required) throw badRequest(`Field name '${name}' is missing in GET request`);
    return undefined;
  }
  return value;
}

/** Integer.parseInt of an optional query parameter. */
export function queryInt(query: URLSearchParams, name: string): number | undefined {
  const raw = queryParam(query, name, false);
  if (raw === undefined) return undefined;
  const n = /^[+-]?\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n > 2147483647 || n < -2147483648) {
    throw badRequest(`Field name '${name}' must be an int in the GET request`);
  }
  return n;
}

export function queryBool(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name);
  if (value === null) return fallback;
  return value.toLowerCase() === "true";
}

/** Emails as the core stores them (Utils.normaliseEmail): trimmed and lower-cased. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
