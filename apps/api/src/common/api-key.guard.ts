import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { bearerToken } from '@hookflow/platform';
import { type ApiKeyScope } from '@hookflow/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { insufficientScope, scopeAllows, type ApiCaller } from '../keys/api-key-scope';
import { ApiKeyVerifier } from '../keys/api-key-verifier';
import { AppError, ErrorCode } from './app-error';
import { REQUIRED_SCOPE } from './openapi.decorators';

const callers = new WeakMap<FastifyRequest, ApiCaller>();

function unauthorized(): AppError {
  return new AppError(
    ErrorCode.Unauthorized,
    'a valid API key is required: Authorization: Bearer <key>',
    [],
    {
      'www-authenticate': 'Bearer',
    },
  );
}

async function callerOf(req: FastifyRequest, verifier: ApiKeyVerifier): Promise<ApiCaller | undefined> {
  const known = callers.get(req);
  if (known) return known;
  const token = bearerToken(req.headers.authorization);
  const caller = token === undefined ? undefined : await verifier.verify(token);
  if (caller) callers.set(req, caller);
  return caller;
}

/** Checks the key before the body is read, so nobody without one makes the API parse a body. */
export function authenticateBeforeBody(verifier: () => ApiKeyVerifier) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (await callerOf(req, verifier())) return;
    const refusal = unauthorized();
    await reply.status(refusal.status).headers(refusal.headers).send(refusal.toJSON());
  };
}

/** Bearer-key auth for /api: 401 without a valid key, 403 `insufficient_scope` below the route's scope. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = await callerOf(req, this.verifier);
    if (!caller) throw unauthorized();
    // A route without a declared scope is a mistake: it fails closed.
    const needed =
      this.reflector.get<ApiKeyScope | undefined>(REQUIRED_SCOPE, context.getHandler()) ?? 'admin';
    if (!scopeAllows(caller.scope, needed)) throw insufficientScope(caller, needed, 'this request');
    return true;
  }
}

/** The caller `ApiKeyGuard` admitted, as a handler parameter. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): ApiCaller => {
  const caller = callers.get(context.switchToHttp().getRequest<FastifyRequest>());
  if (!caller) throw new Error('@Caller() used on a route without ApiKeyGuard');
  return caller;
});
