import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { isDatabaseUnavailable } from '@hookflow/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from './app-error';

/** Maps every error to the JSON error body; anything unknown is logged and becomes a bare 500. */
@Catch()
export class AppErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const error = this.toAppError(exception, host);
    reply.status(error.status).headers(error.headers).send(error.toJSON());
  }

  private toAppError(exception: unknown, host: ArgumentsHost): AppError {
    if (exception instanceof AppError) return exception;
    const fastifyCode = (exception as { code?: string })?.code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE') return bodyTooLarge(host);
    if (typeof fastifyCode === 'string' && fastifyCode.startsWith('FST_ERR_CTP_')) {
      return new AppError(ErrorCode.InvalidBody, (exception as Error).message);
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      if (status === 404) return new AppError(ErrorCode.NotFound, 'no such route');
      if (status === 413) return bodyTooLarge(host);
      if (status < 500) return new AppError(ErrorCode.InvalidRequest, exception.message);
    }
    if (isDatabaseUnavailable(exception)) {
      // Retryable for the caller: a webhook sender tries again later.
      this.logger.warn(`database unavailable: ${(exception as Error).message}`);
      return new AppError(ErrorCode.DatabaseUnavailable, 'the database is unavailable; try again later', [], {
        'retry-after': '5',
      });
    }
    this.logger.error(
      exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
    );
    return new AppError(ErrorCode.Internal, 'internal error');
  }
}

/** Names the limit of the route (the flow endpoints have their own, see bootstrap.ts). */
function bodyTooLarge(host: ArgumentsHost): AppError {
  const limit = host.switchToHttp().getRequest<FastifyRequest>().routeOptions?.bodyLimit;
  if (limit === undefined) {
    return new AppError(ErrorCode.PayloadTooLarge, 'request body is larger than this server accepts');
  }
  return new AppError(
    ErrorCode.PayloadTooLarge,
    `request body is larger than the ${limit} bytes this endpoint accepts`,
  );
}
