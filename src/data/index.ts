export type { CategoricalColumn, Column, Frame, NumericColumn } from "./frame.js";
export { column } from "./frame.js";
export type { Signature, SignatureColumn, SignatureType } from "./signature.js";
export { inferSignature } from "./signature.js";
export type { ReadOptions, TableFormat } from "./io.js";
export { categoricalFromStrings, numericColumn, readTable, tableFormat, writeTable } from "./io.js";
export { ident, source, sqlString, withConnection } from "./io.js";
export type { ColumnRoles, PreparedTarget } from "./roles.js";
export { assignRoles, isIdLike, prepareTarget, selectColumns, takeRows } from "./roles.js";
export type { LoanApplicationOptions } from "./loan-applications.js";
export {
  HOME_OWNERSHIP,
  LOAN_FEATURES,
  LOAN_PURPOSES,
  REGIONS,
  generateLoanApplications,
} from "./loan-applications.js";
export { betaDraw, choiceDraw, gammaDraw, mulberry32, normalDraw, poissonDraw } from "./random.js";
export { writeFileAtomic } from "./atomic-file.js";
export { sortEachColumn, sortFloat64, sortNullsLast } from "./sort.js";
export { warmCsvWorker } from "./csv-parallel.js";
