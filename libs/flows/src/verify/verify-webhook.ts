import { parseDuration } from '../retry/duration';
import { DEFAULT_VERIFY_TOLERANCE_MS } from '../validation/flow-defaults';
import type {
  HmacVerifyConfig,
  TokenVerifyConfig,
  VerifyConfig,
  VerifyRequest,
  VerifyResult,
} from './verify-config';
import {
  VerifyFailure,
  anyConstantTimeEqual,
  checkTimestamp,
  constantTimeEqual,
  decodeSignature,
  headerValues,
  hmacDigest,
  requiredHeaderValues,
  singleHeader,
} from './verify-primitives';

const OK: VerifyResult = { ok: true };
const MISMATCH = 'the signature does not match';

/**
 * Checks a request's signature on the raw bytes in constant time (docs/flow-format.md, `verify`);
 * messages never hold the secret or a signature.
 */
export function verifyWebhook(
  verify: VerifyConfig,
  req: VerifyRequest,
  secret: string | undefined,
  nowMs: number = Date.now(),
): VerifyResult {
  // An empty key would make every HMAC computable by anyone, so it counts as no secret.
  if (secret === undefined || secret === '') {
    return {
      ok: false,
      reason: 'secret_missing',
      message: 'the secret this trigger verifies with is not set in the secret store',
    };
  }
  try {
    verifyScheme(verify, req, secret, nowMs);
    return OK;
  } catch (err) {
    if (err instanceof VerifyFailure) return { ok: false, reason: err.reason, message: err.message };
    throw err;
  }
}

function verifyScheme(verify: VerifyConfig, req: VerifyRequest, secret: string, nowMs: number): void {
  switch (verify.scheme) {
    case 'token':
      return verifyToken(verify, req, secret);
    case 'hmac':
      return verifyHmac(verify, req, secret, nowMs);
    case 'standard-webhooks':
      return verifyStandardWebhooks(req, secret, nowMs, toleranceMs(verify.tolerance));
    case 'stripe':
      return verifyStripe(req, secret, nowMs, toleranceMs(verify.tolerance));
    case 'github':
      return verifyGithub(req, secret);
    case 'shopify':
      return verifyShopify(req, secret);
    case 'slack':
      return verifySlack(req, secret, nowMs, toleranceMs(verify.tolerance));
    default:
      throw new Error(`unknown verify scheme ${JSON.stringify((verify as { scheme: unknown }).scheme)}`);
  }
}

function toleranceMs(tolerance: HmacVerifyConfig['tolerance']): number {
  return tolerance === undefined ? DEFAULT_VERIFY_TOLERANCE_MS : parseDuration(tolerance);
}

function mismatchUnless(matched: boolean, message = MISMATCH): void {
  if (!matched) throw new VerifyFailure('signature_mismatch', message);
}

const BEARER_RE = /^Bearer[ \t]+(\S+)$/i;

function verifyToken(verify: TokenVerifyConfig, req: VerifyRequest, secret: string): void {
  let presented: string;
  if (verify.query !== undefined) {
    const raw = req.query[verify.query];
    const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined && v !== '');
    if (values.length === 0) {
      throw new VerifyFailure('signature_missing', `missing query parameter '${verify.query}'`);
    }
    if (values.length > 1) {
      throw new VerifyFailure(
        'signature_mismatch',
        `query parameter '${verify.query}' appears more than once`,
      );
    }
    if (typeof values[0] !== 'string') {
      throw new VerifyFailure('signature_mismatch', `query parameter '${verify.query}' is not text`);
    }
    presented = values[0];
  } else if (verify.header !== undefined) {
    presented = singleHeader(req.headers, verify.header);
  } else {
    const match = BEARER_RE.exec(singleHeader(req.headers, 'authorization'));
    if (!match) {
      throw new VerifyFailure('signature_mismatch', "the 'authorization' header is not a Bearer token");
    }
    presented = match[1];
  }
  mismatchUnless(
    constantTimeEqual(Buffer.from(presented, 'utf8'), Buffer.from(secret, 'utf8')),
    'the token does not match',
  );
}

const PLACEHOLDER_RE = /(\{timestamp\}|\{body\})/;

/** The parts of the signed content, in order, from a `{timestamp}`/`{body}` pattern. */
function signedParts(pattern: string, body: Buffer, timestamp: string | undefined): (string | Buffer)[] {
  return pattern
    .split(PLACEHOLDER_RE)
    .filter((piece) => piece !== '')
    .map((piece) => {
      if (piece === '{body}') return body;
      if (piece !== '{timestamp}') return piece;
      if (timestamp === undefined) {
        throw new Error('verify.signedContent uses {timestamp} but verify.timestampHeader is not set');
      }
      return timestamp;
    });
}

function verifyHmac(verify: HmacVerifyConfig, req: VerifyRequest, secret: string, nowMs: number): void {
  const encoding = verify.encoding ?? 'hex';
  const prefix = verify.prefix ?? '';
  const presented = requiredHeaderValues(req.headers, verify.header);
  const timestamp =
    verify.timestampHeader === undefined ? undefined : singleHeader(req.headers, verify.timestampHeader);
  const pattern = verify.signedContent ?? (timestamp === undefined ? '{body}' : '{timestamp}.{body}');
  const expected = hmacDigest(
    verify.algorithm ?? 'sha256',
    secret,
    signedParts(pattern, req.rawBody, timestamp),
  );
  const candidates = presented.flatMap((value) => {
    if (!value.startsWith(prefix)) return [];
    const decoded = decodeSignature(value.slice(prefix.length).trim(), encoding);
    return decoded ? [decoded] : [];
  });
  mismatchUnless(anyConstantTimeEqual(expected, candidates));
  if (timestamp !== undefined && verify.timestampHeader !== undefined) {
    checkTimestamp(timestamp, `header '${verify.timestampHeader}'`, nowMs, toleranceMs(verify.tolerance));
  }
}

const WHSEC_PREFIX = 'whsec_';
/** Standard Webhooks secrets are 24 to 64 random bytes; fewer than 16 is a misconfiguration. */
const MIN_WHSEC_KEY_BYTES = 16;

/** Standard Webhooks (standardwebhooks.com), which Svix sends with `svix-` header names. */
function verifyStandardWebhooks(
  req: VerifyRequest,
  secret: string,
  nowMs: number,
  toleranceMs: number,
): void {
  const svix =
    headerValues(req.headers, 'webhook-signature').length === 0 &&
    headerValues(req.headers, 'svix-signature').length > 0;
  const prefix = svix ? 'svix-' : 'webhook-';
  const signatures = requiredHeaderValues(req.headers, `${prefix}signature`);
  const id = singleHeader(req.headers, `${prefix}id`);
  const timestamp = singleHeader(req.headers, `${prefix}timestamp`);
  const encoded = secret.startsWith(WHSEC_PREFIX) ? secret.slice(WHSEC_PREFIX.length) : secret;
  const key = decodeSignature(encoded, 'base64');
  // A secret that is not base64, or decodes to a few bytes (`whsec_`, `!!!!`), would make an HMAC
  // anyone can compute: refuse it as no secret at all rather than accept forgeries.
  if (!key || key.length < MIN_WHSEC_KEY_BYTES) {
    throw new VerifyFailure(
      'secret_missing',
      `the standard-webhooks secret must be whsec_ followed by at least ${MIN_WHSEC_KEY_BYTES} base64-encoded bytes`,
    );
  }
  const expected = hmacDigest('sha256', key, [`${id}.${timestamp}.`, req.rawBody]);
  // A space-separated list of `version,signature`; several v1 entries during key rotation.
  const candidates = signatures
    .flatMap((value) => value.split(/\s+/))
    .flatMap((entry) => {
      const comma = entry.indexOf(',');
      if (comma < 0 || entry.slice(0, comma) !== 'v1') return [];
      const decoded = decodeSignature(entry.slice(comma + 1), 'base64');
      return decoded ? [decoded] : [];
    });
  mismatchUnless(candidates.length > 0, `header '${prefix}signature' carries no v1 signature`);
  mismatchUnless(anyConstantTimeEqual(expected, candidates));
  checkTimestamp(timestamp, `header '${prefix}timestamp'`, nowMs, toleranceMs);
}

/** Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` over `${t}.${body}`. */
function verifyStripe(req: VerifyRequest, secret: string, nowMs: number, toleranceMs: number): void {
  const items = requiredHeaderValues(req.headers, 'stripe-signature')
    .flatMap((value) => value.split(','))
    .map((item) => {
      const eq = item.indexOf('=');
      return eq < 0
        ? { key: item.trim(), value: '' }
        : { key: item.slice(0, eq).trim(), value: item.slice(eq + 1).trim() };
    });
  const timestamp = items.find((item) => item.key === 't')?.value;
  if (timestamp === undefined || timestamp === '') {
    throw new VerifyFailure('signature_mismatch', "header 'stripe-signature' carries no timestamp (t=)");
  }
  const candidates = items.flatMap((item) => {
    if (item.key !== 'v1') return [];
    const decoded = decodeSignature(item.value, 'hex');
    return decoded ? [decoded] : [];
  });
  mismatchUnless(candidates.length > 0, "header 'stripe-signature' carries no v1 signature");
  const expected = hmacDigest('sha256', secret, [`${timestamp}.`, req.rawBody]);
  mismatchUnless(anyConstantTimeEqual(expected, candidates));
  checkTimestamp(timestamp, "the timestamp in 'stripe-signature'", nowMs, toleranceMs);
}

/** Candidates of the form `<prefix><signature>` from every value of a header. */
function prefixedCandidates(values: readonly string[], prefix: string, encoding: 'hex' | 'base64'): Buffer[] {
  return values.flatMap((value) => {
    if (!value.startsWith(prefix)) return [];
    const decoded = decodeSignature(value.slice(prefix.length), encoding);
    return decoded ? [decoded] : [];
  });
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex>` of the body. */
function verifyGithub(req: VerifyRequest, secret: string): void {
  const values = requiredHeaderValues(req.headers, 'x-hub-signature-256');
  const expected = hmacDigest('sha256', secret, [req.rawBody]);
  mismatchUnless(anyConstantTimeEqual(expected, prefixedCandidates(values, 'sha256=', 'hex')));
}

/** Shopify: `X-Shopify-Hmac-Sha256: <base64>` of the body. */
function verifyShopify(req: VerifyRequest, secret: string): void {
  const values = requiredHeaderValues(req.headers, 'x-shopify-hmac-sha256');
  const expected = hmacDigest('sha256', secret, [req.rawBody]);
  mismatchUnless(anyConstantTimeEqual(expected, prefixedCandidates(values, '', 'base64')));
}

/** Slack: `X-Slack-Signature: v0=<hex>` of `v0:${X-Slack-Request-Timestamp}:${body}`. */
function verifySlack(req: VerifyRequest, secret: string, nowMs: number, toleranceMs: number): void {
  const values = requiredHeaderValues(req.headers, 'x-slack-signature');
  const timestamp = singleHeader(req.headers, 'x-slack-request-timestamp');
  const expected = hmacDigest('sha256', secret, [`v0:${timestamp}:`, req.rawBody]);
  mismatchUnless(anyConstantTimeEqual(expected, prefixedCandidates(values, 'v0=', 'hex')));
  checkTimestamp(timestamp, "header 'x-slack-request-timestamp'", nowMs, toleranceMs);
}
