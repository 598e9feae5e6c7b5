import { randomUUID, sign } from "node:crypto";
import { ok, status, supportedCdiVersions, type Route } from "../context.js";
import { badRequest, field } from "../http.js";

export const metaRoutes: Route[] = [
  { method: "GET", path: "/hello", scope: "app", open: true, handler: () => ({ body: undefined, text: "Hello" }) },
  { method: "GET", path: "/", scope: "app", open: true, handler: () => ({ body: undefined, text: "Hello" }) },
  // No `status` field: the SDK reads `versions` only (ApiVersionAPI).
  { method: "GET", path: "/apiversion", scope: "app", handler: () => ({ body: { versions: supportedCdiVersions } }) },
  {
    method: "GET",
    path: "/.well-known/jwks.json",
    scope: "app",
    open: true,
    async handler({ app, now }) {
      const { keys, maxAge } = await app.keys.jwks(now);
      return { body: { keys }, headers: { "cache-control": `max-age=${maxAge}, must-revalidate` } };
    },
  },
  {
    method: "POST",
    path: "/recipe/jwt",
    scope: "app",
    async handler({ app, body, now }) {
      const payload = field(body, "payload", "object", true);
      const algorithm = field(body, "algorithm", "string", true);
      const validity = field(body, "validity", "number", true);
      const jwksDomain = field(body, "jwksDomain", "string", true);
      const useStatic = field(body, "useStaticSigningKey", "boolean", false) ?? true;
      if (algorithm.toUpperCase() !== "RS256") return status("UNSUPPORTED_ALGORITHM_ERROR");
      if (validity <= 0) throw badRequest("validity must be greater than or equal to 0");
      const key = await app.keys.signingKey(useStatic ? "static" : "dynamic", now);
      const iat = Math.floor(now / 1000);
      const claims = { iss: jwksDomain, ...payload, iat, exp: iat + Math.floor(validity) };
      // JWT recipe tokens carry no `version` header (JWTSigningFunctions).
      const header = Buffer.from(JSON.stringify({ kid: key.kid, typ: "JWT", alg: "RS256" })).toString("base64url");
      const input = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}`;
      const signature = sign("sha256", Buffer.from(input), key.privateKey).toString("base64url");
      return ok({ jwt: `${input}.${signature}` });
    },
  },
  {
    method: "PUT",
    path: "/ee/license",
    scope: "base",
    handler: () => ok(),
  },
  {
    method: "GET",
    path: "/ee/featureflag",
    scope: "app",
    handler: () => ok({ features: [], usageStats: {} }),
  },
  {
    method: "GET",
    path: "/telemetry",
    scope: "app",
    handler: () => ok({ exists: true, telemetryId: randomUUID() }),
  },
];
