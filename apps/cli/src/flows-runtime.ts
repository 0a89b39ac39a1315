/**
 * The engine pieces that only validate, plan/apply and test need. Commands load this module on
 * first use (`await import('./flows-runtime')`): JSONata, Handlebars, ajv's compiled schemas and
 * undici cost about 150 ms at start-up, which `runs` and `export` should not pay.
 */
export { compileFlow, runFlowInProcess, validateFlow } from '@hookflow/flows';
export { ExpressionSandbox } from '@hookflow/sandbox';
export { createConnectorRegistry, createOutboundAgent } from '@hookflow/connectors';
