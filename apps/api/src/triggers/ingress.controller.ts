import { All, Controller, Param, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IngressService } from './ingress.service';

/** `ANY /hooks/:key`: public, no API key; the trigger's own checks apply. */
@Controller('hooks')
export class IngressController {
  constructor(private readonly ingress: IngressService) {}

  @All(':key')
  async receive(
    @Param('key') key: string,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const res = await this.ingress.receive({
      key,
      method: req.method,
      headers: req.headers,
      query: (req.query ?? {}) as Record<string, unknown>,
      rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
      sourceIp: req.ip,
    });
    await reply.status(res.status).headers(res.headers).send(res.body);
  }
}
