import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiMetrics } from '@hookflow/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IngressOpenApi } from './ingress.openapi';
import { admissionOf, requestHead } from './ingress-hooks';
import { IngressService } from './ingress.service';

/** `ANY /hooks/:key`: public, no API key; the trigger's own checks apply. */
@Controller('hooks')
export class IngressController {
  constructor(
    private readonly ingress: IngressService,
    private readonly metrics: ApiMetrics,
  ) {}

  @All(':key')
  @IngressOpenApi()
  async receive(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const stopTimer = this.metrics.ingestDuration.startTimer();
    try {
      const res = await this.ingress.receive(
        {
          ...requestHead(req),
          rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
          gone: () => closedSignal(reply),
        },
        admissionOf(req),
      );
      await reply.status(res.status).headers(res.headers).send(res.body);
    } finally {
      // Refusals thrown here are answered by the error filter right after; close enough for latency.
      stopTimer();
    }
  }
}

/** Aborts when the response's connection closes before it was sent: the sender left. */
function closedSignal(reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  if (reply.raw.closed) gone.abort();
  else reply.raw.once('close', () => gone.abort());
  return gone.signal;
}
