import { JsonPostPreset } from '../http/json-post-preset';
import { discordWithSchema, type DiscordWith } from './discord-with.schema';

export { discordWithSchema } from './discord-with.schema';
export type { DiscordWith } from './discord-with.schema';

/** `discord`: posts `{ content, embeds }` to a Discord channel webhook through the http connector. */
export class DiscordConnector extends JsonPostPreset<DiscordWith> {
  readonly key = 'discord';
  readonly schema = discordWithSchema;

  protected body(input: DiscordWith): unknown {
    return input.embeds === undefined
      ? { content: input.content }
      : { content: input.content, embeds: input.embeds };
  }
}
