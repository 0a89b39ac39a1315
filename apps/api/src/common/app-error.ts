/** Every error the API answers with has one of these codes (docs/api.md). */
export enum ErrorCode {
  InvalidRequest = 'invalid_request',
  InvalidFlow = 'invalid_flow',
  InvalidBody = 'invalid_body',
  Unauthorized = 'unauthorized',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  Conflict = 'conflict',
  FileManaged = 'file_managed',
  FlowDisabled = 'flow_disabled',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  UriTooLong = 'uri_too_long',
  Internal = 'internal_error',
  VerificationUnavailable = 'verification_unavailable',
  Unavailable = 'unavailable',
  QueueUnavailable = 'queue_unavailable',
  DatabaseUnavailable = 'database_unavailable',
  Forbidden = 'forbidden',
  InsufficientScope = 'insufficient_scope',
  CsrfTokenMissing = 'csrf_token_missing',
  CsrfTokenInvalid = 'csrf_token_invalid',
  OriginMismatch = 'origin_mismatch',
  RateLimited = 'rate_limited',
  HeadersTooLarge = 'headers_too_large',
  SignatureMissing = 'signature_missing',
  SignatureMismatch = 'signature_mismatch',
  TimestampOutOfTolerance = 'timestamp_out_of_tolerance',
}

const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.InvalidRequest]: 400,
  [ErrorCode.InvalidFlow]: 400,
  [ErrorCode.InvalidBody]: 400,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.MethodNotAllowed]: 405,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.FileManaged]: 409,
  [ErrorCode.FlowDisabled]: 409,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.UriTooLong]: 414,
  [ErrorCode.Internal]: 500,
  [ErrorCode.VerificationUnavailable]: 501,
  [ErrorCode.Unavailable]: 503,
  [ErrorCode.QueueUnavailable]: 503,
  [ErrorCode.DatabaseUnavailable]: 503,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.InsufficientScope]: 403,
  [ErrorCode.CsrfTokenMissing]: 403,
  [ErrorCode.CsrfTokenInvalid]: 403,
  [ErrorCode.OriginMismatch]: 403,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.HeadersTooLarge]: 431,
  [ErrorCode.SignatureMissing]: 401,
  [ErrorCode.SignatureMismatch]: 401,
  [ErrorCode.TimestampOutOfTolerance]: 401,
};

export interface ErrorDetail {
  /** The flow file a problem is in, for multi-file requests such as a sync. */
  file?: string;
  /** JSON pointer into the document (or the file) the problem is about. */
  path: string;
  message: string;
}

/** An error meant for the API's user: a code, a sentence, and where it applies. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetail[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return STATUS[this.code];
  }

  toJSON(): { error: string; message: string; details: ErrorDetail[] } {
    return { error: this.code, message: this.message, details: this.details };
  }

  static notFound(what: string): AppError {
    return new AppError(ErrorCode.NotFound, `${what} not found`);
  }

  static invalid(path: string, message: string): AppError {
    return new AppError(ErrorCode.InvalidRequest, `${path.slice(1) || 'request'} ${message}`, [
      { path, message },
    ]);
  }
}
