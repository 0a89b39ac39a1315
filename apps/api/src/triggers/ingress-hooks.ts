import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { REFUSED_BODY_BYTES } from '@hookflow/store';
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { AppError } from '../common/app-error';
import { IngressService, tooLarge, type Admission, type RequestHead } from './ingress.service';

const HOOK_ROUTE = '/hooks/:key';

const admissions = new WeakMap<IncomingMessage, Admission>();

/** What the preParsing hook decided about a request, for the ingress controller. */
export function admissionOf(req: FastifyRequest): Admission | undefined {
  return admissions.get(req.raw);
}

/** The request as ingress sees it before the body. */
export function requestHead(req: FastifyRequest): RequestHead {
  return {
    key: (req.params as { key: string }).key,
    method: req.method,
    headers: req.headers,
    rawHeaders: req.raw.rawHeaders,
    query: (req.query ?? {}) as Record<string, unknown>,
    sourceIp: req.ip,
  };
}

/** Body-free ingress checks before Fastify reads the body; caps the body at the trigger's own limit. */
export function registerIngressHooks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const ingress = app.get(IngressService);
  fastify.addHook('preParsing', async (req, reply, payload) => {
    if (req.routeOptions.url !== HOOK_ROUTE) return payload;
    const head = requestHead(req);
    let admission: Admission;
    try {
      admission = await ingress.admit(head);
    } catch (err) {
      // Whatever body follows is not wanted: closing spares reading it just to throw it away.
      if (hasBody(req)) void reply.header('connection', 'close');
      throw err;
    }
    admissions.set(req.raw, admission);
    return limitBody(payload, admission.bodyLimit, (start, seen) => {
      const error = tooLarge(`body is over ${seen} bytes`, admission.bodyLimit);
      void ingress.recordRefusal(admission.trigger, { ...head, rawBody: start }, error);
      return error;
    });
  });
}

function hasBody(req: FastifyRequest): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0;
}

/** Passes the body through until it exceeds `limit`, then fails with `refuse`'s error and reads no more. */
function limitBody(
  source: Readable,
  limit: number,
  refuse: (start: Buffer, seen: number) => AppError,
): Readable {
  let seen = 0;
  const start: Buffer[] = [];
  let kept = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (kept < REFUSED_BODY_BYTES) {
        start.push(chunk.subarray(0, REFUSED_BODY_BYTES - kept));
        kept += Math.min(chunk.length, REFUSED_BODY_BYTES - kept);
      }
      if (seen > limit) {
        source.unpipe(limited);
        const error = refuse(Buffer.concat(start), seen);
        // Fastify keeps a stream error's status when it carries one.
        callback(Object.assign(error, { statusCode: error.status }));
        return;
      }
      callback(null, chunk);
    },
  });
  source.on('error', (err) => limited.destroy(err));
  return source.pipe(limited);
}
