export { createOutboundAgent } from './dispatcher';
export type { OutboundAgentOptions } from './dispatcher';
export { createConnectorRegistry, MapConnectorRegistry } from './registry';
export type { ConnectorRegistryOptions } from './registry';
export { DEFAULT_MAX_RESPONSE_BYTES, HttpConnector, httpWithSchema } from './http/http.connector';
export type { HttpConnectorOptions, HttpOutput, HttpWith } from './http/http.connector';
export { HOOKFLOW_VERSION } from './version';
