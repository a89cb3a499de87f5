export { MicroBatcher, concatFrames, type BatcherOptions } from "./batcher.js";
export { LruTtlCache, RedisPredictionCache, rowCacheKeys, type PredictionCache } from "./cache.js";
export {
  DEFAULT_ENDPOINT_DEFAULTS,
  MAX_TOP_K,
  explainOf,
  DEFAULT_DECISION,
  DEFAULT_INPUT_POLICY,
  defaultEndpoint,
  championOverridden,
  parseEndpointConfig,
  parseServingFile,
  type CanaryGateSpec,
  type EndpointConfig,
  type EndpointConfigInput,
  type EndpointDefaults,
  type InputPolicy,
  type ResolvedRef,
  type ServingFile,
} from "./endpoint-config.js";
export { tableFromColumns, tableFromRecords, tableFromSplit, type InputTable, type RawValue } from "./input-table.js";
export { ServingMetrics } from "./metrics.js";
export { newRequestId } from "./request-id.js";
export {
  MLFLOW_INPUT_FIELDS,
  decodeInvocationsCsv,
  decodeInvocationsJson,
  parseCsv,
  type InvocationInput,
} from "./mlflow-scoring.js";
export { LoadedModel, ModelPool, warmupFrame, type ExplainerLoader, type ModelLoader } from "./model-pool.js";
export {
  ModelServer,
  type BatchingOptions,
  type CanaryGateDecision,
  type CanaryGateRequest,
  type CanaryRollback,
  type ServingAlert,
  type ModelServerOptions,
  type PredictionResult,
  type RequestContext,
  type ServingRegistry,
  type WatchChanges,
} from "./model-server.js";
export type { EndpointSummary, LoadFailure } from "./endpoint-registry.js";
export {
  BINARY_TENSOR_EXTENSION,
  INFERENCE_HEADER_LENGTH,
  binaryInferResponse,
  binaryOutputWanted,
  decodeBinaryTensor,
  inferRequestDocument,
} from "./oip-binary.js";
export {
  OIP_DATATYPES,
  decodeInferRequest,
  encodeInferResponse,
  inputTensors,
  modelMetadata,
  outputTensors,
  scoreOutputName,
  type InferRequest,
  type MetadataTensor,
  type OipDatatype,
  type OutputTensor,
} from "./oip.js";
export {
  BUCKETS,
  DEFAULT_CANARY_STEPS,
  advanceCanary,
  canaryPercent,
  chooseRoute,
  hashBucket,
  inPercent,
  startCanary,
  type CanaryObservation,
  type CanarySchedule,
  type CanaryState,
  type Route,
} from "./router.js";
export { compileValidator, type InputValidator, type ValidatorOptions } from "./validator.js";
export { artifactExplainerLoader, artifactModelLoader, openModelBytes } from "./artifact-loader.js";
export { DecisionReplayer, frameOf, type ReplayDeps, type ReplayResult } from "./replay.js";
export { reasonCodes, topReasons } from "./reason-codes.js";
export { scoredInputs, type DecisionContext } from "./prediction-log.js";
export { createServingRuntime, type ServingRuntimeOptions } from "./runtime.js";
export { artifactFetcher, type ArtifactSourceOptions } from "../registry/index.js";
export { inferResponseJson, jsonNumber, keelPredictionsJson, mlflowPredictionsJson } from "./response-json.js";
