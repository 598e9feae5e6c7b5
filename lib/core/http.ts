/**
 * The wire conventions of the SuperTokens core: success is HTTP 200 with a JSON body; failures are plain
 * text ending in "\n" (the core writes them with println). supertokens-node copies that text into the
 * errors it throws, so the exact wording matters.
 */
export class CoreHttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = "CoreHttpError";
  }
}

export const badRequest = (message: string): CoreHttpError => new CoreHttpError(400, message);

export type Json = Record<string, unknown>;

/** Read a field from a JSON body with the core's exact error wording. */
export function field<T extends "string" | "boolean" | "object" | "number" | "array">(
  body: Json,
  name: string,
  type: T,
  required: true,
): T extends "string" ? string : T extends "boolean" ? boolean : T extends "number" ? number : T extends "array" ? unknown[] : Json;
export function field<T extends "string" | "boolean" | "object" | "number" | "array">(
  body: Json,
  name: string,
  type: T,
  required: false,
): (T extends "string" ? string : T extends "boolean" ? boolean : T extends "number" ? number : T extends "array" ? unknown[] : Json) | undefined;
export function field(body: Json, name: string, type: string, required: boolean): unknown {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw badRequest(`Field name '${name}' is invalid in JSON input`);
    return undefined;
  }
  const ok =
    type === "array" ? Array.isArray(value)
    : type === "object" ? typeof value === "object" && !Array.isArray(value)
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

export function queryBool(query: URLSearchParams, name: string, fallback: boolean): boolean {
  const value = query.get(name);
  if (value === null) return fallback;
  return value.toLowerCase() === "true";
}

/** Emails as the core stores them (Utils.normaliseEmail): trimmed and lower-cased. */
export const normaliseEmail = (email: string): string => email.trim().toLowerCase();
