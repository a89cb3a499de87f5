import type { Timers } from "../../src/runtime/index.js";

/** Timers the test fires by hand; `armed` keeps every setTimeout call in order. */
export class ManualTimers implements Timers {
  readonly armed: { fn: () => void; ms: number; handle: number }[] = [];
  readonly cleared: unknown[] = [];
  private waiting: (() => void)[] = [];

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = this.armed.length + 1;
    this.armed.push({ fn, ms, handle });
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w();
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.cleared.push(handle);
  }

  get last(): { fn: () => void; ms: number; handle: number } {
    const t = this.armed[this.armed.length - 1];
    if (t === undefined) throw new Error("no timer armed");
    return t;
  }

  /** Fires the last armed timer and resolves once the scheduler has armed the next one. */
  async fire(): Promise<void> {
    const next = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.last.fn();
    await next;
  }
}
