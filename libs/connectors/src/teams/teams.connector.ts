import { JsonPostPreset } from '../http/json-post-preset';
import { teamsWithSchema, type TeamsWith } from './teams-with.schema';

export { teamsWithSchema } from './teams-with.schema';
export type { AdaptiveCard, TeamsWith } from './teams-with.schema';

/** Content type Teams expects for an Adaptive Card attachment. */
export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';

/** `teams`: posts `{ text }`, or an Adaptive Card in Teams' message envelope, via the http connector. */
export class TeamsConnector extends JsonPostPreset<TeamsWith> {
  readonly key = 'teams';
  readonly schema = teamsWithSchema;

  protected body(input: TeamsWith): unknown {
    return input.card === undefined
      ? { text: input.text }
      : { type: 'message', attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: input.card }] };
  }
}
