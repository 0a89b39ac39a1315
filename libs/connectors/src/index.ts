export { createOutboundAgent } from './dispatcher';
export type { OutboundAgentOptions } from './dispatcher';
export { classifyAddress } from './guard/address-classifier';
export type { AddressVerdict } from './guard/address-classifier';
export { EMPTY_ALLOW_LIST, parseOutboundAllow } from './guard/outbound-allow';
export type { OutboundAllowList } from './guard/outbound-allow';
export { checkDestination, createGuardedConnector, OutboundBlockedError } from './guard/outbound-guard';
export type { GuardedConnectorOptions, LookupAll } from './guard/outbound-guard';
export { outboundUrlWarnings } from './guard/url-warnings';
export { createConnectorRegistry, MapConnectorRegistry } from './registry';
export type { ConnectorRegistryOptions } from './registry';
export { DEFAULT_MAX_RESPONSE_BYTES, HttpConnector, httpWithSchema } from './http/http.connector';
export type { HttpConnectorOptions, HttpOutput, HttpWith } from './http/http.connector';
export { MIN_SIGNING_KEY_BYTES, parseSigningSecret, signWebhook, webhookId } from './http/webhook-signature';
export type { WebhookSignatureHeaders } from './http/webhook-signature';
export { SlackConnector, slackWithSchema } from './slack/slack.connector';
export type { SlackWith } from './slack/slack.connector';
export { DiscordConnector, discordWithSchema } from './discord/discord.connector';
export type { DiscordWith } from './discord/discord.connector';
export { ADAPTIVE_CARD_CONTENT_TYPE, TeamsConnector, teamsWithSchema } from './teams/teams.connector';
export type { AdaptiveCard, TeamsWith } from './teams/teams.connector';
export {
  captureExchange,
  EXCHANGE_SCAN_BYTES,
  MASKED,
  MAX_EXCHANGE_BODY_BYTES,
  MAX_EXCHANGE_HEADER_CHARS,
  MAX_EXCHANGE_HEADERS,
} from './http/exchange';
export { HOOKFLOW_VERSION } from './version';
