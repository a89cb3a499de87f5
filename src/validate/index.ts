export type { Bounds, Expectation, ExpectationKind, ExpectationSuite } from "./suite.js";
export { DEFAULT_FAILING_SAMPLES, DEFAULT_MOSTLY_ALPHA, parseSuite } from "./suite.js";
export type { ExpectationResult, FailingRow, ObservedValue, ValidateOptions, ValidationReport } from "./validate.js";
export { rule as describeExpectation, validateFrame } from "./validate.js";
export type { ProposeOptions } from "./profile.js";
export { DEFAULT_MAX_CATEGORIES, proposeSuite } from "./profile.js";
export { readSuiteFile } from "./suite-file.js";
