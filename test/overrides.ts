/** Per-field overrides for a test fixture; `undefined` removes the field. */
export type Overrides<T> = { [K in keyof T]?: T[K] | undefined };

/** `base` with `over` applied, dropping the fields overridden with `undefined` (absent, not undefined). */
export function withOverrides<T extends object>(base: T, over: Overrides<T>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out as T;
}
