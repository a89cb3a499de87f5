/**
 * A guardrail classifier served over HTTP, named in the LLM config (`classifiers.<name>`): the text
 * is POSTed as `{"inputs": "<text>"}` — the request of Hugging Face's Inference API and of
 * text-embeddings-inference's `/predict` for sequence classifiers — and the answer is a list of
 * `{label, score}` (or that list inside a one-element list). The check's score is the configured
 * label's, or the only entry's when the model has one output. A failed call or an answer of another
 * shape rejects with a 502 `classifier_unavailable`, so the call fails (text never passes unchecked).
 */
import type { TextClassifier } from "../guardrails/index.js";
import { GatewayError } from "./openai-wire.js";
import type { ClassifierEndpointConfig } from "./config.js";
import type { FetchLike } from "./upstream.js";

/** The classifier is another service: its failure is a bad gateway (502), as an upstream's is. */
const unavailable = (message: string) => new GatewayError(502, message, "api_error", "classifier_unavailable");

interface LabelScore {
  label?: unknown;
  score?: unknown;
}

function scores(json: unknown): LabelScore[] | undefined {
  const list = Array.isArray(json) && json.length === 1 && Array.isArray(json[0]) ? (json[0] as unknown) : json;
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return list.every((x) => typeof x === "object" && x !== null) ? (list as LabelScore[]) : undefined;
}

/** The classifier hook of endpoint `name` (see the module comment). */
export function endpointClassifier(name: string, config: ClassifierEndpointConfig, fetchFn: FetchLike): TextClassifier {
  return async (text) => {
    let response: Response;
    try {
      response = await fetchFn(config.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(config.apiKey === undefined ? {} : { authorization: `Bearer ${config.apiKey}` }),
        },
        body: JSON.stringify({ inputs: text }),
        signal: AbortSignal.timeout(config.timeoutMs),
      });
    } catch (e) {
      throw unavailable(`classifier ${name} did not answer: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!response.ok) throw unavailable(`classifier ${name} answered HTTP ${response.status}`);
    const list = scores(await response.json());
    if (list === undefined)
      throw unavailable(`classifier ${name} answered something other than a list of {label, score}`);
    const entry =
      config.label === undefined
        ? list.length === 1
          ? list[0]
          : undefined
        : list.find((x) => x.label === config.label);
    if (entry === undefined) {
      const labels = list.map((x) => String(x.label)).join(", ");
      throw unavailable(
        config.label === undefined
          ? `classifier ${name} answered several labels (${labels}): set classifiers.${name}.label`
          : `classifier ${name} answered no label ${JSON.stringify(config.label)} (labels: ${labels})`,
      );
    }
    if (typeof entry.score !== "number") throw unavailable(`classifier ${name} answered a score that is not a number`);
    return entry.score;
  };
}
