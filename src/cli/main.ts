import { readsDataFiles } from "./argv.js";

// The process edge: the only place the CLI reads argv and the environment.
const argv = process.argv.slice(2);
// The CSV reader's worker thread starts (~50 ms) while the command's modules load, not after.
if (readsDataFiles(argv)) (await import("../data/index.js")).warmCsvWorker(argv);
const { runCli } = await import("./program.js");
process.exitCode = await runCli(argv, {
  env: process.env,
  cwd: process.cwd(),
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
});
