import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The response headers SuperTokens set when it created a session, so that every request carrying the same
 * legacy cookie within the grace window receives the very same tokens. Identical tokens are what keeps the
 * browser's final cookie jar valid whichever response arrives last (T6): different refresh tokens of one
 * session would make the next refresh look like token theft.
 */
export interface TokenTransfer {
  v: 1;
  sessionHandle: string;
  userId: string;
  accessToken: string;
  transport: "cookie" | "header";
  setCookies: string[];
  headers: [string, string][];
  /**
   * Ms since the epoch after which no request may reuse this transfer (the publisher's graceMs), whatever the
   * coordinator's own TTL (T11). Absent in transfers published before it existed.
   */
  reuseUntil?: number;
}

const tokenHeaders = [
  "front-token",
  "anti-csrf",
  "st-access-token",
  "st-refresh-token",
  "access-control-expose-headers",
];

function setCookieList(res: ServerResponse): string[] {
  const v = res.getHeader("set-cookie");
  return v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)];
}

export function appendSetCookie(res: ServerResponse, cookies: string[]): void {
  if (cookies.length > 0) res.setHeader("set-cookie", [...setCookieList(res), ...cookies]);
}

/** What createNewSession added to `res`, given the Set-Cookie list from before the call. */
export function captureTransfer(
  res: ServerResponse,
  before: string[],
  session: { handle: string; userId: string; accessToken: string },
): TokenTransfer {
  const after = setCookieList(res);
  const setCookies = after.filter((c) => !before.includes(c));
  const headers: [string, string][] = [];
  for (const name of tokenHeaders) {
    const value = res.getHeader(name);
    if (value !== undefined) headers.push([name, String(value)]);
  }
  return {
    v: 1,
    sessionHandle: session.handle,
    userId: session.userId,
    accessToken: session.accessToken,
    transport: headers.some(([n]) => n === "st-access-token") ? "header" : "cookie",
    setCookies,
    headers,
  };
}

/**
 * Put a transfer's tokens on this response, and its access token on this request so the SDK can verify it.
 * Returns a function that takes them off again (request and response as they were), for a transfer that is
 * replaced before the response goes out.
 */
export function replayTransfer(req: IncomingMessage, res: ServerResponse, t: TokenTransfer): () => void {
  const saved = { cookie: req.headers.cookie, authorization: req.headers.authorization };
  const savedHeaders = ["set-cookie", ...tokenHeaders].map((name) => [name, res.getHeader(name)] as const);
  appendSetCookie(res, t.setCookies);
  for (const [name, value] of t.headers) {
    if (name === "access-control-expose-headers") {
      const prev = res.getHeader(name);
      const merged = new Set(
        [...(prev ? String(prev).split(",") : []), ...value.split(",")].map((s) => s.trim()).filter(Boolean),
      );
      res.setHeader(name, [...merged].join(", "));
    } else {
      res.setHeader(name, value);
    }
  }
  const parsed = parsedCookies(req);
  const savedParsed =
    parsed && Object.prototype.hasOwnProperty.call(parsed, "sAccessToken") ? { value: parsed.sAccessToken } : undefined;
  putAccessToken(req, t.transport, t.accessToken);
  return () => {
    for (const [name, value] of savedHeaders) {
      if (value === undefined) res.removeHeader(name);
      else res.setHeader(name, value);
    }
    for (const name of ["cookie", "authorization"] as const) {
      if (saved[name] === undefined) delete req.headers[name];
      else req.headers[name] = saved[name];
    }
    if (parsed) {
      if (savedParsed) parsed.sAccessToken = savedParsed.value;
      else delete parsed.sAccessToken;
    }
  };
}

/**
 * `req.cookies` when a cookie parser (cookie-parser) has filled it; the SDK then reads cookies from it, not the header.
 */
function parsedCookies(req: IncomingMessage): Record<string, unknown> | undefined {
  const cookies = (req as IncomingMessage & { cookies?: unknown }).cookies;
  return cookies !== null && typeof cookies === "object" ? (cookies as Record<string, unknown>) : undefined;
}

/**
 * Make this request carry `token` as its access token, where the SDK and route code will look for it: the
 * Authorization header in header mode; otherwise the Cookie header and, when cookie-parser ran, `req.cookies`.
 */
export function putAccessToken(req: IncomingMessage, transport: "cookie" | "header", token: string): void {
  if (transport === "header") {
    req.headers.authorization = `Bearer ${token}`;
    return;
  }
  const others = (req.headers.cookie ?? "")
    .split(";")
    .map((s) => s.trim())
    .filter((s) => s && !s.startsWith("sAccessToken="));
  req.headers.cookie = [...others, `sAccessToken=${token}`].join("; ");
  const parsed = parsedCookies(req);
  if (parsed) parsed.sAccessToken = token;
}

/** A Set-Cookie that deletes the legacy cookie; attributes must match the ones it was set with. */
export function clearedCookie(
  name: string,
  opts: { path: string; domain?: string; secure?: boolean; sameSite?: boolean | string; httpOnly: boolean },
): string {
  let c = `${name}=; Path=${opts.path}; Expires=Thu, 01 Jan 1970 00:00:00 GMT`;
  if (opts.domain) c += `; Domain=${opts.domain}`;
  if (opts.httpOnly) c += "; HttpOnly";
  if (opts.secure) c += "; Secure";
  if (opts.sameSite)
    c += `; SameSite=${opts.sameSite === true ? "Strict" : opts.sameSite[0].toUpperCase() + opts.sameSite.slice(1)}`;
  return c;
}
