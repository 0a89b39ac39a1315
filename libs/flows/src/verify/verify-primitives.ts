import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { VerifyFailureReason, VerifyRequest } from './verify-config';

/** A verification failure raised inside a scheme; `verifyWebhook` turns it into a result. */
export class VerifyFailure extends Error {
  constructor(
    readonly reason: VerifyFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'VerifyFailure';
  }
}

/** Constant-time equality; comparing SHA-256 digests hides the secret side's length too. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  const digestA = createHash('sha256').update(a).digest();
  const digestB = createHash('sha256').update(b).digest();
  return timingSafeEqual(digestA, digestB) && a.length === b.length;
}

/** True when any candidate equals `expected`; every candidate is compared, a match ends nothing early. */
export function anyConstantTimeEqual(expected: Buffer, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const candidate of candidates) {
    matched = constantTimeEqual(expected, candidate) || matched;
  }
  return matched;
}

/** HMAC of the parts in order, without concatenating a copy of the body. */
export function hmacDigest(
  algorithm: string,
  key: string | Buffer,
  parts: readonly (string | Buffer)[],
): Buffer {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64_RE = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Strictly decodes a signature (Buffer.from quietly stops at a bad character); undefined if invalid. */
export function decodeSignature(text: string, encoding: 'hex' | 'base64'): Buffer | undefined {
  if (encoding === 'hex') return HEX_RE.test(text) ? Buffer.from(text, 'hex') : undefined;
  return BASE64_RE.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Every non-empty value of a header, looked up case-insensitively; repeated headers give several. */
export function headerValues(headers: VerifyRequest['headers'], name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      const trimmed = item.trim();
      if (trimmed !== '') values.push(trimmed);
    }
  }
  return values;
}

/** The one value of a header; a missing header is `signature_missing`, a repeated one a mismatch. */
export function singleHeader(headers: VerifyRequest['headers'], name: string): string {
  const values = headerValues(headers, name);
  if (values.length === 0) throw new VerifyFailure('signature_missing', `missing header '${name}'`);
  if (values.length > 1) {
    throw new VerifyFailure('signature_mismatch', `header '${name}' appears more than once`);
  }
  return values[0];
}

/** Every non-empty value of a header, at least one; none is `signature_missing`. */
export function requiredHeaderValues(headers: VerifyRequest['headers'], name: string): string[] {
  const values = headerValues(headers, name);
  if (values.length === 0) throw new VerifyFailure('signature_missing', `missing header '${name}'`);
  return values;
}

const UNIX_SECONDS_RE = /^\d{1,12}$/;

/** Rejects a signed timestamp (Unix seconds) more than `toleranceMs` from `nowMs`, either way. */
export function checkTimestamp(text: string, source: string, nowMs: number, toleranceMs: number): void {
  if (!UNIX_SECONDS_RE.test(text)) {
    throw new VerifyFailure('timestamp_out_of_tolerance', `${source} is not a Unix time in seconds`);
  }
  const skewMs = nowMs - Number(text) * 1000;
  if (Math.abs(skewMs) <= toleranceMs) return;
  const skewS = Math.round(Math.abs(skewMs) / 1000);
  const when = skewMs > 0 ? `${skewS} s old` : `${skewS} s in the future`;
  throw new VerifyFailure(
    'timestamp_out_of_tolerance',
    `${source} is ${when}, outside the tolerance of ${Math.round(toleranceMs / 1000)} s`,
  );
}
