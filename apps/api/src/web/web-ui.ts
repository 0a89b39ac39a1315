import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { HookflowConfig } from '@hookflow/platform';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { AppError, ErrorCode } from '../common/app-error';

/** Where the dashboard is served; `/` sends browsers there. */
const UI_PREFIX = '/ui';
const ASSETS = `${UI_PREFIX}/assets/`;

/** Every answer under /ui: the page loads nothing from elsewhere, is framed nowhere, leaks no URL. */
const UI_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};
/** Vite names assets by their content hash, so a URL's file never changes; the page itself always may. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** The dashboard's build folder: WEB_ROOT, else dist/apps/web beside the API's build. */
export function webRoot(config: HookflowConfig): string {
  if (config.webRoot !== undefined) return config.webRoot;
  // Built, this file is dist/apps/api/src/web/web-ui.js; under jest (ES modules, no `__dirname`) the built copy.
  const dir = typeof __dirname === 'string' ? __dirname : path.resolve('dist/apps/api/src/web');
  return path.resolve(dir, '..', '..', '..', 'web');
}

/**
 * Serves the dashboard (a single-page app) at /ui without an API key: its files, and index.html
 * for any other /ui path so the app's own routes survive a reload; /ui/assets/ never falls back.
 */
export async function registerWebUi(app: NestFastifyApplication, root: string): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/', (_req, reply) => reply.redirect(`${UI_PREFIX}/`, 302));
  await app.register(
    async (ui: FastifyInstance) => {
      ui.addHook('onRequest', async (_req, reply) => {
        void reply.headers(UI_HEADERS);
      });
      await ui.register(fastifyStatic, {
        root,
        prefix: '/',
        index: ['index.html'],
        // The folder may be built after the API starts; until then /ui answers 503.
        suppressWarning: true,
        dotfiles: 'ignore',
        cacheControl: false,
        setHeaders: (reply, file) => {
          const isAsset = path.relative(root, file).split(path.sep)[0] === 'assets';
          void reply.header('cache-control', isAsset ? IMMUTABLE : REVALIDATE);
        },
      });
      ui.setNotFoundHandler((req, reply) => fallback(req, reply, root));
    },
    { prefix: UI_PREFIX },
  );
}

/** A /ui path that is no file: index.html (the app routes it), but a missing asset is a plain 404. */
async function fallback(req: FastifyRequest, reply: FastifyReply, root: string): Promise<void> {
  const pathname = req.url.split('?')[0];
  if ((req.method !== 'GET' && req.method !== 'HEAD') || pathname.startsWith(ASSETS)) {
    return refuse(reply, AppError.notFound(`'${pathname.slice(0, 200)}'`));
  }
  if (!existsSync(path.join(root, 'index.html'))) {
    return refuse(
      reply,
      new AppError(
        ErrorCode.Unavailable,
        'the dashboard was not built: its index.html is missing (run npm run build, or set WEB_ROOT)',
      ),
    );
  }
  return reply.sendFile('index.html');
}

async function refuse(reply: FastifyReply, error: AppError): Promise<void> {
  await reply.status(error.status).header('cache-control', 'no-store').send(error.toJSON());
}
