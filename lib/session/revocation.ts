import type { IncomingMessage, ServerResponse } from "node:http";
import supertokens from "supertokens-node";
import type { RecipeInterface } from "supertokens-node/recipe/session";
import { log } from "../debug.js";

const debug = log.extend("session");

/*
 * Sign-out and revocation through the SDK, told to every dualSession() of the process (issue 11, item 3; T5).
 *
 *   Session.init({ override: { functions: retireLegacySessionsOnRevoke } })
 *
 * wraps the Session recipe's revokeSession, revokeAllSessionsForUser and revokeMultipleSessions: once the core has
 * revoked, each live dualSession() engine is told the handles, and the request and response of the call when
 * there is one (`/auth/signout`). An engine then ends the reuse of those sessions' published tokens and retires
 * the legacy session the request's cookie names, or that it migrated to a revoked handle.
 *
 * Without the override, revocation is still honoured: published tokens are only reused after the core confirms
 * their session is alive. The override only makes the legacy session go at once, with its cookie.
 */

/** What a revocation tells an engine. */
export interface Revocation {
  handles: string[];
  req?: IncomingMessage;
  res?: ServerResponse;
}

export type RevocationListener = (revocation: Revocation) => void;

/**
 * Process-wide, under a `Symbol.for` key: the override may come from the CommonJS build and dualSession() from
 * the ES module build (two copies of this package). Weak, so an app's discarded engines (tests, re-mounts) are
 * collected: each engine holds its own listener.
 */
const listenersKey = Symbol.for("supertokens-migrate.revocationListeners");
const shared = globalThis as { [listenersKey]?: Set<WeakRef<RevocationListener>> };

function listeners(): Set<WeakRef<RevocationListener>> {
  return (shared[listenersKey] ??= new Set());
}

/** Called by each engine; the caller must keep `listener` referenced for as long as it should be told. */
export function onRevocation(listener: RevocationListener): void {
  listeners().add(new WeakRef(listener));
}

type SdkUserContext = Parameters<RecipeInterface["revokeSession"]>[0]["userContext"];

function notify(handles: string[], userContext: SdkUserContext): void {
  const revocation: Revocation = { handles, ...requestOf(userContext) };
  for (const ref of listeners()) {
    const listener = ref.deref();
    if (!listener) {
      listeners().delete(ref);
      continue;
    }
    try {
      listener(revocation);
    } catch (err) {
      debug("a revocation listener threw: %s", (err as Error)?.message);
    }
  }
}

/** The Node request and response behind the SDK call, when it runs inside one (an API such as /auth/signout). */
function requestOf(userContext: SdkUserContext): { req?: IncomingMessage; res?: ServerResponse } {
  try {
    const wrapped = supertokens.getRequestFromUserContext(userContext);
    const req = (wrapped as { original?: unknown } | undefined)?.original as
      (IncomingMessage & { res?: ServerResponse }) | undefined;
    if (!req || typeof req.headers !== "object") return {};
    // Express links the response to its request; without it the cookie cannot be cleared on this response.
    return { req, res: req.res };
  } catch {
    return {};
  }
}

/**
 * A Session recipe override (`Session.init({ override: { functions: retireLegacySessionsOnRevoke } })`): sign-out
 * and revocation also retire legacy sessions that dualSession() migrated or that the signing-out browser still
 * carries. Compose with your own override as `(impl) => yours(retireLegacySessionsOnRevoke(impl))`.
 */
export function retireLegacySessionsOnRevoke(original: RecipeInterface): RecipeInterface {
  return {
    ...original,
    async revokeSession(input) {
      const revoked = await original.revokeSession(input);
      notify([input.sessionHandle], input.userContext);
      return revoked;
    },
    async revokeAllSessionsForUser(input) {
      const handles = await original.revokeAllSessionsForUser(input);
      notify(handles, input.userContext);
      return handles;
    },
    async revokeMultipleSessions(input) {
      const handles = await original.revokeMultipleSessions(input);
      notify(handles, input.userContext);
      return handles;
    },
  };
}
