import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  randomBytes,
  randomUUID,
  type KeyObject,
} from "node:crypto";
import { promisify } from "node:util";
import type { CoreConfig } from "./config.js";
import type { AppStorage, SigningKeyRecord } from "./storage/types.js";

const generateRsa = promisify(generateKeyPair);

export interface LoadedKey {
  kid: string;
  type: SigningKeyRecord["type"];
  createdAt: number;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** base64url of the v5 access-token header for this key, computed once. */
  accessTokenHeader: string;
  jwk: Record<string, string>;
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");

function load(record: SigningKeyRecord): LoadedKey {
  const publicKey = createPublicKey(record.publicKey);
  const jwk = publicKey.export({ format: "jwk" }) as { n: string; e: string };
  return {
    kid: record.kid,
    type: record.type,
    createdAt: record.createdAt,
    privateKey: createPrivateKey(record.privateKey),
    publicKey,
    accessTokenHeader: b64url(JSON.stringify({ kid: record.kid, typ: "JWT", version: "5", alg: "RS256" })),
    jwk: { kty: "RSA", kid: record.kid, n: jwk.n, e: jwk.e, alg: "RS256", use: "sig" },
  };
}

async function newRsaRecord(kid: string, type: SigningKeyRecord["type"], createdAt: number): Promise<SigningKeyRecord> {
  const { privateKey, publicKey } = await generateRsa("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { kid, type, createdAt, privateKey, publicKey };
}

/**
 * One app's signing keys, following the core's AccessTokenSigningKey rules (reference §3.1):
 * a dynamic key signs while younger than the update interval; a new one is generated `overlap` ms before the
 * newest would stop signing, and the previous key keeps signing during that overlap, so the JWKS publishes
 * every key before the first token signed with it. Keys verify for interval + 2 × access-token validity.
 * Parsed keys stay in memory: the request path never re-reads PEM.
 */
export class KeyRing {
  private keys: LoadedKey[] | undefined;
  private loading: Promise<LoadedKey[]> | undefined;
  private generating: Promise<void> | undefined;
  private refreshSecret: Buffer | undefined;
  private refreshLoading: Promise<Buffer> | undefined;

  constructor(
    private readonly storage: AppStorage,
    private readonly config: () => CoreConfig,
  ) {}

  private interval() {
    return this.config().access_token_dynamic_signing_key_update_interval * 3_600_000;
  }
  private overlap() {
    const interval = this.interval();
    // Test-mode intervals (< 60 s) use a fifth of the interval, as the core does.
    return interval < 60_000 ? interval / 5 : 60_000;
  }

  private async all(): Promise<LoadedKey[]> {
    if (this.keys) return this.keys;
    this.loading ??= this.storage.listSigningKeys().then((records) => {
      this.keys = records.filter((r) => r.type !== "refresh").map(load);
      const refresh = records.find((r) => r.type === "refresh");
      if (refresh) this.refreshSecret = Buffer.from(refresh.privateKey, "base64");
      return this.keys;
    });
    return this.loading;
  }

  private dynamicKeys(keys: LoadedKey[]) {
    return keys.filter((k) => k.type === "dynamic").sort((a, b) => b.createdAt - a.createdAt);
  }

  private async add(record: SigningKeyRecord) {
    await this.storage.addSigningKey(record);
    const keys = await this.all();
    this.keys = [...keys, load(record)];
  }

  /** Generate at most one key at a time, whatever the number of concurrent callers. */
  private async ensure(needed: (keys: LoadedKey[]) => boolean, make: () => Promise<SigningKeyRecord>) {
    while (needed(await this.all())) {
      if (!this.generating) {
        this.generating = make()
          .then((r) => this.add(r))
          .finally(() => {
            this.generating = undefined;
          });
      }
      await this.generating;
    }
  }

  private async prune(now: number) {
    const keys = await this.all();
    const horizon = now - (this.interval() + 2 * this.config().access_token_validity * 1000);
    const dead = this.dynamicKeys(keys)
      .slice(1)
      .filter((k) => k.createdAt < horizon);
    if (dead.length === 0) return;
    this.keys = keys.filter((k) => !dead.includes(k));
    await this.storage.removeSigningKeys(dead.map((k) => k.kid));
  }

  async signingKey(type: "dynamic" | "static", now = Date.now()): Promise<LoadedKey> {
    if (type === "static") {
      await this.ensure(
        (keys) => !keys.some((k) => k.type === "static"),
        () => newRsaRecord(`s-${randomUUID()}`, "static", now),
      );
      return (await this.all()).find((k) => k.type === "static")!;
    }
    const interval = this.interval();
    const overlap = this.overlap();
    const fast = this.keys && this.dynamicKeys(this.keys);
    // Hot path: the newest key is past its overlap and not yet due for replacement.
    if (fast && fast[0] && now - fast[0].createdAt >= overlap && now - fast[0].createdAt < interval - overlap)
      return fast[0];
    await this.ensure(
      (keys) => {
        const newest = this.dynamicKeys(keys)[0];
        return !newest || now - newest.createdAt >= interval - overlap;
      },
      () => {
        const createdAt = Date.now();
        return newRsaRecord(`d-${createdAt}`, "dynamic", createdAt);
      },
    );
    await this.prune(now);
    const [newest, previous] = this.dynamicKeys(await this.all());
    if (now - newest.createdAt < overlap && previous && now - previous.createdAt < interval) return previous;
    return newest;
  }

  async byKid(kid: string, now = Date.now()): Promise<LoadedKey | undefined> {
    const key = (await this.all()).find((k) => k.kid === kid);
    if (!key || key.type === "static") return key;
    const horizon = now - (this.interval() + 2 * this.config().access_token_validity * 1000);
    return key.createdAt >= horizon ? key : undefined;
  }

  /** JWKS body and its cache lifetime in seconds. */
  async jwks(now = Date.now()): Promise<{ keys: Record<string, string>[]; maxAge: number }> {
    await this.signingKey("dynamic", now);
    await this.signingKey("static", now);
    const keys = await this.all();
    const dynamic = this.dynamicKeys(keys);
    const horizon = now - (this.interval() + 2 * this.config().access_token_validity * 1000);
    const live = dynamic.filter((k, i) => i === 0 || k.createdAt >= horizon);
    const maxAge = Math.max(1, Math.floor((dynamic[0].createdAt + this.interval() - this.overlap() - now) / 1000));
    return { keys: [...live, ...keys.filter((k) => k.type === "static")].map((k) => k.jwk), maxAge };
  }

  /** Secret for the refresh tokens' MAC; created once per app and kept with the keys. */
  refreshTokenSecret(): Promise<Buffer> {
    if (this.refreshSecret) return Promise.resolve(this.refreshSecret);
    this.refreshLoading ??= this.all().then(async () => {
      if (this.refreshSecret) return this.refreshSecret;
      const secret = randomBytes(32);
      await this.storage.addSigningKey({
        kid: `r-${randomUUID()}`,
        type: "refresh",
        createdAt: Date.now(),
        privateKey: secret.toString("base64"),
        publicKey: "",
      });
      return (this.refreshSecret = secret);
    });
    return this.refreshLoading;
  }
}
