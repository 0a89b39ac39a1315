import { JsonPostPreset } from '../http/json-post-preset';
import { slackWithSchema, type SlackWith } from './slack-with.schema';

export { slackWithSchema } from './slack-with.schema';
export type { SlackWith } from './slack-with.schema';

/** `slack`: posts `{ text, blocks }` to a Slack incoming webhook through the http connector. */
export class SlackConnector extends JsonPostPreset<SlackWith> {
  readonly key = 'slack';
  readonly schema = slackWithSchema;

  protected body(input: SlackWith): unknown {
    return input.blocks === undefined ? { text: input.text } : { text: input.text, blocks: input.blocks };
  }
}
