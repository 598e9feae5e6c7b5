/** The CSV reader behind `import --file users.csv`: RFC 4180 quoting, chunk boundaries anywhere, and no guessing. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CsvParser, csvField } from "../../lib/import/sources/csv.js";

function parseChunks(chunks: string[]): string[][] {
  const p = new CsvParser();
  return [...chunks.flatMap((c) => p.push(c)), ...p.end()];
}

/** Split `text` at the given cut points (fast-check chooses them), to cross every boundary a stream can have. */
function cut(text: string, points: number[]): string[] {
  const sorted = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let from = 0;
  for (const p of sorted) {
    out.push(text.slice(from, p));
    from = p;
  }
  out.push(text.slice(from));
  return out;
}

describe("CsvParser", () => {
  it("reads quoted commas, doubled quotes, line breaks in fields, CRLF and a BOM", () => {
    const text =
      '\uFEFFid,email,meta\r\n1,a@x.io,"{""plan"":""pro, annual""}"\r\n2,"b@x.io","line one\nline two"\n\n3,c@x.io,\n';
    assert.deepEqual(parseChunks([text]), [
      ["id", "email", "meta"],
      ["1", "a@x.io", '{"plan":"pro, annual"}'],
      ["2", "b@x.io", "line one\nline two"],
      ["3", "c@x.io", ""],
    ]);
  });

  it("keeps a last record without a line break", () => {
    assert.deepEqual(parseChunks(["a,b\n1,", '""']), [
      ["a", "b"],
      ["1", ""],
    ]);
  });

  for (const [name, text, line] of [
    ["a quote inside an unquoted field", 'a,b\n1,x"y\n', 2],
    ["text after a closing quote", 'a,b\n1,"x"y\n', 2],
    // The line where the quote opened, not the end of the file (issue 14).
    ["an unterminated quoted field", 'a,b\n1,"x\n\n', 2],
    ["a quote left open far from the end", 'a,b\n1,2\n3,"x\n4,5\n6,7\r\n8,9\n', 3],
  ] as const) {
    it(`fails with ERR_MIGRATE_BAD_INPUT on ${name}, naming the line`, () => {
      assert.throws(
        () => parseChunks([text]),
        (err: NodeJS.ErrnoException) =>
          err.code === "ERR_MIGRATE_BAD_INPUT" && err.message.includes(`CSV line ${line}:`),
      );
    });
  }

  it("round-trips any records through csvField, however the stream is chunked", () => {
    const field = fc.string({ unit: fc.constantFrom("a", "Z", "é", ",", '"', "\n", "\r", " ", "😀") });
    const record = fc.array(field, { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(
        fc.array(record, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (records, points, crlf) => {
          const text = records.map((r) => r.map(csvField).join(",")).join(crlf ? "\r\n" : "\n");
          assert.deepEqual(parseChunks(cut(text, points)), records);
        },
      ),
      { numRuns: 300 },
    );
  });
});
