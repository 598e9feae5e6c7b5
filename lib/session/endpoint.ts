import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { log } from "../debug.js";
import { ConfigError, isMigrateError } from "../errors.js";
import type { Middleware } from "../middleware-type.js";
import { sendUnavailable } from "../unavailable.js";
import { createMigrationEngine } from "./engine.js";
import { dualSessionAdapter } from "./middleware.js";
import { checkMigrationEndpointOptions, resolveDualSessionOptions, type DualSessionOptions } from "./options.js";
import { sessionOf } from "./request.js";

const debug = log.extend("session");

export interface MigrationEndpointOptions extends Omit<DualSessionOptions, "sessionRequired"> {
  /**
   * Checks a legacy bearer token (a mobile app's or SPA's old API token) and returns its user id, or undefined
   * when it is not valid. Called only when the request has no SuperTokens session and no usable legacy cookie.
   */
  verifyLegacyToken?: (token: string) => string | undefined | Promise<string | undefined>;
}

/**
 * `POST /auth/migrate-session` for single-page and mobile apps that migrate on page load (SuperTokens' own
 * guide's flow): answers 200 `{status:"OK", userId}` with the SuperTokens tokens on the response,
 * or 401 `{status:"NO_LEGACY_SESSION"}`. Shares the middleware's rules: one session per legacy credential
 * within the grace window, 503 on outages, the CSRF rule for cookies.
 */
export function migrationEndpoint(options: MigrationEndpointOptions = {}): Middleware {
  checkMigrationEndpointOptions(options); // `app.post(path, migrationEndpoint)` uncalled, unknown keys
  const { verifyLegacyToken, ...rest } = options;
  if (verifyLegacyToken !== undefined && typeof verifyLegacyToken !== "function") {
    throw new ConfigError(
      "ERR_MIGRATE_INVALID_OPTION",
      "migrationEndpoint: `verifyLegacyToken` must be a function returning the user id or undefined.",
    );
  }
  const cfg = resolveDualSessionOptions({ ...rest, sessionRequired: false });
  // One engine behind the cookie path (the middleware) and the bearer path: one coordinator, one set of
  // retirements, so both follow the same one-session-per-credential rule.
  const engine = createMigrationEngine(cfg);
  const mw = dualSessionAdapter(cfg, engine);

  return async function migrationEndpointHandler(
    req: IncomingMessage,
    res: ServerResponse,
    next: (err?: unknown) => void,
  ): Promise<void> {
    try {
      // A legacy bearer token sits where SuperTokens looks for its own header-mode token, so ask the app first
      // and hide a legacy one from the SDK, which would otherwise answer 401 for a token it cannot parse.
      const auth = String(req.headers.authorization ?? "");
      const token = verifyLegacyToken && auth.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : "";
      const bearerUserId = token ? await verifyLegacyToken!(token) : undefined;
      if (bearerUserId) delete req.headers.authorization;

      let passed = false;
      await mw(req, res, (err?: unknown) => {
        passed = true;
        if (err) next(err);
      });
      if (!passed || res.headersSent) return; // the middleware answered (503, or a SuperTokens error)

      let session = sessionOf(req);
      if (!session && bearerUserId) {
        // Keyed by the token's hash, so parallel calls with one token mint one session and no token is stored.
        const key = `bearer:${createHash("sha256").update(token).digest("hex")}`;
        session = await engine.migrateUser(req, res, key, bearerUserId);
      } else if (!session && token) {
        engine.emit({ type: "rejected", reason: "unknown-session" });
        debug("legacy bearer token rejected by verifyLegacyToken");
      }
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("Content-Type", "application/json; charset=utf-8");
      if (!session) {
        res.statusCode = 401;
        res.end(JSON.stringify({ status: "NO_LEGACY_SESSION" }));
        return;
      }
      res.statusCode = 200;
      res.end(JSON.stringify({ status: "OK", userId: session.getUserId() }));
    } catch (err) {
      if (isMigrateError(err) && err.status === 503) return sendUnavailable(res, err, cfg.retryAfterSeconds);
      next(err);
    }
  };
}
