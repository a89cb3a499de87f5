import type { Logger } from "../../src/runtime/index.js";

/** A logger keeping each entry as `{ ...fields, level, msg }`, for tests to inspect. */
export function recordingLogger(entries: Record<string, unknown>[]): Logger {
  const at =
    (level: string) =>
    (obj: object, msg?: string): void =>
      void entries.push({ ...obj, level, msg });
  return { info: at("info"), warn: at("warn"), error: at("error"), debug: at("debug") };
}
