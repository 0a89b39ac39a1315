// Model
export * from './model/flow-definition';
export * from './model/run-context';
export * from './model/step-outcome';
export * from './model/step-status';
export * from './model/connector';

// Retry policy and durations
export { isDuration, parseDuration } from './retry/duration';
export {
  backoffDelayMs,
  DEFAULT_POLL_ATTEMPTS,
  parseRetryAfter,
  resolveRetryPolicy,
} from './retry/retry-policy';
export type { RetryPolicy } from './retry/retry-policy';

// Validation
export {
  HTTP_METHODS,
  SECRET_NAME_PATTERN,
  SLUG_PATTERN,
  STEP_TYPES,
  flowJsonSchema,
} from './validation/flow.schema';
export { connectorInputIssues, validateFlow } from './validation/validate-flow';
export type { ValidateFlowOptions, ValidationResult } from './validation/validate-flow';
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

// Operational events (error flows, subscriptions, alerts)
export { FLOW_EVENT_TYPES, isOpsEventType, OPS_EVENT_TYPES, slugMatches } from './events/ops-events';
export type { OpsEventType } from './events/ops-events';
export {
  ALERT_MESSAGE_STEP,
  alertMessageFlow,
  alertOnFailure,
  alertOnWindowEnd,
  alertThrottleMs,
  DEFAULT_ALERT_THROTTLE,
  failureMessage,
  NO_ALERT_WINDOW,
  summaryMessage,
} from './events/alert-rules';
export type { AlertDecision, AlertMessage, AlertWindow } from './events/alert-rules';

// The destination circuit breaker's decisions
export {
  afterFailure,
  afterSuccess,
  DESTINATION_STATES,
  errorHealth,
  healthOf,
  MAX_COOLDOWN_MS,
  mayProbe,
  pauseByHand,
  resumeByHand,
} from './destinations/breaker';
export type {
  BreakerChange,
  BreakerEvent,
  BreakerPolicy,
  BreakerRow,
  DestinationState,
  Health,
  PausedBy,
} from './destinations/breaker';

// Triggers: what ingress needs of one, and what it answers
export { compileTrigger, credentialOf } from './trigger/compile-trigger';
export type { CompiledTrigger } from './trigger/compile-trigger';
export { acceptedReply, duplicateReply } from './trigger/trigger-reply';
export {
  cronIssue,
  fireSpecOf,
  nextFireTimes,
  pollFingerprint,
  pollRequestFlow,
  POLL_REQUEST_STEP,
  tickAt,
  tickBody,
  tickMissed,
  timedMethodOf,
  timedTriggerOf,
  MAX_TICK_GRACE_MS,
  MIN_TICK_GRACE_MS,
} from './trigger/schedule';
export type { FireSpec } from './trigger/schedule';
export type { IngressResponse, TriggerReply } from './trigger/trigger-reply';
export {
  bodyKindOf,
  jsonDepthExceeds,
  parseRequestBody,
  RequestBodyError,
  valueDepthExceeds,
} from './request/request-body';
export type { BodyDepthLimits, BodyKind, BodyOptions } from './request/request-body';

// Respond steps: the answer a webhook's sender waits for
export { answerOf, respondSignal } from './respond/respond-answer';
export type { RespondSignal } from './respond/respond-answer';

// Step graph
export { DEFAULT_LOOP_CONCURRENCY, StepGraph, StepGraphError } from './graph/step-graph';
export type { FinishedRunStatus, GraphStep, LoopGraph } from './graph/step-graph';
export { planSteps } from './graph/step-plan';
export type { RootStep, NewRunPlan, TriggerStep } from './graph/step-plan';
export * from './graph/loop-items';

// JSONata
export * from './transform';

// Execution
export { InvalidFlowError, compileFlow, scopeOf, stepInput } from './execute/compile-flow';
export type { CompiledFlow, CompiledStep } from './execute/compile-flow';
export { bindingsOf, executeStep } from './execute/execute-step';
export type { ExecuteDeps } from './execute/execute-step';
export { runFlowInProcess } from './execute/run-in-process';
export type { InProcessRunResult, InProcessStepResult, RunInProcessDeps } from './execute/run-in-process';

// Canonical file text and sync plans
export { canonicalFlowJson } from './model/canonical';
export { planFlowSync } from './model/sync-plan';
export type { LiveFlow, SyncFile, SyncPlan, SyncScope } from './model/sync-plan';

// Flow files on disk (the CLI and the API's FLOWS_DIR loader)
export * from './files';

// The run's state machine: what a step's end or a retry does to a run
export * from './run-state/run-state';
