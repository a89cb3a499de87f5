export { diffLines, versionLines } from "./diff.js";
export type { DiffLine, DiffOp } from "./diff.js";
export {
  createPromptVersion,
  diffPromptVersions,
  GATE_TAG_PREFIX,
  getPrompt,
  getPromptVersion,
  listPrompts,
  listPromptVersions,
  promotePrompt,
  PROMPT_MODEL_CONFIG_TAG,
  PROMPT_PARAMETERS,
  PROMPT_SOURCE,
  PROMPT_TEXT_TAG,
  PROMPT_TYPE_TAG,
  toPrompt,
  toPromptVersion,
} from "./prompt-registry.js";
export type {
  CreatePromptVersionInput,
  Prompt,
  PromptParameter,
  PromptParameters,
  PromptPromotionGates,
  PromptVersion,
  PromotePromptInput,
} from "./prompt-registry.js";
export { CHAT_ROLES, checkTemplate, renderTemplate, templateVariables } from "./template.js";
export type { ChatMessage, ChatRole, PromptTemplate } from "./template.js";
