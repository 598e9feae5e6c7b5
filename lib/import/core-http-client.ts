import { setTimeout as sleep } from "node:timers/promises";
import { ConfigError, MigrateError, UnavailableError } from "../errors.js";
import { importLog } from "./log.js";

/** The CDI version supertokens-node 24 speaks; the import uses only endpoints it defines. */
export const cdiVersion = "5.4";

/**
 * One answer of the core. `T` is the JSON shape the CDI documents for the endpoint called; it is not checked
 * here, so callers test the fields they act on (a `status` string, an array) before trusting them.
 */
export interface CoreResponse<T = unknown> {
  status: number;
  /** The parsed JSON body, or undefined for the core's plain-text errors. */
  json: T | undefined;
  text: string;
}

export interface CallOptions {
  query?: Record<string, string | undefined>;
  body?: unknown;
  /** The recipe id header the SDK sends on recipe paths. */
  rid?: string;
  /**
   * Whether the call may be repeated after a lost answer. Calls that are not are retried only when the
   * connection was refused, so the request cannot have arrived.
   */
  idempotent?: boolean;
}

const retryableStatus = new Set([429, 502, 503, 504]);
const attempts = 5;
const timeoutMs = 60_000;

function refused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string } })?.cause;
  return cause?.code === "ECONNREFUSED";
}

/**
 * The core over plain fetch: the CLI does not initialise supertokens-node. `base` already holds any
 * `/appid-<id>` prefix; tenant-scoped paths are passed with their `/public` segment, as the SDK sends them.
 */
export class CoreClient {
  constructor(
    readonly base: string,
    private readonly apiKey: string | undefined,
  ) {}

  async call<T = unknown>(
    method: "GET" | "POST" | "PUT",
    path: string,
    options: CallOptions = {},
  ): Promise<CoreResponse<T>> {
    const url = new URL(this.base + path);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const headers: Record<string, string> = { "cdi-version": cdiVersion };
    if (this.apiKey !== undefined) headers["api-key"] = this.apiKey;
    if (options.rid !== undefined) headers.rid = options.rid;
    if (options.body !== undefined) headers["content-type"] = "application/json; charset=utf-8";
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const again = attempt < attempts && (options.idempotent !== false || refused(err));
        importLog("%s %s failed (%s)%s", method, path, (err as Error).message, again ? "; retrying" : "");
        if (again) {
          await sleep(100 * 2 ** attempt);
          continue;
        }
        throw new UnavailableError(
          "ERR_MIGRATE_CORE_UNAVAILABLE",
          `import: cannot reach the SuperTokens core at ${this.base}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      const text = await res.text();
      if (retryableStatus.has(res.status) && attempt < attempts && options.idempotent !== false) {
        importLog("%s %s answered %d; retrying", method, path, res.status);
        await sleep(100 * 2 ** attempt);
        continue;
      }
      let json: unknown;
      if ((res.headers.get("content-type") ?? "").includes("application/json")) {
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
      }
      if (res.status === 401) {
        throw new ConfigError(
          "ERR_MIGRATE_API_KEY_REFUSED",
          `import: the core at ${this.base} refused the API key (401). Pass --api-key (or SUPERTOKENS_API_KEY).`,
        );
      }
      return { status: res.status, json: json as T | undefined, text };
    }
  }

  /** A 200 answer's JSON, or an error naming the call and the core's message. */
  async ok<T = unknown>(method: "GET" | "POST" | "PUT", path: string, options: CallOptions = {}): Promise<T> {
    const res = await this.call<T>(method, path, options);
    if (res.status !== 200 || res.json === undefined) throw coreError(method, path, res);
    return res.json;
  }
}

export function coreError(method: string, path: string, res: CoreResponse<unknown>): MigrateError {
  const message = `import: the core answered ${method} ${path} with ${res.status}: ${res.text.trim().slice(0, 500)}`;
  return res.status >= 500
    ? new UnavailableError("ERR_MIGRATE_CORE_UNAVAILABLE", message)
    : new MigrateError("ERR_MIGRATE_IMPORT", message, { status: 502 });
}
