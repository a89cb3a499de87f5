export type { Chi2Result } from "./chi2.js";
export { chi2Contingency, chi2Homogeneity } from "./chi2.js";
export { jensenShannon, stdPopulation, wasserstein, wassersteinSorted } from "./divergence.js";
export type { DriftMethod, MethodInput } from "./drift-method.js";
export {
  AUTO_MIN_NUMERIC_DISTINCT,
  AUTO_SMALL_REFERENCE_ROWS,
  JENSEN_SHANNON_THRESHOLD,
  P_VALUE_THRESHOLD,
  WASSERSTEIN_MIN_STD,
  WASSERSTEIN_THRESHOLD,
  chooseDriftMethod,
  isDrift,
} from "./drift-method.js";
export type { KsMethod, KsResult } from "./ks.js";
export { KS_MAX_EXACT_N, ks2samp, ks2sampSorted, ksAsymptoticPValue, ksExactPValue, ksStatisticSorted } from "./ks.js";
export type { PsiOptions } from "./psi.js";
export { PSI_DEFAULT_BINS, PSI_EPSILON, psiFromCounts, psiSorted } from "./psi.js";
export {
  countAtOrBelow,
  countBelow,
  histogram,
  histogramSorted,
  linspaceProbabilities,
  quantileEdges,
  quantileSorted,
  sortedFinite,
} from "./quantile.js";
export { chi2Sf, gammaincc, kstwoSf, logGamma, roundHalfEven, smirnovSf } from "./special.js";
export type { QuantileSketch } from "./sketch.js";
export { SKETCH_DEFAULT_ALPHA, mergeSketches, sketchCount, sketchQuantile, sketchSorted } from "./sketch.js";
export type {
  Calibration,
  ConfusionMatrix,
  NumericArray,
  RankCurve,
  ReliabilityBin,
  ThresholdMetrics,
} from "./classification.js";
export {
  averagePrecision,
  brierScore,
  calibration,
  checkBinaryLabels,
  checkPair,
  confusionMatrix,
  ksSeparation,
  logLoss,
  rankCurve,
  rocAuc,
  thresholdMetrics,
} from "./classification.js";
export type { RegressionMetrics } from "./regression.js";
export { regressionMetrics } from "./regression.js";
export type {
  CategoricalProfile,
  FeatureProfile,
  NumericProfile,
  ProfileOptions,
  ReferenceProfile,
  SegmentReference,
} from "./reference-profile.js";
export {
  DEFAULT_RESERVOIR_SIZE,
  DISPLAY_BINS,
  LOW_CARDINALITY_CAP,
  PROFILE_VERSION,
  buildReferenceProfile,
  buildTrainingProfile,
  mergeProfiles,
  displayCounts,
  withOuterEdges,
} from "./reference-profile.js";
export type { ColumnDrift, ColumnHistogram, DriftMode, DriftOptions, DriftReport } from "./drift-report.js";
export { computeDrift, driftProfile } from "./drift-report.js";
export type { Severity } from "./severity.js";
export { columnSeverity, pValueSeverity, psiSeverity, worseSeverity } from "./severity.js";
export type { ReferenceProfileJson } from "./reference-profile-json.js";
export { profileFromJson, profileToJson } from "./reference-profile-json.js";
export type { DelongComparison, McnemarResult, Verdict } from "./paired-comparison.js";
export { delongPaired, mcnemar, normalTwoSidedCritical, verdictOf } from "./paired-comparison.js";
export { binomialAllowance } from "./binomial.js";
export type { Agreement } from "./agreement.js";
export { cohenKappa } from "./agreement.js";
export type { PairedTestResult, PairedTResult, WilcoxonResult } from "./paired-tests.js";
export { betaIncomplete, pairedTTest, signTest, studentTTwoSided, wilcoxonSignedRank } from "./paired-tests.js";
