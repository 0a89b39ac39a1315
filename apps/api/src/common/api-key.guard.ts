import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/store';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError, ErrorCode } from './app-error';

/**
 * Bearer-key auth for /api. Both sides are hashed before the constant-time compare, so neither
 * the key's content nor its length leaks through timing.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(HOOKFLOW_CONFIG) config: HookflowConfig) {
    this.expected = digest(config.apiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1].trim()), this.expected)) {
      throw new AppError(
        ErrorCode.Unauthorized,
        'a valid API key is required: Authorization: Bearer <key>',
        [],
        {
          'www-authenticate': 'Bearer',
        },
      );
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
