import type { Connector, ConnectorContext } from '@hookflow/flows';
import type { HttpConnector } from '../http/http.connector';
import type { HttpOutput } from '../http/http-response';
import { teamsWithSchema, type TeamsWith } from './teams-with.schema';

export { teamsWithSchema } from './teams-with.schema';
export type { AdaptiveCard, TeamsWith } from './teams-with.schema';

/** Content type Teams expects for an Adaptive Card attachment. */
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/**
 * `teams`: posts `{ text }`, or an Adaptive Card wrapped in the Teams message envelope
 * (`{ type: 'message', attachments: [...] }`, what Teams workflows and connectors accept), through
 * the http connector.
 */
export class TeamsConnector implements Connector {
  readonly key = 'teams';
  readonly schema = teamsWithSchema;

  constructor(private readonly http: HttpConnector) {}

  /** `options` have passed this connector's schema (executeStep checks it after rendering). */
  execute(options: Record<string, unknown>, ctx: ConnectorContext): Promise<HttpOutput> {
    const input = options as unknown as TeamsWith;
    const json =
      input.card === undefined
        ? { text: input.text }
        : {
            type: 'message',
            attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: input.card }],
          };
    return this.http.execute({ method: 'POST', url: input.url, json }, ctx);
  }
}
