import {
  functionOption,
  integerIn,
  invalidOption,
  objectOption,
  readOptions,
  stringOption,
  type OptionKeys,
} from "../options.js";
import type { DevCoreOptions } from "./server.js";

/** Every option of startDevCore: the build fails when DevCoreOptions gains one not listed. */
const DEV_CORE_KEYS = {
  port: true,
  host: true,
  apiKeys: true,
  config: true,
  storage: true,
  onRequest: true,
} satisfies OptionKeys<DevCoreOptions>;

/** Every default of startDevCore, and nowhere else (storage: a fresh MemoryStorage, made per core). */
export const DEV_CORE_DEFAULTS = Object.freeze({
  /** 0 picks a free port. */
  port: 0,
  /** Loopback only. */
  host: "127.0.0.1",
});

const what = "startDevCore";

/**
 * Checks startDevCore's options once, before anything listens; the core config itself is checked by the core's rules.
 */
export function resolveDevCoreOptions(input: DevCoreOptions | undefined): { port: number; host: string } {
  const o = readOptions(what, input, DEV_CORE_KEYS);
  const port = integerIn(what, "port", o.port, 0, 65_535, DEV_CORE_DEFAULTS.port, "0 picks a free port.");
  const host = stringOption(what, "host", o.host, DEV_CORE_DEFAULTS.host);
  if (o.apiKeys !== undefined && (!Array.isArray(o.apiKeys) || o.apiKeys.some((k) => typeof k !== "string"))) {
    throw invalidOption(what, "apiKeys", "an array of API key strings", o.apiKeys);
  }
  objectOption(what, "config", o.config, "an object of core config keys, e.g. { access_token_validity: 60 }");
  objectOption(what, "storage", o.storage, "a CoreStorage, e.g. new MemoryStorage() or new PostgresStorage(pool)");
  functionOption(what, "onRequest", o.onRequest);
  return { port, host };
}
