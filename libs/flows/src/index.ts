// Model
export * from './model/flow-definition';
export * from './model/run-context';
export * from './model/step-outcome';
export * from './model/step-status';
export * from './model/connector';

// Retry policy and durations
export { DURATION_PATTERN, isDuration, parseDuration } from './retry/duration';
export {
  DEFAULT_ACTION_ATTEMPTS,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_RETRY_MAX_DELAY_MS,
  DEFAULT_STEP_TIMEOUT_MS,
  backoffDelayMs,
  parseRetryAfter,
  resolveRetryPolicy,
  resolveTimeoutMs,
} from './retry/retry-policy';
export type { RetryPolicy } from './retry/retry-policy';

// Validation
export {
  CONNECTOR_KEY_PATTERN,
  HTTP_METHODS,
  IP_OR_CIDR_PATTERN,
  SECRET_NAME_PATTERN,
  SLUG_PATTERN,
  STEP_ID_PATTERN,
  STEP_TYPES,
  VERIFY_SCHEMES,
  flowJsonSchema,
} from './validation/flow.schema';
export { connectorInputIssues, validateFlow } from './validation/validate-flow';
export type { ValidateFlowOptions, ValidationResult } from './validation/validate-flow';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_RESPOND_STATUS,
  DEFAULT_TRIGGER_METHODS,
  DEFAULT_VERIFY_TOLERANCE_MS,
} from './validation/flow-defaults';
export { escapePointerToken, joinPointer, parsePointer, valueAtPointer } from './validation/json-pointer';
export * from './validation/flow-limits';

// Webhook signature verification
export { verifyWebhook } from './verify/verify-webhook';
export type {
  BodyPresetVerifyConfig,
  HmacAlgorithm,
  HmacVerifyConfig,
  SignatureEncoding,
  TimestampedPresetVerifyConfig,
  TokenVerifyConfig,
  VerifyConfig,
  VerifyFailureReason,
  VerifyRequest,
  VerifyResult,
} from './verify/verify-config';

// Triggers: what ingress needs of one, and what it answers
export { compileTrigger } from './trigger/compile-trigger';
export type { CompiledTrigger, RootStep, TriggerStep } from './trigger/compile-trigger';
export { acceptedReply, duplicateReply } from './trigger/trigger-reply';
export type { IngressResponse, TriggerReply } from './trigger/trigger-reply';

// Step graph
export { StepGraph, StepGraphError } from './graph/step-graph';
export type { FinishedRunStatus, GraphStep } from './graph/step-graph';

// JSONata
export * from './transform';

// Handlebars
export {
  TYPED_WITH_PATHS,
  TemplateError,
  URL_WITH_PATHS,
  WITH_TEMPLATE_OPTIONS,
  compileTemplateTree,
  inspectTemplateTree,
  templateTreeIssues,
} from './template/template';
export type {
  CompiledTemplateTree,
  TemplateData,
  TemplateIssue,
  TemplateStepRef,
  TemplateTreeOptions,
  TemplateTreeReport,
} from './template/template';

// Execution
export { InvalidFlowError, compileFlow, stepInput } from './execute/compile-flow';
export type { CompiledFlow, CompiledStep } from './execute/compile-flow';
export { CONNECTOR_GRACE_MS, executeStep, secretPlaceholder } from './execute/execute-step';
export type { ExecuteDeps } from './execute/execute-step';
export { runFlowInProcess } from './execute/run-in-process';
export type { InProcessRunResult, InProcessStepResult, RunInProcessDeps } from './execute/run-in-process';

// Canonical file text and plan summaries
export {
  FLOW_KEY_ORDER,
  STEP_KEY_ORDER,
  TRIGGER_KEY_ORDER,
  canonicalFlowJson,
  flowChecksum,
} from './model/canonical';
export { diffFlows } from './model/flow-diff';
export { planFlowSync } from './model/sync-plan';
export type { LiveFlow, SyncFile, SyncPlan, SyncScope } from './model/sync-plan';

// Flow files on disk (the CLI and the API's FLOWS_DIR loader)
export * from './files';

// The run's state machine: what a step's end or a retry does to a run
export * from './run-state/run-state';
