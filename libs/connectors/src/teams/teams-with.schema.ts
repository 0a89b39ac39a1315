/** The `with` options of a `teams` action step (a Teams / Power Automate webhook), after rendering. */
export type TeamsWith =
  { url: string; text: string; card?: never } | { url: string; card: AdaptiveCard; text?: never };

/** An Adaptive Card (https://adaptivecards.io), passed through as it is. */
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  [key: string]: unknown;
}

/** JSON Schema of the teams connector's `with`: a `url` and exactly one of `text` or `card`. */
export const teamsWithSchema: Record<string, unknown> = {
  type: 'object',
  required: ['url'],
  additionalProperties: false,
  properties: {
    url: { type: 'string', minLength: 1 },
    text: { type: 'string', minLength: 1 },
    card: {
      type: 'object',
      required: ['type'],
      properties: { type: { const: 'AdaptiveCard' } },
    },
  },
  // `properties` repeated so ajv's strictRequired mode accepts the `required` inside them.
  anyOf: [
    { required: ['text'], properties: { text: true } },
    { required: ['card'], properties: { card: true } },
  ],
  not: { required: ['text', 'card'], properties: { text: true, card: true } },
};
