import type { SessionContainer } from "supertokens-node/recipe/session";

/**
 * The SuperTokens session dualSession() attached, typed. Use it where `@types/express-session` is in the
 * program: it types `req.session` as express-session's Session, so `req.session.getUserId()` would not compile.
 */
export function sessionOf(req: object): SessionContainer | undefined {
  const s = (req as { session?: unknown }).session;
  return s && typeof (s as { getUserId?: unknown }).getUserId === "function" ? (s as SessionContainer) : undefined;
}
