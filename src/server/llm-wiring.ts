import { createGateway, parseLlmConfig, type LlmConfig, type TextClassifier } from "../llm/index.js";
import type { RegistryStore } from "../registry/index.js";
import { systemTimers, whileLeased, type Clock, type Lease, type Logger } from "../runtime/index.js";
import { readSpecFile } from "../spec-fields.js";
import type { TraceStore } from "../store/index.js";
import type { LlmServices } from "./app-deps.js";

/** Reads the LLM config file (JSON or YAML); `env` resolves the routes' `apiKeyEnv`. */
export function readLlmConfig(file: string, env: Readonly<Record<string, string | undefined>>): Promise<LlmConfig> {
  return readSpecFile(file, (json) => parseLlmConfig(json, env));
}

const HOUR_MS = 3_600_000;

export interface RunningLlm {
  readonly services: LlmServices;
  /** Deletes traces older than the retention (once now, then hourly); stops the timer on close. */
  close(): void;
}

/** The gateway over the stores, and the trace retention job when the config sets one. */
export function startLlm(
  stores: { readonly registry: RegistryStore; readonly traces: TraceStore },
  config: LlmConfig,
  options: {
    fetch?: (url: string, init: RequestInit) => Promise<Response>;
    clock?: Clock;
    logger?: Logger;
    classifiers?: Readonly<Record<string, TextClassifier>>;
    /** Several replicas: the retention job runs on the holder of this lease; false: not on this replica. */
    retention?: Lease | false;
  } = {},
): RunningLlm {
  const clock = options.clock ?? Date.now;
  const gateway = createGateway({ config, registry: stores.registry, traces: stores.traces, ...options });
  let timer: NodeJS.Timeout | undefined;
  const days = config.traceRetentionDays;
  const lease = options.retention;
  if (days !== undefined && lease !== false) {
    const deleteExpired = () => stores.traces.deleteBefore(clock() - days * 24 * HOUR_MS);
    const purge = () => {
      (lease === undefined ? deleteExpired() : whileLeased(lease, systemTimers, deleteExpired)).catch(
        (err: unknown) => {
          options.logger?.error({ err }, "deleting expired traces failed");
        },
      );
    };
    purge();
    timer = setInterval(purge, HOUR_MS);
    timer.unref();
  }
  return {
    services: { promptGates: config.promptGates, gateway, config },
    close: () => clearInterval(timer),
  };
}
