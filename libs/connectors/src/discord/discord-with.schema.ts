/** The `with` options of a `discord` action step (a channel webhook), after template rendering. */
export interface DiscordWith {
  /** The channel webhook URL (it carries the webhook token: keep it in a secret). */
  url: string;
  /** The message text. */
  content: string;
  /** Rich embeds, passed through as they are. */
  embeds?: Array<Record<string, unknown>>;
}

/** JSON Schema of the discord connector's `with`: Discord's limits are 2000 characters and 10 embeds. */
export const discordWithSchema: Record<string, unknown> = {
  type: 'object',
  required: ['url', 'content'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', minLength: 1 },
    content: { type: 'string', minLength: 1, maxLength: 2000 },
    embeds: { type: 'array', maxItems: 10, items: { type: 'object' } },
  },
};
