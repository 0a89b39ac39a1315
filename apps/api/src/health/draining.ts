import { Injectable, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Server } from 'node:http';

/** How often a draining API closes the keep-alive connections whose request has been answered. */
const IDLE_SWEEP_MS = 100;

/** Stopping: readiness answers 503 and idle keep-alives are closed, lest they hold the server open. */
@Injectable()
export class Draining implements OnModuleDestroy, OnApplicationShutdown {
  private started = false;
  private sweep: NodeJS.Timeout | undefined;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  get active(): boolean {
    return this.started;
  }

  /** main.ts calls it on the signal, before Nest's shutdown hooks run. */
  begin(): void {
    if (this.started) return;
    this.started = true;
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (typeof server?.closeIdleConnections !== 'function') return;
    this.sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    this.sweep.unref();
  }

  /** The first of Nest's shutdown hooks, for a close that did not come from a signal. */
  onModuleDestroy(): void {
    this.begin();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }
}
