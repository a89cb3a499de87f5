const QUOTE = 34;

/**
 * Strings seen in one column, in first-seen order, found by their bytes: an open-addressing table
 * of codes over a hash of the field's bytes, which are kept in one pool. The values become
 * JavaScript strings once, at the end (`finish`): a column of many distinct values, such as an
 * identifier, costs no string per row while it is parsed.
 */
export class ByteDictionary {
  /** Number of distinct values, the next code. */
  private size = 0;
  private pool = new Uint8Array(1 << 16);
  private poolUsed = 0;
  private offsets = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  private slots = new Int32Array(1024).fill(-1);
  /** Every kept byte OR-ed together: below 0x80 when the pool is ASCII. */
  private high = 0;
  /** Some kept value holds a quote: a quoted field's escaped `""`. */
  private quotes = false;
  /**
   * Every value so far arrived bytewise greater than the one before (an identifier column in
   * order): each was new without a lookup, and the table is built only when the run ends.
   */
  private ascending = true;

  /** Number of distinct values so far. */
  get distinct(): number {
    return this.size;
  }

  /** The code of the field buf[start, end). */
  code(buf: Buffer, start: number, end: number): number {
    return this.codeHashed(buf, start, end, hashBytes(buf, start, end));
  }

  /** The code of the field buf[start, end), whose hashBytes a caller scanning it already computed. */
  codeHashed(buf: Buffer, start: number, end: number, hash: number): number {
    const h = mixHash(hash);
    if (this.ascending) {
      if (this.size === 0 || this.followsLast(buf, start, end)) {
        const code = this.size++;
        this.keep(buf, start, end, h);
        return code;
      }
      // The run ends: the values it kept go into a table with room for twice as many.
      this.ascending = false;
      let length = this.slots.length;
      while (length < 2 * this.size + 2) length *= 2;
      this.rehash(length);
    }
    const mask = this.slots.length - 1;
    let slot = h & mask;
    for (;;) {
      const code = this.slots[slot] as number;
      if (code < 0) break;
      if (this.hashes[code] === h && this.holds(code, buf, start, end)) return code;
      slot = (slot + 1) & mask;
    }
    const code = this.size++;
    this.keep(buf, start, end, h);
    this.slots[slot] = code;
    if (this.size * 2 > this.slots.length) this.rehash();
    return code;
  }

  /**
   * The values in code order (a quoted field's `""` read as `"`) and whether some value is text
   * DuckDB could not read as a number, date or timestamp; undefined when some value is not valid UTF-8.
   */
  finish(): { strings: string[]; sawText: boolean } | undefined {
    const pool = Buffer.from(this.pool.buffer, this.pool.byteOffset, this.poolUsed);
    // ASCII decodes once, and each value is a slice of that one string.
    const all = this.high < 0x80 ? pool.toString("latin1") : undefined;
    const strings: string[] = new Array<string>(this.size);
    let sawText = false;
    for (let code = 0; code < this.size; code++) {
      const from = this.offsets[code] as number;
      const to = this.offsets[code + 1] as number;
      let text = all === undefined ? pool.toString("utf8", from, to) : all.slice(from, to);
      if (all === undefined && text.includes("\uFFFD")) return undefined;
      if (this.quotes && text.includes('"')) text = text.replaceAll('""', '"');
      if (!sawText && !mightBeTyped(text)) sawText = true;
      strings[code] = text;
    }
    return { strings, sawText };
  }

  /** Whether buf[start, end) is bytewise greater than the last value kept. */
  private followsLast(buf: Buffer, start: number, end: number): boolean {
    const pool = this.pool;
    const from = this.offsets[this.size - 1] as number;
    const to = this.offsets[this.size] as number;
    for (let i = start, j = from; j < to; i++, j++) {
      if (i === end) return false;
      const a = buf[i] as number;
      const b = pool[j] as number;
      if (a !== b) return a > b;
    }
    return end - start > to - from;
  }

  private holds(code: number, buf: Buffer, start: number, end: number): boolean {
    const from = this.offsets[code] as number;
    if ((this.offsets[code + 1] as number) - from !== end - start) return false;
    for (let i = start, j = from; i < end; i++, j++) if (buf[i] !== this.pool[j]) return false;
    return true;
  }

  /** Appends the bytes of code `size - 1` to the pool; a byte loop, as fields are short. */
  private keep(buf: Buffer, start: number, end: number, hash: number): void {
    const n = this.size;
    if (this.poolUsed + end - start > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.poolUsed + end - start));
      pool.set(this.pool.subarray(0, this.poolUsed));
      this.pool = pool;
    }
    const pool = this.pool;
    let at = this.poolUsed;
    let high = this.high;
    for (let i = start; i < end; i++) {
      const b = buf[i] as number;
      high |= b;
      if (b === QUOTE) this.quotes = true;
      pool[at++] = b;
    }
    this.high = high;
    this.poolUsed = at;
    if (n + 1 >= this.offsets.length) {
      const offsets = new Int32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
      const hashes = new Int32Array(this.offsets.length);
      hashes.set(this.hashes);
      this.hashes = hashes;
    }
    this.offsets[n] = at;
    this.hashes[n - 1] = hash;
  }

  private rehash(length = this.slots.length * 2): void {
    const slots = new Int32Array(length).fill(-1);
    const mask = slots.length - 1;
    for (let code = 0; code < this.size; code++) {
      let slot = (this.hashes[code] as number) & mask;
      while ((slots[slot] as number) >= 0) slot = (slot + 1) & mask;
      slots[slot] = code;
    }
    this.slots = slots;
  }
}

/** A polynomial hash of the bytes, from 0 by hashStep; mixHash then spreads it over the table's slots. */
function hashBytes(buf: Uint8Array, start: number, end: number): number {
  let h = 0;
  for (let i = start; i < end; i++) h = hashStep(h, buf[i] as number);
  return h;
}

/** One byte of hashBytes (h·31 + byte): a scan for a field's end can hash the bytes as they go by. */
export function hashStep(h: number, byte: number): number {
  return (Math.imul(h, 31) + byte) | 0;
}

/** murmur3's 32-bit finaliser, so the low bits (the table slot) depend on every byte. */
function mixHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Whether DuckDB's sniffer might read `text` as a BIGINT, DOUBLE, DATE or TIMESTAMP (or as the
 * header of such a column): numbers in any spelling, inf/nan, and digit-led date and time shapes.
 */
export function mightBeTyped(text: string): boolean {
  return (
    /^\s*[+-]?(\d[\d_,]*\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ||
    /^\s*[+-]?0[xXbB][\da-fA-F_]+\s*$/.test(text) ||
    /^\s*[+-]?(inf|infinity|nan)\s*$/i.test(text) ||
    /^\s*\d[\d\s\-/.:,+T]*(Z|\s*[AaPp][Mm])?\s*[A-Za-z]{0,5}\s*$/.test(text)
  );
}
