import { describe, expect, it } from "vitest";
import { CodeWriter, I32, OP, SIMD, encodeModule, sleb, uleb } from "../../src/learn/wasm-encoder.js";

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

describe("wasm encoder", () => {
  it("encodes LEB128 as the WebAssembly spec's examples", () => {
    expect(uleb(0)).toEqual([0]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => sleb(2 ** 31)).toThrow(RangeError);
  });

  it("emits a valid module whose SIMD code computes what JavaScript does", () => {
    // f(a, b, out): out[0..16) = (a > b as signed bytes) selecting a or b, bytewise (a max).
    const w = new CodeWriter();
    w.get(2).get(0).memory(SIMD.load, 0).get(1).memory(SIMD.load, 0);
    w.get(0).memory(SIMD.load, 0).get(1).memory(SIMD.load, 0).simd(SIMD.i8x16GtS);
    w.simd(SIMD.bitselect).memory(SIMD.store, 0);
    const bytes = encodeModule(1, [{ name: "max", params: [I32, I32, I32], locals: [], code: w }]);
    expect(wasm.validate(bytes)).toBe(true);
    const inst = new wasm.Instance(new wasm.Module(bytes), {});
    const mem = new Int8Array((inst.exports.memory as { buffer: ArrayBuffer }).buffer);
    const a = Int8Array.from({ length: 16 }, (_, i) => i * 37 - 128);
    const b = Int8Array.from({ length: 16 }, (_, i) => 100 - i * 29);
    mem.set(a, 0);
    mem.set(b, 16);
    (inst.exports.max as (a: number, b: number, out: number) => void)(0, 16, 32);
    expect(Array.from(mem.subarray(32, 48))).toEqual(Array.from(a, (v, i) => Math.max(v, b[i] as number)));
  });

  it("rejects a malformed constant or shuffle before encoding it", () => {
    expect(() => new CodeWriter().v128Const([1, 2, 3])).toThrow(/16 bytes/);
    expect(() => new CodeWriter().shuffle([32, ...new Array<number>(15).fill(0)])).toThrow(/lane indices/);
    expect(new CodeWriter().i32(-1).op(OP.i32Eqz).bytes).toEqual([OP.i32Const, 0x7f, OP.i32Eqz]);
  });
});
