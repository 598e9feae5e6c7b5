/**
 * The README shows the demo's story in pictures: docs/images/demo-<step>.png, one for each step of
 * demo-app/story.ts, taken by demo-browser.spec.ts (`UPDATE_DEMO_IMAGES=1` writes them). A step without its
 * picture, a picture left from a step that is gone, or one at another width or too heavy for a README fails here.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { storySteps } from "../../demo-app/story.js";

const images = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/images");
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const WIDTH = 1100;
const MAX_BYTES = 250 * 1024;

/** Width and height from a PNG's IHDR chunk, which the format puts first. */
function pngSize(bytes: Buffer): { width: number; height: number } | undefined {
  if (bytes.length < 24 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  if (bytes.toString("latin1", 12, 16) !== "IHDR") return undefined;
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}

describe("the demo story's pictures in docs/images", () => {
  for (const [i, step] of storySteps.entries()) {
    it(`step ${i + 1} (${step.label}): demo-${step.id}.png is a PNG ${WIDTH} px wide, under 250 KB`, async () => {
      const file = path.join(images, `demo-${step.id}.png`);
      const bytes = await readFile(file).catch(() => undefined);
      assert.ok(bytes, `docs/images/demo-${step.id}.png is missing: run UPDATE_DEMO_IMAGES=1 on demo-browser.spec.ts`);
      const size = pngSize(bytes);
      assert.ok(size, `docs/images/demo-${step.id}.png is not a PNG`);
      assert.equal(size.width, WIDTH);
      assert.ok(size.height >= 400 && size.height <= 2400, `height ${size.height} px`);
      assert.ok(bytes.length <= MAX_BYTES, `${bytes.length} bytes`);
    });
  }

  it("has no demo picture for a step the story no longer has", async () => {
    const expected = new Set(storySteps.map((s) => `demo-${s.id}.png`));
    const stray = (await readdir(images)).filter((f) => f.startsWith("demo-") && !expected.has(f));
    assert.deepEqual(stray, []);
  });
});

describe("pngSize", () => {
  it("reads the IHDR of a PNG, and refuses other bytes", () => {
    const ihdr = Buffer.alloc(24);
    PNG_SIGNATURE.copy(ihdr, 0);
    ihdr.writeUInt32BE(13, 8);
    ihdr.write("IHDR", 12, "latin1");
    ihdr.writeUInt32BE(1100, 16);
    ihdr.writeUInt32BE(800, 20);
    assert.deepEqual(pngSize(ihdr), { width: 1100, height: 800 });
    assert.equal(pngSize(Buffer.from("GIF89a........................")), undefined);
    assert.equal(pngSize(ihdr.subarray(0, 20)), undefined);
  });
});
