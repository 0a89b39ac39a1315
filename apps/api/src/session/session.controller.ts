import { Body, Controller, Delete, Get, HttpCode, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestBodyCheck } from '../common/request-body-check';
import { SessionOpenApi } from './session.openapi';
import { SessionsService, type SessionInfo } from './sessions.service';

/** Browser sign-in; not behind `ApiKeyGuard`: these routes read the key or the cookie themselves. */
@Controller('api/session')
@ApiTags('session')
@UseInterceptors(RequestBodyCheck)
export class SessionController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @SessionOpenApi.signIn()
  @HttpCode(200)
  async signIn(
    @Req() req: FastifyRequest,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionInfo> {
    const { info, cookie } = await this.sessions.signIn(req, body);
    void reply.header('set-cookie', cookie).header('cache-control', 'no-store');
    return info;
  }

  @Get()
  @SessionOpenApi.current()
  async current(
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SessionInfo> {
    const info = await this.sessions.current(req);
    void reply.header('cache-control', 'no-store');
    return info;
  }

  @Delete()
  @SessionOpenApi.signOut()
  @HttpCode(204)
  async signOut(@Req() req: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    void reply.header('set-cookie', await this.sessions.signOut(req));
  }
}
