// JSONata alone, without the rest of the domain: the sandbox's host process loads only this.
export {
  DEFAULT_EXPRESSION_BUDGET,
  DEFAULT_MAX_OUTPUT_BYTES,
  ExpressionError,
  compileExpression,
  jsonataBoolean,
} from './expression';
export type {
  CompiledExpression,
  EvaluationLimits,
  ExpressionBudget,
  ExpressionErrorCode,
} from './expression';
export { InProcessEvaluator, checkedResult } from './expression-evaluator';
export type { ExpressionEvaluator, ExpressionRequest } from './expression-evaluator';
