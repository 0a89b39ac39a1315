import { Inject, Injectable } from '@nestjs/common';
import { HOOKFLOW_CONFIG, RunRepository, type HookflowConfig } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { parseWebhookBody } from './body-parser';
import { StepEnqueuer } from './step-enqueuer';
import { TriggerCache } from './trigger-cache';

export interface IncomingRequest {
  key: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, unknown>;
  rawBody: Buffer;
  sourceIp: string;
}

export interface IngressResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/**
 * Headers that carry credentials or signatures are never stored in clear (nor handed to steps):
 * by name, for the usual suspects (`authorization`, `cookie`, `x-api-key`, `stripe-signature`,
 * `x-hub-signature-256`, `x-shopify-hmac-sha256`, tokens, secrets, passwords, sessions).
 */
const SENSITIVE_HEADER =
  /authorization|cookie|token|secret|signature|hmac|api-?key|password|passwd|session|credential/i;

/**
 * The way in for webhooks: find the trigger, check the request, store event and run in one
 * statement, enqueue the first steps, answer. Nothing is acknowledged before it is committed.
 */
@Injectable()
export class IngressService {
  constructor(
    private readonly triggers: TriggerCache,
    private readonly runs: RunRepository,
    private readonly enqueuer: StepEnqueuer,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async receive(req: IncomingRequest): Promise<IngressResponse> {
    const trigger = await this.triggers.get(req.key);
    if (!trigger) throw new AppError(ErrorCode.NotFound, 'no trigger with this key');
    if (!trigger.methods.has(req.method)) {
      throw new AppError(
        ErrorCode.MethodNotAllowed,
        `this trigger accepts ${[...trigger.methods].join(', ')}, not ${req.method}`,
        [],
        { allow: [...trigger.methods].join(', ') },
      );
    }
    if (!trigger.enabled) throw new AppError(ErrorCode.FlowDisabled, `flow '${trigger.slug}' is disabled`);
    const limit = Math.min(trigger.maxBodyBytes, this.config.maxBodyBytes);
    if (req.rawBody.length > limit) {
      throw new AppError(
        ErrorCode.PayloadTooLarge,
        `body is ${req.rawBody.length} bytes; this trigger accepts at most ${limit}`,
      );
    }
    const contentType = headerValue(req.headers['content-type']);
    const body =
      req.method === 'GET' || req.method === 'HEAD' ? null : parseWebhookBody(req.rawBody, contentType);

    const { runId, eventId } = await this.runs.createRunFromEvent(
      {
        flowId: trigger.flowId,
        flowVersionId: trigger.versionId,
        method: req.method,
        headers: storedHeaders(req.headers),
        query: req.query,
        body,
        rawBody: req.rawBody.length > 0 ? req.rawBody : null,
        contentType: contentType ?? null,
        sourceIp: req.sourceIp,
        receivedAt: new Date(),
        statusCode: trigger.respondStatus,
      },
      trigger.steps,
    );
    await this.enqueuer.enqueueRoots(runId, trigger.roots);
    return {
      status: trigger.respondStatus,
      headers: trigger.respondHeaders,
      body: trigger.respondBody === undefined ? { runId, eventId } : trigger.respondBody,
    };
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function storedHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SENSITIVE_HEADER.test(name) ? '[redacted]' : value;
  }
  return out;
}
