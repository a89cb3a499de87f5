import { Worker } from "node:worker_threads";
import { histogramKernelSource } from "./histogram.js";
import {
  addTreeOutsideSample,
  gradientRange,
  leafSumsRange,
  leftOfNumeric,
  packedTreeLeaf,
  partitionRange,
  quantizeRange,
  sampleGradientRange,
} from "./kernels.js";

/**
 * Polls of a control word before a thread blocks on it (a few µs): enough for the other thread's
 * half of a kernel to end when both run at once. Longer spins (20 000 polls were tried) cost 5-10%
 * more CPU on a machine shared with other work, where the spinning thread holds a core the other
 * one needs, and did not shorten training; 200 000 (about 1.7 ms) shortened it by 2.5 %, inside
 * the run-to-run noise.
 */
const SPIN_POLLS = 2_000;

/** Control words shared with the helper thread. */
const CMD = 0;
const A = 1;
const B = 2;
const DONE = 3;
const RESULT = 4;
export const P1 = 5;
export const P2 = 6;
export const P3 = 7;
/** Set by the helper thread when a command threw; the calling thread then throws too. */
const FAILED = 8;
export const P4 = 9;

export const CMD_HIST = 1;
export const CMD_PARTITION = 2;
export const CMD_GRADIENT = 3;
export const CMD_SAMPLE = 4;
export const CMD_OUTSIDE = 5;
export const CMD_QUANTIZE = 6;
export const CMD_LEAF_SUMS = 7;
const CMD_EXIT = 9;

/** A parameter word of a command (`P1`..`P4`). */
type ParamWord = typeof P1 | typeof P2 | typeof P3 | typeof P4;

/** The command loop the helper thread runs: the row kernels' own sources, over the shared arrays. */
function helperSource(binOffset: Int32Array): string {
  return `
const { workerData } = require("node:worker_threads");
const hist = ${histogramKernelSource(binOffset, false)};
const packedHist = ${histogramKernelSource(binOffset, true)};
const quantizeRange = ${quantizeRange.toString()};
const leftOfNumeric = ${leftOfNumeric.toString()};
const leafSumsRange = ${leafSumsRange.toString()};
const partitionRange = ${partitionRange.toString()};
const packedTreeLeaf = ${packedTreeLeaf.toString()};
const gradientRange = ${gradientRange.toString()};
const sampleGradientRange = ${sampleGradientRange.toString()};
const addTreeOutsideSample = ${addTreeOutsideSample.toString()};
const { ctrl, bins, nFeatures, cols, nRows, gh, quantizedGh, rowSlots, margin, y, inSample, half, catMask, treeNodes, treeValues, treeExpValues, expNegMargin, dropped, droppedEnd, treeLut, qArgs, leafRanges, leafNodes, leafSplits, leafMasks, leafHalves, leafOf, maxima } = workerData;
const idx = rowSlots.subarray(0, nRows);
const scratch = rowSlots.subarray(nRows, 2 * nRows);
const tree = { bins, nFeatures, nodes: treeNodes, values: treeValues, lut: treeLut, leafOf, expValues: treeExpValues, expNegMargin, dropped, droppedEnd };
for (;;) {
  for (let k = 0; k < ${SPIN_POLLS} && Atomics.load(ctrl, ${CMD}) === 0; k++);
  while (Atomics.load(ctrl, ${CMD}) === 0) Atomics.wait(ctrl, ${CMD}, 0);
  const cmd = Atomics.load(ctrl, ${CMD});
  if (cmd === ${CMD_EXIT}) break;
  try {
    if (cmd === ${CMD_HIST}) {
      if (ctrl[${P1}] === 1) packedHist(bins, quantizedGh, idx, ctrl[${A}], ctrl[${B}], half, qArgs[2]);
      else hist(bins, gh, idx, ctrl[${A}], ctrl[${B}], half);
    }
    else if (cmd === ${CMD_LEAF_SUMS}) leafSumsRange(gh, idx, leafRanges, leafNodes, ctrl[${B}], 1, leafHalves, leafOf, cols, nRows, leafSplits, leafMasks);
    else if (cmd === ${CMD_QUANTIZE}) quantizeRange(gh, idx, ctrl[${A}], ctrl[${B}], qArgs[0], qArgs[1], ctrl[${P2}], quantizedGh);
    else if (cmd === ${CMD_PARTITION}) {
      const a = ctrl[${A}];
      const b = ctrl[${B}];
      const nl = partitionRange(cols, ctrl[${P1}], idx, scratch, a, b, ctrl[${P3}], ctrl[${P2}] >> 16, ctrl[${P2}] & 0xffff, catMask);
      rowSlots.copyWithin(a + nl, nRows + a, nRows + b - nl);
      ctrl[${RESULT}] = nl;
    }
    else if (cmd === ${CMD_GRADIENT}) gradientRange(ctrl[${P1}], margin, y, idx, ctrl[${A}], ctrl[${B}], gh, maxima, 1);
    else if (cmd === ${CMD_SAMPLE}) ctrl[${RESULT}] = sampleGradientRange(ctrl[${P1}], margin, y, gh, inSample, idx, ctrl[${A}], ctrl[${B}], ctrl[${P2}], ctrl[${P3}] >>> 0, ctrl[${P4}] & 1, tree, ctrl[${P4}] >> 1, maxima, 1);
    else if (cmd === ${CMD_OUTSIDE}) addTreeOutsideSample(bins, nFeatures, treeNodes, treeValues, treeLut, inSample, margin, ctrl[${A}], ctrl[${B}]);
  } catch {
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.store(ctrl, ${CMD}, 0);
  Atomics.store(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}`;
}

/**
 * The helper thread of RowKernels and its synchronous hand-off: `start` posts a command over rows
 * `[a, b)` (its parameters set first with `set`), `join` waits for it. Control words live in
 * shared memory; both sides poll briefly before blocking, as OpenMP runtimes do.
 */
export class HelperThread {
  private readonly ctrl = new Int32Array(new SharedArrayBuffer(4 * (P4 + 1)));
  private readonly worker: Worker;

  /** `shared`: the sizes and arrays the kernels use; those the two threads write live in SharedArrayBuffers. */
  constructor(binOffset: Int32Array, shared: Readonly<Record<string, unknown>>) {
    this.worker = new Worker(helperSource(binOffset), { eval: true, workerData: { ...shared, ctrl: this.ctrl } });
    this.worker.unref();
  }

  /** Sets a parameter word of the next command. */
  set(word: ParamWord, value: number): void {
    Atomics.store(this.ctrl, word, value);
  }

  /** Starts `cmd` on the helper thread over `[a, b)`. */
  start(cmd: number, a: number, b: number): void {
    const ctrl = this.ctrl;
    Atomics.store(ctrl, A, a);
    Atomics.store(ctrl, B, b);
    Atomics.store(ctrl, DONE, 0);
    Atomics.store(ctrl, CMD, cmd);
    Atomics.notify(ctrl, CMD);
  }

  /** Waits for the current command; a command that threw there throws here. */
  join(): void {
    const ctrl = this.ctrl;
    for (let k = 0; k < SPIN_POLLS && Atomics.load(ctrl, DONE) === 0; k++);
    // A wait can return on a late notify of the previous command: only DONE says this one ended.
    while (Atomics.load(ctrl, DONE) === 0) Atomics.wait(ctrl, DONE, 0);
    if (Atomics.load(ctrl, FAILED) !== 0) throw new Error("GBDT helper thread failed on a row-kernel command");
  }

  /** The last command's result word (rows kept or sent left). */
  result(): number {
    return Atomics.load(this.ctrl, RESULT);
  }

  async close(): Promise<void> {
    Atomics.store(this.ctrl, CMD, CMD_EXIT);
    Atomics.notify(this.ctrl, CMD);
    await this.worker.terminate();
  }
}
