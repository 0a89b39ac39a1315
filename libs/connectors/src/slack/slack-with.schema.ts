/** The `with` options of a `slack` action step (an incoming webhook), after template rendering. */
export interface SlackWith {
  /** The incoming-webhook URL Slack gave you (keep it in a secret: it is the credential). */
  url: string;
  /** The message text; with `blocks`, Slack shows it in notifications and as the fallback. */
  text: string;
  /** Block Kit blocks, passed through as they are. */
  blocks?: Array<Record<string, unknown>>;
}

/** JSON Schema of the slack connector's `with`. Slack accepts at most 50 blocks per message. */
export const slackWithSchema: Record<string, unknown> = {
  type: 'object',
  required: ['url', 'text'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', minLength: 1 },
    text: { type: 'string', minLength: 1 },
    blocks: { type: 'array', maxItems: 50, items: { type: 'object' } },
  },
};
