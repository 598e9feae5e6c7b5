import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import express from "express";
import request from "supertest";
import { sign, unsign } from "cookie-signature";
import fc from "fast-check";
import { MAX_LEGACY_COOKIE_LENGTH, readLegacySid, type LegacyCookieResult } from "../../lib/session/legacy-cookie.js";
import { session, type LegacyRequest, type SessionStore } from "../helpers/legacy-session.js";

// The exact parser express-session uses, as the oracle for the property test (no types ship with cookie 0.7).
const cookie = createRequire(import.meta.url)("cookie") as {
  parse(header: string, options?: { decode?: (value: string) => string }): Record<string, string>;
};

const NAME = "connect.sid";

/** A real legacy app: express-session with a MemoryStore, a login route, and a route that reports the user. */
function legacyApp(secret: string | string[], store: SessionStore) {
  const app = express();
  app.use(session({ name: NAME, secret, store, resave: false, saveUninitialized: false }));
  app.post("/login", (req, res) => {
    const legacy = req as unknown as LegacyRequest;
    legacy.session.userId = "42";
    res.json({ sid: legacy.sessionID });
  });
  app.get("/whoami", (req, res) => {
    res.json({ userId: (req as unknown as LegacyRequest).session.userId ?? null });
  });
  return app;
}

/** Logs in and returns `connect.sid=<value>` exactly as the browser would send it back, plus the sid. */
async function login(app: express.Express): Promise<{ pair: string; sid: string }> {
  const res = await request(app).post("/login").expect(200);
  const setCookie = ([] as string[]).concat(res.headers["set-cookie"] ?? []);
  const line = setCookie.find((c) => c.startsWith(`${NAME}=`));
  assert.ok(line, "express-session sent no session cookie");
  return { pair: line.split(";")[0], sid: (res.body as { sid: string }).sid };
}

/** Does express-session itself see the logged-in session for this Cookie header? */
async function expressSessionAccepts(app: express.Express, header: string): Promise<boolean> {
  const res = await request(app).get("/whoami").set("Cookie", header).expect(200);
  return (res.body as { userId: string | null }).userId === "42";
}

function value(pair: string): string {
  return pair.slice(pair.indexOf("=") + 1);
}

describe("readLegacySid", () => {
  const store = new session.MemoryStore();
  const app = legacyApp("s3cret-current", store);
  let pair = "";
  let sid = "";

  before(async () => {
    ({ pair, sid } = await login(app));
  });

  describe("when the cookie was set by a real express-session", () => {
    it("returns the session id express-session assigned", async () => {
      assert.match(value(pair), /^s%3A/);
      assert.deepEqual(readLegacySid(pair, NAME, ["s3cret-current"]), { status: "OK", sid, duplicate: false });
      assert.equal(await expressSessionAccepts(app, pair), true);
    });

    it("finds it among other cookies, with spaces and tabs around pairs", () => {
      const header = `theme=dark;  other=1; \t${pair}\t ; last=x`;
      assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "OK", sid, duplicate: false });
    });

    it("accepts the value in double quotes, as the cookie parser does", async () => {
      const header = `${NAME}="${value(pair)}"`;
      assert.equal(await expressSessionAccepts(app, header), true);
      assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "OK", sid, duplicate: false });
    });

    it("accepts the value with `s:` not percent-encoded", () => {
      const header = `${NAME}=${decodeURIComponent(value(pair))}`;
      assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "OK", sid, duplicate: false });
    });
  });

  describe("when secrets are rotated", () => {
    const shared = new session.MemoryStore();
    const oldApp = legacyApp("old-secret", shared);
    const rotatedApp = legacyApp(["new-secret", "old-secret"], shared);
    const droppedApp = legacyApp("new-secret", shared);
    let oldPair = "";
    let oldSid = "";

    before(async () => {
      ({ pair: oldPair, sid: oldSid } = await login(oldApp));
    });

    it("still verifies a cookie signed with an older secret in the array", async () => {
      assert.equal(await expressSessionAccepts(rotatedApp, oldPair), true);
      assert.deepEqual(readLegacySid(oldPair, NAME, ["new-secret", "old-secret"]), {
        status: "OK",
        sid: oldSid,
        duplicate: false,
      });
    });

    it("verifies cookies signed with the first secret", async () => {
      const { pair: newPair, sid: newSid } = await login(rotatedApp);
      assert.deepEqual(readLegacySid(newPair, NAME, ["new-secret", "old-secret"]), {
        status: "OK",
        sid: newSid,
        duplicate: false,
      });
    });

    it("rejects it once the old secret is dropped", async () => {
      assert.equal(await expressSessionAccepts(droppedApp, oldPair), false);
      assert.deepEqual(readLegacySid(oldPair, NAME, ["new-secret"]), { status: "BAD_SIGNATURE" });
    });

    it("rejects everything when no secret is configured", () => {
      assert.deepEqual(readLegacySid(oldPair, NAME, []), { status: "BAD_SIGNATURE" });
    });
  });

  describe("when the legacy cookie is forged or tampered with", () => {
    // Each variant is also sent to express-session: what it refuses, we refuse.
    const variants: Array<[string, (signed: string, sid: string) => string]> = [
      ["signature changed", (signed) => signed.slice(0, -1) + (signed.endsWith("A") ? "B" : "A")],
      ["signature truncated", (signed) => signed.slice(0, -2)],
      ["signature missing", (_signed, sid) => `s:${sid}`],
      ["signature padded with =", (signed) => `${signed}=`],
      ["junk appended", (signed) => `${signed}junk`],
      ["dot and junk appended", (signed) => `${signed}.junk`],
      [
        "sid changed, signature kept",
        (signed, sid) => signed.replace(sid, sid.slice(0, -1) + (sid.endsWith("a") ? "b" : "a")),
      ],
      ["no s: prefix, valid signature", (signed) => signed.slice(2)],
      ["no s: prefix, bare sid", (_signed, sid) => sid],
      ["signed with another secret", (_signed, sid) => `s:${sign(sid, "attacker-secret")}`],
      ["leading space inside the value", (signed) => ` x${signed}`],
    ];

    for (const [label, mutate] of variants) {
      it(`returns BAD_SIGNATURE: ${label}`, async () => {
        const header = `${NAME}=${encodeURIComponent(mutate(decodeURIComponent(value(pair)), sid))}`;
        assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "BAD_SIGNATURE" });
        assert.equal(await expressSessionAccepts(app, header), false);
      });
    }

    it("returns BAD_SIGNATURE for malformed percent-encoding, without throwing", () => {
      for (const raw of ["s%3A%E0%A4%A", "%", "s%3Aabc%ZZ.sig", "%C0%80", "s%3A%uD800"]) {
        assert.deepEqual(readLegacySid(`${NAME}=${raw}`, NAME, ["s3cret-current"]), { status: "BAD_SIGNATURE" }, raw);
      }
    });

    it(`returns BAD_SIGNATURE for a correctly signed value longer than ${MAX_LEGACY_COOKIE_LENGTH} bytes`, () => {
      const longSid = "a".repeat(MAX_LEGACY_COOKIE_LENGTH);
      const header = `${NAME}=${encodeURIComponent(`s:${sign(longSid, "s3cret-current")}`)}`;
      assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "BAD_SIGNATURE" });
      // Just under the cap, the same construction verifies, so the cap (not the signature) rejected it.
      const shortSid = "a".repeat(1000);
      const ok = `${NAME}=${encodeURIComponent(`s:${sign(shortSid, "s3cret-current")}`)}`;
      assert.deepEqual(readLegacySid(ok, NAME, ["s3cret-current"]), { status: "OK", sid: shortSid, duplicate: false });
    });

    it("returns BAD_SIGNATURE for a signed empty sid", () => {
      const header = `${NAME}=${encodeURIComponent(`s:${sign("", "s3cret-current")}`)}`;
      assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "BAD_SIGNATURE" });
    });
  });

  describe("when the cookie name appears more than once", () => {
    it("verifies the first one and reports the duplicate", async () => {
      const forged = `${NAME}=${encodeURIComponent(`s:${sign("victim", "attacker-secret")}`)}`;
      const result = readLegacySid(`${pair}; ${forged}`, NAME, ["s3cret-current"]);
      assert.deepEqual(result, { status: "OK", sid, duplicate: true });
    });

    it(
      "rejects when the first one is forged, even if a later one is valid (first wins, like " + "express-session)",
      async () => {
        const forged = `${NAME}=${encodeURIComponent(`s:${sign("victim", "attacker-secret")}`)}`;
        const header = `${forged}; ${pair}`;
        assert.equal(await expressSessionAccepts(app, header), false);
        assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "BAD_SIGNATURE" });
      },
    );
  });

  describe("when there is no legacy cookie", () => {
    const cases: Array<[string, string | undefined]> = [
      ["no header", undefined],
      ["empty header", ""],
      ["other cookies only", "a=1; b=2"],
      ["a longer name that ends with the name", `x${pair}`],
      ["a name that differs in case", pair.replace("connect", "Connect")],
      ["an empty value", `${NAME}=`],
      ["the name without =", `${NAME}; a=1`],
    ];
    for (const [label, header] of cases) {
      it(`returns NONE: ${label}`, () => {
        assert.deepEqual(readLegacySid(header, NAME, ["s3cret-current"]), { status: "NONE" });
      });
    }
  });

  describe("for arbitrary input (property tests)", () => {
    const SECRETS = ["s3cret-current", "s3cret-old"];

    /** What express-session would accept, recomputed from the `cookie` package's own parse. */
    function oracle(header: string): LegacyCookieResult {
      const raw = cookie.parse(header, { decode: (v) => v })[NAME];
      if (raw === undefined || raw === "") return { status: "NONE" };
      if (raw.length > MAX_LEGACY_COOKIE_LENGTH) return { status: "BAD_SIGNATURE" };
      let decoded: string;
      try {
        decoded = raw.includes("%") ? decodeURIComponent(raw) : raw;
      } catch {
        return { status: "BAD_SIGNATURE" };
      }
      if (!decoded.startsWith("s:")) return { status: "BAD_SIGNATURE" };
      for (const secret of SECRETS) {
        const sid = unsign(decoded.slice(2), secret);
        if (sid !== false && sid !== "") {
          const count = header
            .split(";")
            .filter((part) => part.includes("=") && part.slice(0, part.indexOf("=")).trim() === NAME).length;
          return { status: "OK", sid, duplicate: count > 1 };
        }
        if (sid === "") break;
      }
      return { status: "BAD_SIGNATURE" };
    }

    const signedValue = fc
      .tuple(fc.string({ maxLength: 40 }), fc.constantFrom(...SECRETS, "wrong-secret"))
      .map(([sid, secret]) => `s:${sign(sid, secret)}`);
    const mutated = fc
      .tuple(signedValue, fc.nat(), fc.string({ maxLength: 3 }), fc.constantFrom("flip", "append", "truncate", "none"))
      .map(([v, at, extra, how]) => {
        const i = v.length === 0 ? 0 : at % v.length;
        if (how === "flip") return v.slice(0, i) + String.fromCharCode(v.charCodeAt(i) ^ 1) + v.slice(i + 1);
        if (how === "append") return v + extra;
        if (how === "truncate") return v.slice(0, i);
        return v;
      });
    const encoding = fc.constantFrom("uri", "raw", "quoted");
    const legacyPair = fc.tuple(fc.oneof(signedValue, mutated, fc.string()), encoding).map(([v, enc]) => {
      const encoded = enc === "raw" ? v : encodeURIComponent(v);
      return `${NAME}=${enc === "quoted" ? `"${encoded}"` : encoded}`;
    });
    const otherPair = fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 })).map(([k, v]) => `${k}=${v}`);
    const header = fc
      .array(fc.oneof(legacyPair, otherPair, fc.string({ maxLength: 20 })), { maxLength: 6 })
      .chain((parts) => fc.constantFrom("; ", ";", " ; ").map((sep) => parts.join(sep)));

    it("never throws for any string, and never returns OK for random input", () => {
      fc.assert(
        fc.property(
          fc.string({ unit: "binary", maxLength: 300 }),
          fc.array(fc.string(), { maxLength: 3 }),
          (h, secrets) => {
            const result = readLegacySid(h, NAME, secrets);
            assert.notEqual(result.status, "OK");
          },
        ),
        { numRuns: 2000 },
      );
    });

    it(
      "returns OK exactly when the first cookie of that name verifies (differential against the cookie " + "package)",
      () => {
        fc.assert(
          fc.property(header, (h) => {
            const expected = oracle(h);
            const actual = readLegacySid(h, NAME, SECRETS);
            assert.deepEqual(actual, expected);
            if (actual.status === "OK") {
              // Independent check of the signature itself.
              const raw = cookie.parse(h)[NAME];
              assert.ok(SECRETS.some((s) => unsign(raw.slice(2), s) === actual.sid));
            }
          }),
          { numRuns: 3000 },
        );
      },
    );

    it("parses a 1 MB header of 100,000 pairs in linear time", () => {
      const big = Array.from({ length: 100_000 }, (_, i) => `k${i}=v${i}`).join("; ") + `; ${pair}`;
      const started = performance.now();
      const result = readLegacySid(big, NAME, ["s3cret-current"]);
      const elapsed = performance.now() - started;
      assert.deepEqual(result, { status: "OK", sid, duplicate: false });
      assert.ok(elapsed < 500, `took ${elapsed} ms`);
    });
  });
});
