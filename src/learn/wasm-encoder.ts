/**
 * A minimal WebAssembly binary encoder: enough of the format (types, functions, one memory,
 * exports, code) and of the instruction set (integer control flow, 128-bit SIMD) to emit the
 * per-model scoring modules of `binned-trees.ts`. Modules are generated from validated numbers
 * only; `WebAssembly.validate` is the final check.
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;

/** Core opcodes used by the generated code. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  call: 0x10,
  select: 0x1b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  f32Load: 0x2a,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i32Eqz: 0x45,
  f32Ne: 0x5c,
  f32Le: 0x5f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Xor: 0x73,
  i32ShrU: 0x76,
} as const;

/** SIMD opcodes (after the 0xfd prefix). */
export const SIMD = {
  load: 0x00,
  store: 0x0b,
  const: 0x0c,
  shuffle: 0x0d,
  swizzle: 0x0e,
  i8x16Splat: 0x0f,
  i8x16GtS: 0x27,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  bitselect: 0x52,
  i8x16Neg: 0x61,
  i8x16Add: 0x6e,
  i8x16Sub: 0x71,
  f32x4Add: 0xe4,
} as const;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`uleb: ${n} is not an unsigned integer`);
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/** Signed LEB128 (32-bit range). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) throw new RangeError(`sleb: ${n} is not an i32`);
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

/** Concatenates byte runs (model code runs to hundreds of kilobytes: no spreading into arrays). */
function concat(parts: readonly (readonly number[] | Uint8Array)[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function vec(items: readonly (readonly number[] | Uint8Array)[]): Uint8Array {
  return concat([uleb(items.length), ...items]);
}

function section(id: number, body: Uint8Array): Uint8Array {
  return concat([[id], uleb(body.length), body]);
}

/** Appends instructions to a function body. */
export class CodeWriter {
  readonly bytes: number[] = [];

  op(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }

  simd(opcode: number): this {
    this.bytes.push(0xfd, ...uleb(opcode));
    return this;
  }

  /** v128.load / v128.store with a 16-byte alignment hint and a constant offset. */
  memory(opcode: typeof SIMD.load | typeof SIMD.store, offset: number): this {
    this.simd(opcode);
    this.bytes.push(4, ...uleb(offset));
    return this;
  }

  /** A scalar load or store (`f32.load`, `i32.store8`) with its natural alignment and a constant offset. */
  scalar(opcode: typeof OP.f32Load | typeof OP.i32Store8, offset: number): this {
    return this.op(opcode, opcode === OP.f32Load ? 2 : 0, ...uleb(offset));
  }

  v128Const(bytes: ArrayLike<number>): this {
    if (bytes.length !== 16) throw new RangeError(`v128.const needs 16 bytes, got ${bytes.length}`);
    this.simd(SIMD.const);
    for (let i = 0; i < 16; i++) this.bytes.push((bytes[i] ?? 0) & 0xff);
    return this;
  }

  shuffle(lanes: readonly number[]): this {
    if (lanes.length !== 16 || lanes.some((l) => !Number.isInteger(l) || l < 0 || l > 31)) {
      throw new RangeError(`i8x16.shuffle needs 16 lane indices in [0, 32)`);
    }
    this.simd(SIMD.shuffle);
    this.bytes.push(...lanes);
    return this;
  }

  get(local: number): this {
    return this.op(OP.localGet, ...uleb(local));
  }

  set(local: number): this {
    return this.op(OP.localSet, ...uleb(local));
  }

  tee(local: number): this {
    return this.op(OP.localTee, ...uleb(local));
  }

  i32(n: number): this {
    return this.op(OP.i32Const, ...sleb(n));
  }
}

export interface WasmFunction {
  readonly name: string;
  readonly params: readonly number[];
  /** Extra locals after the params, by type, in order. */
  readonly locals: readonly { readonly count: number; readonly type: number }[];
  readonly code: CodeWriter;
}

/**
 * A module with one exported memory (`memory`, `pages` × 64 KiB) and the given functions (no
 * results), each exported under its name.
 */
export function encodeModule(pages: number, functions: readonly WasmFunction[]): Uint8Array {
  const types = functions.map((f) => concat([[0x60], vec(f.params.map((p) => [p])), [0]]));
  const bodies = functions.map((f) => {
    const body = concat([vec(f.locals.map((l) => [...uleb(l.count), l.type])), f.code.bytes, [OP.end]]);
    return concat([uleb(body.length), body]);
  });
  const exports = [
    [...utf8Name("memory"), 0x02, 0],
    ...functions.map((f, i) => [...utf8Name(f.name), 0x00, ...uleb(i)]),
  ];
  return concat([
    [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    section(1, vec(types)),
    section(3, vec(functions.map((_, i) => uleb(i)))),
    section(5, vec([[0x00, ...uleb(pages)]])),
    section(7, vec(exports)),
    section(10, vec(bodies)),
  ]);
}
