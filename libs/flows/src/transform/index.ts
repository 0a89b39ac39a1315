// JSONata alone, without the rest of the domain: the sandbox's host process loads only this.
export { DEFAULT_EXPRESSION_BUDGET, ExpressionError, compileExpression } from './expression';
export type { CompiledExpression, ExpressionBudget, ExpressionErrorCode } from './expression';
export { InProcessEvaluator } from './expression-evaluator';
export type { ExpressionEvaluator, ExpressionRequest } from './expression-evaluator';
export { DEFAULT_CODE_MEMORY_MB, logsOf, quickjsPoisoned, runCode } from './run-code';
export type { CodeRequest, CodeResult } from './run-code';
