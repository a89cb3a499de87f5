/**
 * Preloaded into each soak replica (`node --import tsx --import bench/soak-probe.ts …`): once a
 * second, appends the process's RSS and its event-loop delay since the last sample
 * (perf_hooks.monitorEventLoopDelay, in ms) as a JSON line to $KEEL_SOAK_PROBE_FILE.
 */
import { appendFileSync } from "node:fs";
import { monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.KEEL_SOAK_PROBE_FILE;
if (file !== undefined) {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  setInterval(() => {
    const sample = {
      t: Date.now(),
      rss: process.memoryUsage.rss(),
      eldP99Ms: delay.percentile(99) / 1e6,
      eldMaxMs: delay.max / 1e6,
    };
    delay.reset();
    appendFileSync(file, `${JSON.stringify(sample)}\n`);
  }, 1000).unref();
}
