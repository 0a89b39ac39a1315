import type { Connector, ConnectorContext } from '@hookflow/flows';
import type { HttpConnector } from '../http/http.connector';
import type { HttpOutput } from '../http/http-response';
import { discordWithSchema, type DiscordWith } from './discord-with.schema';

export { discordWithSchema } from './discord-with.schema';
export type { DiscordWith } from './discord-with.schema';

/** `discord`: posts `{ content, embeds }` to a Discord channel webhook through the http connector. */
export class DiscordConnector implements Connector {
  readonly key = 'discord';
  readonly schema = discordWithSchema;

  constructor(private readonly http: HttpConnector) {}

  /** `options` have passed this connector's schema (executeStep checks it after rendering). */
  execute(options: Record<string, unknown>, ctx: ConnectorContext): Promise<HttpOutput> {
    const input = options as unknown as DiscordWith;
    const json =
      input.embeds === undefined
        ? { content: input.content }
        : { content: input.content, embeds: input.embeds };
    return this.http.execute({ method: 'POST', url: input.url, json }, ctx);
  }
}
