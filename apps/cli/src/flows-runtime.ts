// Engine pieces only validate, plan/apply and test need, loaded on first use: they cost about 150 ms
// at start-up, which `runs` and `export` should not pay.
export {
  compileFlow,
  parseRequestBody,
  RequestBodyError,
  runFlowInProcess,
  tickBody,
  timedMethodOf,
  validateFlow,
} from '@hookflow/flows';
export { ExpressionSandbox } from '@hookflow/sandbox';
export { createConnectorRegistry, createOutboundAgent } from '@hookflow/connectors';
