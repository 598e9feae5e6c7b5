/**
 * Request typing. express-session and SuperTokens both claim `req.session`; we never redeclare it. The legacy
 * express-session object, when express-session is still mounted before dualSession(), stays reachable under
 * our own name.
 */
import type { SessionContainer } from "supertokens-node/recipe/session";

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- augmenting Express's global namespace needs one
  namespace Express {
    interface Request {
      /** The express-session Session that dualSession() moved aside (only when express-session runs first). */
      legacySession?: unknown;
    }
  }
}

/** A request after dualSession(): what route handlers should type `req` as. */
export interface DualSessionRequest {
  session?: SessionContainer;
}

export {};
