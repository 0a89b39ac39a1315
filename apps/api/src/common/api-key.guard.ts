import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeyVerifier } from '../keys/api-key-verifier';
import { AppError, ErrorCode } from './app-error';

/** Bearer-key auth for /api: the bootstrap `HOOKFLOW_API_KEY` or a key made with `POST /api/keys`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly verifier: ApiKeyVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !(await this.verifier.verify(match[1].trim()))) {
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
