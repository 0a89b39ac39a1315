import { createHash, timingSafeEqual } from 'node:crypto';

/** Decides whether a request's `Authorization` header may read `/metrics`. */
export type MetricsAccess = (authorization: string | undefined) => boolean;

/** The `METRICS_TOKEN` check for both apps' `/metrics`, on digests in constant time; no token: open. */
export function metricsAccess(token: string | undefined): MetricsAccess {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const given = bearerToken(authorization);
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}

/** The token of an `Authorization: Bearer <token>` header; undefined for any other. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1].trim();
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
