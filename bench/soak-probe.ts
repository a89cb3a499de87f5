/**
 * Preloaded into each soak replica (`node --import tsx --import bench/soak-probe.ts …`): once a
 * second, appends the process's RSS, the V8 heap in use after the latest major collection, and the
 * event-loop delay since the last sample (perf_hooks.monitorEventLoopDelay, in ms) as a JSON line to
 * $KEEL_SOAK_PROBE_FILE. The heap after a major collection is its floor: what is still reachable.
 */
import { appendFileSync } from "node:fs";
import { constants, monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

const file = process.env.KEEL_SOAK_PROBE_FILE;
if (file !== undefined) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let heapAfterGc: number | undefined;
  let gcAt: number | undefined;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = ((entry as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind;
      if (kind !== constants.NODE_PERFORMANCE_GC_MAJOR) continue;
      heapAfterGc = process.memoryUsage().heapUsed;
      gcAt = Date.now();
    }
  }).observe({ entryTypes: ["gc"] });
  // With --expose-gc, a full collection every 10 s gives the heap's floor at a steady pace (a pause
  // the event-loop delay of that second includes); natural major collections may be minutes apart.
  const collect = (globalThis as { gc?: () => void }).gc;
  let tick = 0;
  setInterval(() => {
    if (collect !== undefined && ++tick % 10 === 0) {
      collect();
      heapAfterGc = process.memoryUsage().heapUsed;
      gcAt = Date.now();
    }
    const sample = {
      t: Date.now(),
      rss: process.memoryUsage.rss(),
      heapAfterGc: heapAfterGc ?? null,
      gcAt: gcAt ?? null,
      eldP99Ms: delay.percentile(99) / 1e6,
      eldMaxMs: delay.max / 1e6,
    };
    delay.reset();
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  }, 1000).unref();
}
