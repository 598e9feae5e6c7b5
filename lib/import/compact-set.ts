import { randomInt } from "node:crypto";

/*
 * What the import remembers of every row, a million of them, without keeping a string per row: 64-bit hashes of
 * ids and emails in an open-addressing table of two Uint32Arrays, 8 bytes a slot, at most 70 % full (about 11 to 23
 * bytes per key, against about 100 for a string in a Set). Each key carries one flag bit (seen more than once,
 * or a pending user), so a hash has 63 bits of its own.
 *
 * A hash can collide. Where that could change an outcome silently, the caller checks exactly (duplicates inside
 * the input are counted again by string, for the few keys flagged). Elsewhere (users SuperTokens already holds)
 * the chance that a run's decision differs is about (keys in the table × rows looked up) / 2^63, below 10^-7 for a
 * million users against a million; the seed is random per run, so no input can be made to collide on purpose.
 */

const seed = randomInt(2 ** 31);
let high = 0;
let low = 0;

/** Two 32-bit lanes over the UTF-16 code units, each mixed as MurmurHash3's fmix32 ends; result in high/low. */
function hash(key: string): void {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x85ebca6b ^ Math.imul(seed, 0x27d4eb2f);
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0xcc9e2d51);
    a = (a << 15) | (a >>> 17);
    b = Math.imul(b ^ c, 0x1b873593);
    b = (b << 13) | (b >>> 19);
    b = (b + a) | 0;
  }
  a ^= key.length;
  b ^= a;
  a = fmix(a);
  b = fmix(b ^ a);
  high = b;
  // Bit 0 is the flag; 0/0 marks an empty slot, so a key's low word is never 0.
  low = a & ~1 || 2;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A set of strings kept as 63-bit hashes, each with one flag bit. */
export class CompactSet {
  private highs: Uint32Array;
  private lows: Uint32Array;
  private mask: number;
  /** Keys held. */
  size = 0;
  /** Keys whose flag is set. */
  flagged = 0;

  constructor(capacity = 1024) {
    let slots = 1024;
    while (slots * 0.7 < capacity) slots *= 2;
    this.highs = new Uint32Array(slots);
    this.lows = new Uint32Array(slots);
    this.mask = slots - 1;
  }

  /** Bytes the table takes. */
  get bytes(): number {
    return this.highs.byteLength + this.lows.byteLength;
  }

  private slotOf(key: string): number {
    hash(key);
    let i = (high ^ Math.imul(low, 0x9e3779b1)) & this.mask;
    for (;;) {
      const l = this.lows[i];
      if (l === 0 || (this.highs[i] === high && (l & ~1) >>> 0 === low >>> 0)) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds `key`; true when it was there already (its flag is then set if `flagRepeat`). */
  add(key: string, flag = false, flagRepeat = false): boolean {
    const i = this.slotOf(key);
    if (this.lows[i] !== 0) {
      if (flagRepeat) this.setFlag(i);
      return true;
    }
    this.highs[i] = high;
    this.lows[i] = low;
    this.size++;
    if (flag) this.setFlag(i);
    if (this.size > (this.mask + 1) * 0.7) this.grow();
    return false;
  }

  has(key: string): boolean {
    return this.lows[this.slotOf(key)] !== 0;
  }

  /** undefined when absent, else the key's flag. */
  flag(key: string): boolean | undefined {
    const l = this.lows[this.slotOf(key)];
    return l === 0 ? undefined : (l & 1) === 1;
  }

  private setFlag(i: number): void {
    if ((this.lows[i] & 1) === 1) return;
    this.lows[i] = (this.lows[i] | 1) >>> 0;
    this.flagged++;
  }

  private grow(): void {
    const [highs, lows] = [this.highs, this.lows];
    this.highs = new Uint32Array(highs.length * 2);
    this.lows = new Uint32Array(lows.length * 2);
    this.mask = this.highs.length - 1;
    for (let j = 0; j < lows.length; j++) {
      if (lows[j] === 0) continue;
      const h = highs[j];
      const l = lows[j];
      let i = (h ^ Math.imul(l & ~1 || 2, 0x9e3779b1)) & this.mask;
      while (this.lows[i] !== 0) i = (i + 1) & this.mask;
      this.highs[i] = h;
      this.lows[i] = l;
    }
  }
}
