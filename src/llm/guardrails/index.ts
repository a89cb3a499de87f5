export { blockedTermsMatcher, detectBlockedTerms } from "./blocked-terms.js";
export type { BlockedTermSpan, BlockedTermsMatcher } from "./blocked-terms.js";
export {
  isBsnValid,
  isDniValid,
  isIbanValid,
  isIpv4Valid,
  isIpv6Valid,
  isLuhnValid,
  isNinoPrefixValid,
  isSsnValid,
} from "./checksums.js";
export { GUARDRAIL_ACTIONS, parseGuardrailSet } from "./config.js";
export type { GuardrailAction, GuardrailCheckConfig, GuardrailCheckKind, GuardrailSetConfig } from "./config.js";
export { createGuardrailSet } from "./guardrail-set.js";
export type {
  GuardrailDecision,
  GuardrailHooks,
  GuardrailResult,
  GuardrailSet,
  TextClassifier,
  TriggeredCheck,
} from "./guardrail-set.js";
export { detectPromptInjection, INJECTION_PATTERNS, promptInjectionMatcher } from "./injection.js";
export type { InjectionPattern, InjectionSpan, PromptInjectionMatcher } from "./injection.js";
export { compileOutputSchema } from "./json-schema.js";
export type { OutputSchemaValidator } from "./json-schema.js";
export { detectPii, PII_TYPES } from "./pii.js";
export type { PiiSpan, PiiType, Span } from "./pii.js";
export { placeholder, redact } from "./redact.js";
