import type { Duration } from '../model/flow-definition';

/** HMAC hashes the generic `hmac` scheme accepts. */
export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
/** Text encodings of a signature in the generic `hmac` scheme. */
export type SignatureEncoding = 'hex' | 'base64';

/** A shared token in a header (default `Authorization: Bearer <token>`) or a query parameter. */
export interface TokenVerifyConfig {
  scheme: 'token';
  secret: string;
  /** Header whose whole value is the token. */
  header?: string;
  /** Query parameter that carries the token. */
  query?: string;
}

/** A generic HMAC over the raw body, optionally with a timestamp in the signed content. */
export interface HmacVerifyConfig {
  scheme: 'hmac';
  secret: string;
  header: string;
  algorithm?: HmacAlgorithm;
  encoding?: SignatureEncoding;
  prefix?: string;
  timestampHeader?: string;
  /** `{timestamp}` and `{body}` placeholders; default `{body}`, or `{timestamp}.{body}` with a timestamp header. */
  signedContent?: string;
  tolerance?: Duration;
}

/** Presets whose signature covers a timestamp, so `tolerance` applies. */
export interface TimestampedPresetVerifyConfig {
  scheme: 'standard-webhooks' | 'stripe' | 'slack';
  secret: string;
  tolerance?: Duration;
}

/** Presets whose signature covers the body only. */
export interface BodyPresetVerifyConfig {
  scheme: 'github' | 'shopify';
  secret: string;
}

/** A trigger's `verify` object; `secret` is a name, its value goes to `verifyWebhook` separately. */
export type VerifyConfig =
  TokenVerifyConfig | HmacVerifyConfig | TimestampedPresetVerifyConfig | BodyPresetVerifyConfig;

/** What `verifyWebhook` needs of an inbound request; header names in any case. */
export type VerifyRequest = {
  rawBody: Buffer;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
};

/** Why a request failed verification; ingress answers 401 with it. */
export type VerifyFailureReason =
  'signature_missing' | 'signature_mismatch' | 'timestamp_out_of_tolerance' | 'secret_missing';

/** The outcome of `verifyWebhook`. `message` never contains the secret or an expected signature. */
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailureReason; message: string };
