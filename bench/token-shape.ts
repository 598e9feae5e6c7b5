import { createHash, randomUUID } from "node:crypto";

/** The signing input (header.payload) of a v5 access token as the dev core mints it, so sizes match (~470 bytes). */
export function accessTokenSigningInput(): Buffer {
  const header = { kid: `d-${Date.now()}`, typ: "JWT", version: "5", alg: "RS256" };
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: "bench-user",
    exp: now + 3600,
    iat: now,
    tId: "public",
    rsub: "bench-user",
    sessionHandle: randomUUID(),
    refreshTokenHash1: createHash("sha256").update(randomUUID()).digest("hex"),
    parentRefreshTokenHash1: null,
    antiCsrfToken: null,
  };
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return Buffer.from(`${b64(header)}.${b64(payload)}`);
}
