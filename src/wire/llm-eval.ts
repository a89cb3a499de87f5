/** The JSON of keel's LLM evaluation routes (`/api/keel/llm/datasets…`, `/api/keel/llm/evaluations…`, `/api/keel/llm/judges…`). */

/** One example: the prompt's variables, the expected output, metadata, tags and a person's label. */
export interface EvalExampleJson {
  id?: string;
  inputs: Record<string, unknown>;
  reference?: unknown;
  metadata?: Record<string, unknown>;
  tags?: string[];
  human_label?: number;
}

export interface EvalDatasetJson {
  name: string;
  creation_timestamp: number;
  aliases: { alias: string; version: string }[];
}

export interface EvalDatasetVersionJson {
  name: string;
  version: string;
  /** sha256 of the version's canonical JSONL. */
  digest: string;
  example_count: number;
  description: string;
  aliases: string[];
  creation_timestamp: number;
  user_id: string;
}

/** `{ kind, name?, …options }` (docs/llm-evaluation.md lists the kinds and their options), or a kind alone. */
export type EvaluatorSpecJson = string | ({ kind: string; name?: string } & Record<string, unknown>);

export interface EvalRunRequest {
  /** `NAME@VERSION`, `NAME@ALIAS` or `NAME` (the latest version). */
  dataset: string;
  /** `NAME@VERSION` or `NAME@ALIAS`. */
  prompt: string;
  route: string;
  evaluators: EvaluatorSpecJson[];
  judge_route?: string;
  experiment_name?: string;
  run_name?: string;
}

/** `trace_id`: the judge call's trace, for an LLM judge. */
export type EvalScoreJson = { score: number; passed: boolean; reason?: string; trace_id?: string } | { error: string };

/** One line of the run's `eval_results.jsonl` artifact. */
export interface EvalExampleResultJson {
  id: string;
  inputs: Record<string, unknown>;
  reference?: unknown;
  output?: string;
  error?: string;
  latency_ms: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  /** The model call's gateway trace. */
  trace_id?: string;
  scores: Record<string, EvalScoreJson>;
}

export interface EvalRunJson {
  run_id: string;
  experiment_id: string;
  prompt: { name: string; version: string };
  dataset: { name: string; version: string; digest: string };
  metrics: Record<string, number>;
  examples: EvalExampleResultJson[];
}

export interface EvaluatorComparisonJson {
  evaluator: string;
  n: number;
  mean_a: number;
  mean_b: number;
  mean_difference: number;
  pass_rate_a: number;
  pass_rate_b: number;
  b_only_passed: number;
  a_only_passed: number;
  sign_test: { p_value: number };
  mcnemar: { statistic: number; p_value: number };
  wilcoxon: { statistic: number; p_value: number; method: "exact" | "approx" };
  paired_t: { statistic: number; p_value: number; df: number } | null;
  differences: { id: string; a: number; b: number }[];
}

export interface EvalComparisonJson {
  run_a: string;
  run_b: string;
  dataset: string;
  evaluators: EvaluatorComparisonJson[];
}

export interface JudgeCalibrationRequest {
  judge: string;
  dataset: string;
  route: string;
  min_score?: number;
  max_score?: number;
  pass_threshold?: number;
  min_kappa?: number;
  min_agreement?: number;
}

export interface JudgeCalibrationJson {
  judge: string;
  dataset: string;
  n: number;
  errors: number;
  agreement: number;
  /** null when undefined (both raters used one label). */
  kappa: number | null;
  passed: boolean;
  examples: { id: string; human: number; judge: number | null; reason?: string; error?: string }[];
}
