import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { defaultUserId } from "../../lib/legacy-user-id.js";

describe("defaultUserId", () => {
  const found: Array<[string, unknown, string]> = [
    ["passport.user as a string", { passport: { user: "u-1" } }, "u-1"],
    ["passport.user as a number", { passport: { user: 42 } }, "42"],
    ["passport.user as an object with id", { passport: { user: { id: 7, role: "admin" } } }, "7"],
    ["userId", { userId: "abc" }, "abc"],
    ["userId as a number", { userId: 0 }, "0"],
    ["user_id", { user_id: 12 }, "12"],
    ["user.id", { user: { id: "x1", email: "a@b.c" } }, "x1"],
    ["passport before userId", { passport: { user: "p" }, userId: "u" }, "p"],
  ];
  for (const [label, data, expected] of found) {
    it(`reads ${label}`, () => assert.equal(defaultUserId(data), expected));
  }

  const anonymous: Array<[string, unknown]> = [
    ["no user keys (cart, flash)", { cookie: {}, cart: [1, 2], flash: {} }],
    ["passport after logout", { passport: {} }],
    ["passport after logout, with a userId beside it", { passport: {}, userId: "u" }],
    ["an empty string", { userId: "" }],
    ["whitespace", { userId: " \t " }],
    ["null", { userId: null }],
    ["a boolean", { userId: true }],
    ["an array", { userId: ["1"] }],
    ["an object without id", { passport: { user: { name: "n" } } }],
    ["a fractional number", { userId: 1.5 }],
    ["NaN", { userId: Number.NaN }],
    ["an unsafe integer", { userId: 2 ** 60 }],
    ["a control character", { userId: "a\u0000b" }],
    ["an over-long id", { userId: "a".repeat(256) }],
    ["user without id", { user: { email: "a@b.c" } }],
    ["a non-object payload", "userId"],
    ["null payload", null],
    ["id on the prototype only", Object.create({ userId: "inherited" })],
    ["__proto__ from JSON", JSON.parse('{"__proto__": {"userId": "polluted"}}')],
  ];
  for (const [label, data] of anonymous) {
    it(`returns undefined for ${label}`, () => assert.equal(defaultUserId(data), undefined));
  }

  it("never throws and only returns non-blank strings, for any JSON payload", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (data) => {
        const id = defaultUserId(data);
        assert.ok(id === undefined || (typeof id === "string" && id.trim() !== ""));
      }),
      { numRuns: 1000 },
    );
  });
});
