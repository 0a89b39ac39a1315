import { All, Controller, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { IngressOpenApi } from './ingress.openapi';
import { admissionOf, requestHead } from './ingress-hooks';
import { IngressService } from './ingress.service';

/** `ANY /hooks/:key`: public, no API key; the trigger's own checks apply. */
@Controller('hooks')
export class IngressController {
  constructor(private readonly ingress: IngressService) {}

  @All(':key')
  @IngressOpenApi()
  async receive(@Req() req: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const res = await this.ingress.receive(
      { ...requestHead(req), rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0) },
      admissionOf(req),
    );
    await reply.status(res.status).headers(res.headers).send(res.body);
  }
}
