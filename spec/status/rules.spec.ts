/**
 * The status classes hashes on top of the import's own check (lib/hashes/import-check.ts); the classes it adds
 * (verify-only, unrecognised, malformed, missing) are checked here against real fixtures.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkHash } from "../../lib/hashes/import-check.js";
import { classifyHash } from "../../lib/status/hash-class.js";
import { argon2Row, bcryptRows, djangoRow, firebaseRow } from "../helpers/import-fixtures.js";

describe("the status' hash classes", () => {
  it("counts a hash as importable exactly when the import would import it", async () => {
    const hashes = [
      ...(await bcryptRows(1, "h")).map((r) => r.hash),
      (await argon2Row("a", "a@example.com")).hash,
      firebaseRow("f", "f@example.com", Buffer.alloc(64, 1).toString("base64")).hash,
      djangoRow("d", "d@example.com").hash,
      "$2x$10$abcdefghijklmnopqrstuuNs4cQ5Z7RNYgr8g6Npbcwm9y5TMy9K.",
      "$2b$10$short",
      "$2b$04$" + "a".repeat(53),
      "$argon2id$",
      "$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA",
      "pbkdf2:sha256:1000$salt$abcd",
      "plain text",
      "  $2b$10$" + "b".repeat(53) + "  ",
    ];
    for (const hash of hashes)
      assert.equal(
        classifyHash(hash) === "importable",
        checkHash(hash).ok,
        `${hash.slice(0, 20)}: ${classifyHash(hash)}`,
      );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `$2b$1${s}`),
          fc.string().map((s) => `$argon2i${s}`),
        ),
        (h) => {
          assert.equal(classifyHash(h) === "importable", checkHash(h).ok);
        },
      ),
      { numRuns: 2000 },
    );
    assert.equal(classifyHash(null), "missing-hash");
    assert.equal(classifyHash("   "), "missing-hash");
    assert.equal(classifyHash(djangoRow("d", "d@example.com").hash), "verify-only");
    assert.equal(classifyHash("plain text"), "unrecognised");
    assert.equal(classifyHash("$2b$10$short"), "malformed");
  });
});
