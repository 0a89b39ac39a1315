import { parseRequestBody, RequestBodyError, type BodyDepthLimits, type BodyOptions } from '@hookflow/flows';
import { AppError, ErrorCode } from '../common/app-error';

/** Parses by declared content type (see docs/flow-format.md#payloads-what-a-request-becomes); bad JSON or XML is a 400. */
export function parseWebhookBody(
  raw: Buffer,
  contentType: string | undefined,
  limits?: BodyDepthLimits,
  options?: BodyOptions,
): unknown {
  try {
    return parseRequestBody(raw, contentType, limits, options);
  } catch (err) {
    if (err instanceof RequestBodyError) {
      throw new AppError(ErrorCode.InvalidBody, err.message, [{ path: '/body', message: err.detail }]);
    }
    throw err;
  }
}
