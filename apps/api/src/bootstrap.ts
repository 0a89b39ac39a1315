import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { MAX_FLOW_TEXT_BYTES } from '@hookflow/flows';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { createHookflowLogger, type HookflowConfig, type LogDestination } from '@hookflow/platform';
import { selectQueueBackend } from '@hookflow/queue';
import { ApiModule } from './api.module';
import { authenticateBeforeBody } from './common/api-key.guard';
import { AppError, ErrorCode } from './common/app-error';
import { createOpenApiDocument, serveOpenApi } from './common/openapi.document';
import { RequestBodyCheck } from './common/request-body-check';
import { refuseUnstorableBody } from './common/request-text';
import { manualRunBodyLimit } from './flows/manual-run-request';
import { ApiKeyVerifier } from './keys/api-key-verifier';
import { SessionsService } from './session/sessions.service';
import { registerIngressHooks } from './triggers/ingress-hooks';
import { registerWebUi, webRoot } from './web/web-ui';

/** Builds the API app (not yet listening). Bodies arrive raw: ingress verifies and parses them itself. */
export async function createApiApp(
  config: HookflowConfig,
  options: { logDestination?: LogDestination } = {},
): Promise<NestFastifyApplication> {
  const queue = selectQueueBackend(config, 'api');
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    // Secret names may be 128 characters (SECRET_NAME_PATTERN); fastify's default stops at 100.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    // URLs Fastify refuses before routing get the API's own error body too.
    frameworkErrors: (error: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const refusal = urlRefusal(error);
      void reply.status(refusal.status).send(refusal.toJSON());
    },
    // Only behind a reverse proxy that sets it may X-Forwarded-For name the client (allowIps).
    trustProxy: config.trustProxy,
    // Node's own hard cap (431) stays above ingress's MAX_HEADER_BYTES, which answers in JSON.
    http: { maxHeaderSize: Math.max(16 * 1024, config.maxHeaderBytes + 4096) },
  });
  const app = await NestFactory.create<NestFastifyApplication>(ApiModule.forRoot(config, queue), adapter, {
    logger: createHookflowLogger({
      app: 'api',
      level: config.logLevel,
      format: config.logFormat,
      destination: options.logDestination,
    }),
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  // Routes are registered when the app initialises, after this hook is in place.
  const authenticate = authenticateBeforeBody(() => ({
    verifier: app.get(ApiKeyVerifier),
    sessions: app.get(SessionsService),
  }));
  fastify.addHook('onRoute', (route) => {
    const limit = flowsBodyLimit(route.url, config);
    if (limit !== undefined) route.bodyLimit = limit;
    if (route.url === SESSION_ROUTE) route.bodyLimit = SESSION_BODY_BYTES;
    if (isManagementRoute(route.url)) route.onRequest = [authenticate, ...[route.onRequest ?? []].flat()];
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    // By route, not by raw URL: `/%68ooks/<key>` routes to ingress too and must keep its raw bytes.
    if (req.routeOptions.url === '/hooks/:key') return done(null, body);
    if (body.length === 0) return done(null, undefined);
    const text = body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      const err = Object.assign(new Error('request body must be valid JSON'), {
        statusCode: 400,
        code: 'FST_ERR_CTP_INVALID_JSON',
      });
      return done(err, undefined);
    }
    try {
      refuseUnstorableBody(text, parsed, DRY_RUN_ROUTES.has(req.routeOptions.url ?? '') ? SAMPLE_FIELDS : []);
    } catch (err) {
      return done(err as Error, undefined);
    }
    done(null, parsed);
  });
  registerIngressHooks(app);
  await registerWebUi(app, webRoot(config));
  // The document says which fields each body may have; the check refuses the others.
  const document = createOpenApiDocument(app);
  app.get(RequestBodyCheck).load(document);
  serveOpenApi(app, document);
  // No enableShutdownHooks: main.ts's stopGracefully owns SIGTERM and SIGINT, and no other signal is
  // trapped, so a V8 fatal error (SIGTRAP, SIGABRT) ends the process instead of hanging in a handler.
  return app;
}

/** A dry run's sample request is webhook data, which ingress stores sanitised, not refused. */
const DRY_RUN_ROUTES = new Set(['/api/flows/test', '/api/flows/:slug/test']);
const SAMPLE_FIELDS = ['body', 'query', 'headers'];

/** The routes behind an API key or a session: all of /api but its OpenAPI document and sign-in. */
function isManagementRoute(url: string): boolean {
  return url.startsWith('/api/') && !url.startsWith('/api/docs') && url !== SESSION_ROUTE;
}

/** Sign-in reads its key from the body, which holds nothing else. */
const SESSION_ROUTE = '/api/session';
const SESSION_BODY_BYTES = 4096;

/** A sync carries many flow files at once (all or nothing); a bigger set can be synced by folder. */
const MAX_SYNC_BODY_BYTES = 16 * 1024 * 1024;

/** Flow endpoints' body limit apart from MAX_BODY_BYTES: a definition (plus a sample), a sync, a manual run. */
function flowsBodyLimit(url: string, config: HookflowConfig): number | undefined {
  if (url !== '/api/flows' && !url.startsWith('/api/flows/')) return undefined;
  if (url === '/api/flows/sync') return MAX_SYNC_BODY_BYTES;
  if (url.endsWith('/test')) return MAX_FLOW_TEXT_BYTES + config.maxBodyBytes;
  if (url === '/api/flows/:slug/run') return manualRunBodyLimit(config);
  return MAX_FLOW_TEXT_BYTES;
}

const MAX_PATH_PARAM_CHARS = 200;

/** A URL Fastify could not route: a percent-escape that is not UTF-8, a path parameter too long. */
function urlRefusal(error: { code?: string; message: string }): AppError {
  if (error.code === 'FST_ERR_BAD_URL') {
    return new AppError(
      ErrorCode.InvalidRequest,
      'the URL path holds a percent-escape that is not UTF-8 text',
      [{ path: '', message: 'is not a valid URL path' }],
    );
  }
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return new AppError(
      ErrorCode.UriTooLong,
      `a path segment is longer than ${MAX_PATH_PARAM_CHARS} characters`,
      [{ path: '', message: `has a segment longer than ${MAX_PATH_PARAM_CHARS} characters` }],
    );
  }
  return new AppError(ErrorCode.Internal, 'internal error');
}

export function logStartup(config: HookflowConfig, backend: string): void {
  new Logger('Hookflow').log(
    `API listening on ${config.publicUrl} (queue on ${backend}); the management API takes the key ` +
      (config.apiKeyFile ? `in ${config.apiKeyFile}` : 'given in HOOKFLOW_API_KEY'),
  );
}
