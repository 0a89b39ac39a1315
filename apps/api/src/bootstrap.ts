import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { MAX_FLOW_TEXT_BYTES } from '@hookflow/flows';
import {
  createHookflowLogger,
  selectQueueBackend,
  type HookflowConfig,
  type LogDestination,
} from '@hookflow/store';
import { ApiModule } from './api.module';
import { serveOpenApi } from './common/openapi.document';
import { registerIngressHooks } from './triggers/ingress-hooks';

/**
 * Builds the API application (not yet listening). Request bodies are read as raw bytes for
 * every content type: ingress keeps the exact bytes (signatures are computed over them) and
 * parses by content type itself; /api routes get JSON parsed here. The OpenAPI document and its
 * UI are served, without a key, at /api/docs.
 */
export async function createApiApp(
  config: HookflowConfig,
  options: { logDestination?: LogDestination } = {},
): Promise<NestFastifyApplication> {
  const queue = selectQueueBackend(config, 'api');
  const adapter = new FastifyAdapter({
    bodyLimit: config.maxBodyBytes,
    // Secret names may be 128 characters (SECRET_NAME_PATTERN); fastify's default stops at 100.
    routerOptions: { maxParamLength: 200 },
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
  fastify.addHook('onRoute', (route) => {
    const limit = flowsBodyLimit(route.url, config);
    if (limit !== undefined) route.bodyLimit = limit;
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    // By route, not by raw URL: `/%68ooks/<key>` routes to ingress too and must keep its raw bytes.
    if (req.routeOptions.url === '/hooks/:key') return done(null, body);
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch {
      const err = Object.assign(new Error('request body must be valid JSON'), {
        statusCode: 400,
        code: 'FST_ERR_CTP_INVALID_JSON',
      });
      done(err, undefined);
    }
  });
  registerIngressHooks(app);
  serveOpenApi(app);
  // No enableShutdownHooks: main.ts's stopGracefully owns SIGTERM and SIGINT, and no other signal is
  // trapped, so a V8 fatal error (SIGTRAP, SIGABRT) ends the process instead of hanging in a handler.
  return app;
}

/** A sync carries many flow files at once (all or nothing); a bigger set can be synced by folder. */
export const MAX_SYNC_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The body limit of the flow endpoints, whatever MAX_BODY_BYTES allows webhooks: one definition's
 * text (a dry run adds a sample request of up to MAX_BODY_BYTES), or a sync's set of files.
 */
export function flowsBodyLimit(url: string, config: HookflowConfig): number | undefined {
  if (url !== '/api/flows' && !url.startsWith('/api/flows/')) return undefined;
  if (url === '/api/flows/sync') return MAX_SYNC_BODY_BYTES;
  if (url.endsWith('/test')) return MAX_FLOW_TEXT_BYTES + config.maxBodyBytes;
  return MAX_FLOW_TEXT_BYTES;
}

export function logStartup(config: HookflowConfig, backend: string): void {
  new Logger('Hookflow').log(
    `API listening on ${config.publicUrl} (queue on ${backend}; management API needs the key in HOOKFLOW_API_KEY)`,
  );
}
