import { createHash, createHmac } from 'node:crypto';
import { ConnectorError } from '@hookflow/flows';

/** Shortest signing key accepted, in bytes (Standard Webhooks asks for 24-64; 16 is the floor we enforce). */
export const MIN_SIGNING_KEY_BYTES = 16;

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The three Standard Webhooks headers, lower-case. */
export interface WebhookSignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Decodes a Standard Webhooks secret (`whsec_` optional) into the HMAC key; errors never echo it. */
export function parseSigningSecret(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // Buffer.from(…, 'base64') skips junk silently; a typo would then sign with a different key.
  if (encoded === '' || !BASE64.test(encoded)) {
    throw new ConnectorError(
      'invalid_config',
      'with.sign.secret must be a Standard Webhooks secret: whsec_ followed by base64',
      false,
    );
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SIGNING_KEY_BYTES) {
    throw new ConnectorError(
      'invalid_config',
      `with.sign.secret decodes to ${key.length} bytes; at least ${MIN_SIGNING_KEY_BYTES} are required`,
      false,
    );
  }
  return key;
}

/** The `webhook-id` of a step's deliveries, the same every attempt: a hash of the idempotency key. */
export function webhookId(idempotencyKey: string): string {
  return `msg_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 32)}`;
}

/** Standard Webhooks v1 headers for one attempt, signing the exact bytes sent (a string as UTF-8). */
export function signWebhook(
  key: Buffer,
  id: string,
  timestampSeconds: number,
  body: string | Buffer,
): WebhookSignatureHeaders {
  const timestamp = String(Math.floor(timestampSeconds));
  const signature = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}
