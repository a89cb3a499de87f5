/** Global options that take a value, so the command word can be found after them. */
const VALUED_GLOBAL_OPTIONS = new Set([
  "--data-dir",
  "--backend-store-uri",
  "--artifacts-destination",
  "--tracking-uri",
  "--token",
]);

/** The top-level command word of argv (`keel help X` asks for X), or undefined. */
export function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (VALUED_GLOBAL_OPTIONS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    return arg === "help" ? argv[i + 1] : arg;
  }
  return undefined;
}

/** Commands that read data files (CSV) that may be large enough to read on a worker thread. */
const READS_DATA = new Set(["drift", "validate", "evaluate", "train", "labels"]);

/** Whether argv runs a command that reads data files (and does not only ask for its help). */
export function readsDataFiles(argv: readonly string[]): boolean {
  const word = commandWord(argv);
  return word !== undefined && READS_DATA.has(word) && !argv.some((a) => a === "help" || a === "--help" || a === "-h");
}
