import type { Connector, ConnectorContext } from '@hookflow/flows';
import type { HttpConnector } from '../http/http.connector';
import type { HttpOutput } from '../http/http-response';
import { slackWithSchema, type SlackWith } from './slack-with.schema';

export { slackWithSchema } from './slack-with.schema';
export type { SlackWith } from './slack-with.schema';

/**
 * `slack`: posts `{ text, blocks }` to a Slack incoming webhook through the http connector, so
 * it shares its timeouts, retry classification, Idempotency-Key and outbound guard.
 */
export class SlackConnector implements Connector {
  readonly key = 'slack';
  readonly schema = slackWithSchema;

  constructor(private readonly http: HttpConnector) {}

  /** `options` have passed this connector's schema (executeStep checks it after rendering). */
  execute(options: Record<string, unknown>, ctx: ConnectorContext): Promise<HttpOutput> {
    const input = options as unknown as SlackWith;
    const json =
      input.blocks === undefined ? { text: input.text } : { text: input.text, blocks: input.blocks };
    return this.http.execute({ method: 'POST', url: input.url, json }, ctx);
  }
}
