import { createPrivateKey, createPublicKey } from "node:crypto";

export interface ExportedKey {
  /** The `kid` in the header of the access tokens this key signed. */
  kid: string;
  /** "dynamic": session_access_token_signing_keys (rotated); "static": jwt_signing_keys (never rotated). */
  kind: "dynamic" | "static";
  algorithm: "RS256";
  createdAt: number;
  /** SPKI PEM: verify live access tokens with it (RS256). */
  publicKeyPem: string;
  /** PKCS#8 PEM: only needed to keep minting tokens the old way; guard it like a password. */
  privateKeyPem: string;
  /** The public key as the core's JWKS publishes it. */
  publicJwk: { kty: string; kid: string; n: string; e: string; alg: "RS256"; use: "sig" };
}

/**
 * The core's key string is base64(X.509 SubjectPublicKeyInfo DER) and base64(PKCS#8 DER) joined by "|"
 * (JWTAsymmetricSigningKeyInfo.getKeyString; cores before 5.0 used ";" in session_access_token_signing_keys).
 */
export function keyFromCoreString(
  kid: string,
  kind: ExportedKey["kind"],
  createdAt: number,
  keyString: string,
): ExportedKey {
  const parts = keyString.split(/[|;]/);
  if (parts.length !== 2) throw new Error(`key ${kid}: expected "<public>|<private>", found ${parts.length} part(s)`);
  const publicKey = createPublicKey({ key: Buffer.from(parts[0], "base64"), format: "der", type: "spki" });
  const privateKey = createPrivateKey({ key: Buffer.from(parts[1], "base64"), format: "der", type: "pkcs8" });
  const jwk = publicKey.export({ format: "jwk" }) as { kty: string; n: string; e: string };
  return {
    kid,
    kind,
    algorithm: "RS256",
    createdAt,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicJwk: { kty: jwk.kty, kid, n: jwk.n, e: jwk.e, alg: "RS256", use: "sig" },
  };
}
