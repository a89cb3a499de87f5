/** Every benchmark `npm run bench` runs, in order. Each prints keel's figure and the anchor's when installed. */
export const benchmarks: { name: string; load: () => Promise<{ run: () => Promise<void> }> }[] = [
  { name: "drift", load: () => import("./drift.js") },
  { name: "training", load: () => import("./training.js") },
  { name: "scoring", load: () => import("./scoring.js") },
  { name: "serving", load: () => import("./serving.js") },
  { name: "tracking", load: () => import("./tracking.js") },
  { name: "http-tracking", load: () => import("./http-tracking.js") },
  { name: "features", load: () => import("./features.js") },
  { name: "cli", load: () => import("./cli.js") },
  { name: "llm", load: () => import("./llm.js") },
  { name: "llm-eval", load: () => import("./llm-eval.js") },
  { name: "soak", load: () => import("./soak.js") },
  { name: "ui", load: () => import("./ui.js") },
];
