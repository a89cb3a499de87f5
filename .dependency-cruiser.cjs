// Layering of src/, checked by `npm run lint` (depcruise src). The table below is docs/design.md's
// "may import" table; change both together.

/**
 * Neutral modules any module may import: the error catalog, the runtime (logger, clock, timers,
 * worker RPC), the spec-field validators and the wire's JSON shapes and value lists.
 */
const base = ["errors.ts", "runtime", "spec-fields.ts", "wire"];
const library = [
  "data",
  "stats",
  "learn",
  "validate",
  "features",
  "store",
  "tracking",
  "registry",
  "pipeline",
  "serving",
  "monitoring",
  "llm",
];
const wiring = ["config.ts", "open-stores.ts", ...base];

/** module (folder under src/, or a top-level file) → the modules it may import. */
const mayImport = {
  runtime: [],
  "errors.ts": [],
  wire: ["errors.ts"],
  "config.ts": ["errors.ts"],
  "spec-fields.ts": ["errors.ts"],
  data: [...base],
  stats: ["data", ...base],
  learn: ["data", "stats", ...base],
  validate: ["data", "stats", ...base],
  features: ["data", "store", ...base],
  store: [...base],
  tracking: ["store", ...base],
  registry: ["data", "store", "tracking", ...base],
  pipeline: ["data", "stats", "learn", "validate", "features", "store", "tracking", "registry", ...base],
  serving: ["data", "learn", "features", "registry", "store", ...base],
  monitoring: ["data", "stats", "registry", "store", ...base],
  llm: ["stats", "registry", "tracking", "store", ...base],
  "open-stores.ts": ["store", "tracking", "registry", ...base],
  "keel.ts": ["config.ts", "open-stores.ts", "tracking", ...base],
  server: [...library, ...wiring],
  // The client shares types with the server only through wire/.
  client: ["wire", ...base],
  cli: [...library, ...wiring, "server", "client"],
  "index.ts": [...library, ...wiring, "server", "client", "keel.ts"],
};

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The path pattern of a module: a folder's files, or the one top-level file. */
const pathOf = (module) => (module.endsWith(".ts") ? `^src/${escape(module)}$` : `^src/${escape(module)}/`);

module.exports = {
  forbidden: [
    ...Object.entries(mayImport).map(([module, allowed]) => ({
      name: `layer-${module}`,
      comment: `${module} may import only: ${allowed.length === 0 ? "nothing in src/" : allowed.join(", ")} (docs/design.md)`,
      severity: "error",
      from: { path: pathOf(module) },
      to: { path: "^src/", pathNot: [pathOf(module), ...allowed.map(pathOf)] },
    })),
    {
      name: "module-not-in-table",
      comment: "every file under src/ belongs to a module of docs/design.md's table (add a row for a new one)",
      severity: "error",
      from: { path: "^src/", pathNot: Object.keys(mayImport).map(pathOf) },
      to: {},
    },
    {
      name: "not-through-index",
      comment:
        "another module is imported through its folder's index.ts, its public face; within a module anything goes",
      severity: "error",
      from: { path: "^src/([^/]+)" },
      to: { path: "^src/[^/]+/.", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$"] },
    },
    {
      name: "no-cycles",
      comment: "no import cycles, type-only imports included",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    includeOnly: "^src/",
    // Type-only imports count: a cycle through `import type` is still a cycle in the design.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
