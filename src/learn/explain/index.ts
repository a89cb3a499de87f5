export type { Explainer } from "./explainer.js";
export { keelExplainer, loadExplainer, treeExplainer } from "./explainer.js";
export type { ExplainFileOptions, ExplainFileResult } from "./explain-file.js";
export { BIAS_COLUMN, explainFile } from "./explain-file.js";
export type { FeatureImportance } from "./importance.js";
export { accumulateAbsShap, meanAbsShap, rankImportance } from "./importance.js";
export { linearShap } from "./linear-shap.js";
export { TreeShap } from "./tree-shap.js";
