// Runs `keel ARGS` in this process with silent output, then prints the CommonJS modules and native
// addons the run loaded, as JSON: the evidence of what a command imports.
import { createRequire } from "node:module";
import { runCli } from "../../src/cli/program.js";

const code = await runCli(process.argv.slice(2), { env: {}, cwd: process.cwd(), out: () => {}, err: () => {} });
const report = process.report.getReport() as { sharedObjects: string[] };
process.stdout.write(
  JSON.stringify({
    code,
    modules: Object.keys(createRequire(import.meta.url).cache),
    sharedObjects: report.sharedObjects,
  }),
);
