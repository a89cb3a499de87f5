import { benchmarks } from "./index.js";

/** `npm run bench [name ...]`: run all benchmarks, or the named ones. */
const only = process.argv.slice(2);
for (const b of benchmarks) {
  if (only.length > 0 && !only.includes(b.name)) continue;
  console.log(`\n## ${b.name}`);
  const mod = await b.load();
  await mod.run();
}
