/**
 * Property-based fuzzing of the Cookie header through the whole middleware (issue 4 "Tests"; reliability T1,
 * T21, M1, M4): no exception escapes (the answer is 200 or 401, never 5xx), no store lookup for a legacy
 * cookie whose signature does not verify, and nothing malformed or duplicated ever signs anyone in.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import request from "supertest";
import fc from "fast-check";
import { unsign } from "cookie-signature";
import { startDevCore, type DevCore } from "../../lib/core/index.js";
import { createCoreApp } from "../helpers/sdk.js";
import { session as expressSession } from "../helpers/legacy-session.js";
import { initSuperTokens, legacyLogin, SECRET } from "../helpers/dual-app.js";
import { countCalls, fullApp, serve } from "../helpers/dual-fixtures.js";

// express-session's own parser (cookie 0.7, no types shipped): the oracle for "which value would it verify".
const cookie = createRequire(import.meta.url)("cookie") as { parse(header: string): Record<string, string> };

const NAME = "connect.sid";

/** What express-session would conclude: the first `connect.sid`, verified with the secret, or undefined. */
function oracleSid(header: string): string | undefined {
  const raw = cookie.parse(header)[NAME];
  if (!raw || !raw.startsWith("s:")) return undefined;
  const sid = unsign(raw.slice(2), SECRET);
  return sid === false ? undefined : sid;
}

let core: DevCore;
before(async () => {
  core = await startDevCore();
});
after(() => core.close());

/** Characters Node's HTTP client lets through in a header value (HTAB, printable ASCII, obs-text). */
const headerChar = fc
  .oneof(
    { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
    { weight: 1, arbitrary: fc.constant(0x09) },
    { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  )
  .map((c) => String.fromCharCode(c));
const headerString = (maxLength: number) => fc.array(headerChar, { maxLength }).map((cs) => cs.join(""));

function mutate(value: string) {
  return fc.oneof(
    // flip, insert or delete one character anywhere (sid, dot, signature)
    fc.tuple(fc.nat(), headerChar).map(([i, c]) => {
      const at = i % value.length;
      return value.slice(0, at) + c + value.slice(at + 1);
    }),
    fc.tuple(fc.nat(), headerChar).map(([i, c]) => {
      const at = i % (value.length + 1);
      return value.slice(0, at) + c + value.slice(at);
    }),
    fc.nat().map((i) => {
      const at = i % value.length;
      return value.slice(0, at) + value.slice(at + 1);
    }),
    fc.nat().map((i) => value.slice(0, i % value.length)),
    headerString(8).map((junk) => value + junk),
    headerString(8).map((junk) => junk + value),
    fc.constant(value.replace(/[a-z]/, (c) => c.toUpperCase())),
    fc.constant(value.slice(2)),
  );
}

describe("dualSession: fuzzing the Cookie header", () => {
  it(
    "never answers 5xx, never looks up a cookie that does not verify, and signs in only the genuine " + "cookie",
    async () => {
      initSuperTokens(await createCoreApp(core.url));
      const { store, calls } = countCalls(new expressSession.MemoryStore());
      const live = await legacyLogin(store, "fuzz-victim");
      const anonymous = await legacyLogin(store, "ignored", { layout: "anonymous" });
      const liveValue = live.get(NAME)!;
      const liveDecoded = decodeURIComponent(liveValue);
      const liveSid = oracleSid(`${NAME}=${liveValue}`)!;
      assert.ok(liveSid);

      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on("unhandledRejection", onUnhandled);
      // Room for the longest Cookie header generated below plus the other request headers; Node's default limit
      // (16 KiB for all headers) would answer 431 itself, before the app runs.
      const server = await serve(fullApp({ store, secret: SECRET }).app, { maxHeaderSize: 32 * 1024 });

      const value = fc.oneof(
        { weight: 2, arbitrary: fc.constant(liveValue) },
        { weight: 1, arbitrary: fc.constant(anonymous.get(NAME)!) },
        { weight: 6, arbitrary: mutate(liveDecoded).map((v) => (v.includes(";") ? v : encodeURIComponent(v))) },
        { weight: 4, arbitrary: mutate(liveValue) },
        { weight: 3, arbitrary: headerString(40) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            "%E0%A4%A",
            "%",
            "%zz",
            "s%3A",
            "s:",
            '"',
            '""',
            "s:.",
            "s:abc.",
            "s:.abc",
            "=",
            "\t",
          ),
        },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 8000 }).map((n) => `s:${"a".repeat(n)}.${"b".repeat(43)}`) },
      );
      const name = fc.oneof(
        { weight: 6, arbitrary: fc.constant(NAME) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            "sAccessToken",
            "sRefreshToken",
            "sFrontToken",
            "sIdRefreshToken",
            "__proto__",
            "constructor",
          ),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(" connect.sid", "connect.sid ", "Connect.sid", "connect.sid\t", "connect%2Esid"),
        },
        { weight: 2, arbitrary: headerString(12) },
      );
      const separator = fc.constantFrom("; ", ";", " ;", ";;", "; \t");
      const structured = fc
        .tuple(fc.array(fc.tuple(name, value), { minLength: 1, maxLength: 12 }), separator)
        .map(([pairs, sep]) => pairs.map(([n, v]) => `${n}=${v}`).join(sep));
      const manyPairs = fc
        .tuple(fc.integer({ min: 1, max: 1000 }), fc.boolean())
        .map(([n, withLive]) =>
          [...Array.from({ length: n }, (_, i) => `k${i}=v${i}`), ...(withLive ? [`${NAME}=${liveValue}`] : [])].join(
            "; ",
          ),
        );
      // Up to 16,383 bytes, the largest Cookie header a default Node server in front of the app would pass on (M4).
      const header = fc
        .oneof(
          { weight: 6, arbitrary: structured },
          { weight: 2, arbitrary: headerString(300) },
          { weight: 1, arbitrary: manyPairs },
        )
        .filter((h) => h.length <= 16_383);

      let migrations = 0;
      try {
        await fc.assert(
          fc.asyncProperty(header, async (cookieHeader) => {
            const getsBefore = calls.get;
            const res = await request(server.url).get("/api/me").set("Cookie", cookieHeader);
            assert.ok(res.status === 200 || res.status === 401, `answered ${res.status}: ${res.text.slice(0, 200)}`);
            const verified = oracleSid(cookieHeader);
            if (calls.get > getsBefore)
              assert.ok(verified !== undefined, "a cookie whose signature does not verify reached the store");
            if (res.status === 200) {
              // Only the genuine, unduplicated cookie of the logged-in session signs anyone in.
              assert.equal(verified, liveSid);
              assert.equal(res.body.userId, "fuzz-victim");
              assert.equal(cookieHeader.split(";").filter((p) => p.split("=")[0].trim() === NAME).length, 1);
              migrations++;
            }
          }),
          { numRuns: 200 },
        );
        assert.deepEqual(unhandled, []);
        // The property must have exercised both sides: real sign-ins and real rejections.
        assert.ok(migrations > 0, "no run carried the genuine cookie");
      } finally {
        process.off("unhandledRejection", onUnhandled);
        await server.close();
      }
    },
  );
});
