export {
  completionText,
  gatewayChat,
  judge,
  JUDGE_VARIABLES,
  JudgeError,
  parseJudgeAnswer,
  renderRubric,
} from "./judge.js";
export type { ChatCall, JudgeExample, JudgeRubric, JudgeVerdict } from "./judge.js";
