import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { bearerToken } from '@hookflow/platform';
import { type ApiKeyScope } from '@hookflow/store';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { insufficientScope, scopeAllows, type ApiCaller } from '../keys/api-key-scope';
import { ApiKeyVerifier } from '../keys/api-key-verifier';
import { SessionsService } from '../session/sessions.service';
import { AppError, ErrorCode } from './app-error';
import { REQUIRED_SCOPE } from './openapi.decorators';

const callers = new WeakMap<FastifyRequest, ApiCaller>();

function unauthorized(): AppError {
  return new AppError(
    ErrorCode.Unauthorized,
    'a valid API key is required: Authorization: Bearer <key>, or a session cookie from POST /api/session',
    [],
    {
      'www-authenticate': 'Bearer',
    },
  );
}

/** How a request may prove who it is: its bearer key, or else its session cookie. */
export interface Authenticators {
  verifier: ApiKeyVerifier;
  sessions: SessionsService;
}

/**
 * The request's caller; 401 without one, 403 for a cookie request from another site or without
 * its CSRF token. With an `Authorization` header only that header counts.
 */
async function callerOf(req: FastifyRequest, auth: Authenticators): Promise<ApiCaller> {
  const known = callers.get(req);
  if (known) return known;
  let caller: ApiCaller | undefined;
  if (req.headers.authorization !== undefined) {
    const token = bearerToken(req.headers.authorization);
    caller = token === undefined ? undefined : await auth.verifier.verify(token);
  } else {
    caller = await auth.sessions.callerOf(req);
  }
  if (!caller) throw unauthorized();
  callers.set(req, caller);
  return caller;
}

/** Checks the key or the session before the body is read, so nobody without one makes the API parse a body. */
export function authenticateBeforeBody(auth: () => Authenticators) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    try {
      await callerOf(req, auth());
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      await reply.status(err.status).headers(err.headers).send(err.toJSON());
    }
  };
}

/** Auth for /api by bearer key or session cookie: 401 without either, 403 `insufficient_scope` below the route's scope. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly verifier: ApiKeyVerifier,
    private readonly sessions: SessionsService,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const caller = await callerOf(req, { verifier: this.verifier, sessions: this.sessions });
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
