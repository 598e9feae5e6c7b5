import type { ServerResponse } from "node:http";
import type { MigrateError } from "./errors.js";

/**
 * The 503 every middleware of this package answers when a store or the core fails: JSON with the error code,
 * Retry-After, never cached. Never 401: SuperTokens' frontend signs the user out on a 401.
 */
export function sendUnavailable(res: ServerResponse, err: MigrateError, retryAfterSeconds: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 503;
  res.setHeader("Retry-After", String(retryAfterSeconds));
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  res.end(JSON.stringify({ message: "Sign-in service temporarily unavailable, please retry", code: err.code }));
}
