import type {
  AliasMoveJson,
  ChatMessageJson,
  EvalComparisonJson,
  EvalDatasetJson,
  EvalDatasetVersionJson,
  EvalExampleJson,
  EvalRunJson,
  EvalRunRequest,
  JudgeCalibrationJson,
  JudgeCalibrationRequest,
  LlmMonitorRunJson,
  PromptDiffJson,
  PromptJson,
  PromptVersionJson,
  RenderedPromptJson,
  TraceDetailJson,
  TraceFeedbackJson,
  TraceSearchRequest,
  TraceSummaryJson,
} from "../wire/index.js";

/** The one call the LLM client needs from `KeelClient` (auth, errors as KeelErrors). */
export interface KeelRequester {
  request<T>(method: "GET" | "POST" | "PATCH" | "DELETE", path: string, params?: object): Promise<T>;
}

const enc = encodeURIComponent;

/**
 * Typed client of keel's LLM routes (docs/llm.md): the prompt registry and traces. Built on a
 * `KeelClient`: `new KeelLlmClient(new KeelClient({ baseUrl, token }))`. The gateway itself speaks
 * OpenAI's wire format: point the `openai` client at `{baseUrl}/api/keel/llm/{route}/v1`.
 */
export class KeelLlmClient {
  constructor(private readonly keel: KeelRequester) {}

  /** Registers a new version of prompt `name` (the prompt too, on its first version). */
  async createPromptVersion(request: {
    name: string;
    template: string | ChatMessageJson[];
    commit_message: string;
    model?: string;
    parameters?: Record<string, unknown>;
  }): Promise<PromptVersionJson> {
    return (await this.keel.request<{ prompt_version: PromptVersionJson }>("POST", "/api/keel/prompts", request))
      .prompt_version;
  }
  listPrompts(
    query: { max_results?: number; page_token?: string } = {},
  ): Promise<{ prompts: PromptJson[]; next_page_token?: string }> {
    return this.keel.request("GET", "/api/keel/prompts", query);
  }
  /** The prompt and its versions, newest first. */
  getPrompt(name: string): Promise<{ prompt: PromptJson; versions: PromptVersionJson[] }> {
    return this.keel.request("GET", `/api/keel/prompts/${enc(name)}`);
  }
  /** `ref`: a version number or an alias. */
  async getPromptVersion(name: string, ref: string): Promise<PromptVersionJson> {
    return (
      await this.keel.request<{ prompt_version: PromptVersionJson }>(
        "GET",
        `/api/keel/prompts/${enc(name)}/versions/${enc(ref)}`,
      )
    ).prompt_version;
  }
  diffPrompt(name: string, from: string, to: string): Promise<PromptDiffJson> {
    return this.keel.request("GET", `/api/keel/prompts/${enc(name)}/diff`, { from, to });
  }
  renderPrompt(name: string, ref: string, variables: Record<string, unknown>): Promise<RenderedPromptJson> {
    return this.keel.request("POST", `/api/keel/prompts/${enc(name)}/versions/${enc(ref)}/render`, { variables });
  }
  /** Points alias `to` at `version`; needs the approver role when auth is on. */
  promotePrompt(
    name: string,
    request: { version: string; to: string; reason: string; approver?: string },
  ): Promise<AliasMoveJson> {
    return this.keel.request("POST", `/api/keel/prompts/${enc(name)}/promote`, request);
  }

  /** Traces, newest first. */
  searchTraces(query: TraceSearchRequest = {}): Promise<{ traces: TraceSummaryJson[]; next_page_token?: string }> {
    return this.keel.request("GET", "/api/keel/traces", query);
  }
  getTrace(traceId: string): Promise<TraceDetailJson> {
    return this.keel.request("GET", `/api/keel/traces/${enc(traceId)}`);
  }
  /** Attaches a score (and a comment) to a trace; `user` is the caller's token name when auth is on. */
  async addTraceFeedback(
    traceId: string,
    request: { score: number; comment?: string; user?: string },
  ): Promise<TraceFeedbackJson> {
    return (
      await this.keel.request<{ feedback: TraceFeedbackJson }>(
        "POST",
        `/api/keel/traces/${enc(traceId)}/feedback`,
        request,
      )
    ).feedback;
  }

  /** Registers a new, immutable version of dataset `name` (the dataset too, on its first version). */
  async createDatasetVersion(request: {
    name: string;
    examples: EvalExampleJson[];
    description?: string;
  }): Promise<EvalDatasetVersionJson> {
    return (
      await this.keel.request<{ dataset_version: EvalDatasetVersionJson }>("POST", "/api/keel/llm/datasets", request)
    ).dataset_version;
  }
  listDatasets(
    query: { max_results?: number; page_token?: string } = {},
  ): Promise<{ datasets: EvalDatasetJson[]; next_page_token?: string }> {
    return this.keel.request("GET", "/api/keel/llm/datasets", query);
  }
  /** The dataset and its versions, newest first. */
  getDataset(name: string): Promise<{ dataset: EvalDatasetJson; versions: EvalDatasetVersionJson[] }> {
    return this.keel.request("GET", `/api/keel/llm/datasets/${enc(name)}`);
  }
  /** `ref`: a version number, an alias or `latest`. */
  async getDatasetVersion(name: string, ref: string): Promise<EvalDatasetVersionJson> {
    return (
      await this.keel.request<{ dataset_version: EvalDatasetVersionJson }>(
        "GET",
        `/api/keel/llm/datasets/${enc(name)}/versions/${enc(ref)}`,
      )
    ).dataset_version;
  }
  getDatasetExamples(
    name: string,
    ref: string,
  ): Promise<{ dataset_version: EvalDatasetVersionJson; examples: EvalExampleJson[] }> {
    return this.keel.request("GET", `/api/keel/llm/datasets/${enc(name)}/versions/${enc(ref)}/examples`);
  }
  /** Runs an evaluation through the server's gateway and logs it as a tracking run. */
  runEvaluation(request: EvalRunRequest): Promise<EvalRunJson> {
    return this.keel.request("POST", "/api/keel/llm/evaluations", request);
  }
  /** Paired comparison of evaluation run `run_b` with `run_a` (same dataset version). */
  compareEvaluations(request: { run_a: string; run_b: string }): Promise<EvalComparisonJson> {
    return this.keel.request("POST", "/api/keel/llm/evaluations/compare", request);
  }
  /** Scores a labelled dataset with a judge and records its agreement on the judge's prompt version (approver). */
  calibrateJudge(request: JudgeCalibrationRequest): Promise<JudgeCalibrationJson> {
    return this.keel.request("POST", "/api/keel/llm/judges/calibrate", request);
  }
  /** Runs an LLM route's monitor window over [from, to) now: judge sample, review routing, observations, alert rules. */
  runLlmMonitor(request: { route: string; from: number | string; to: number | string }): Promise<LlmMonitorRunJson> {
    return this.keel.request("POST", "/api/keel/llm/monitoring/run", request);
  }
}
