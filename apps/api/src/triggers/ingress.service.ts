import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventRepository, HOOKFLOW_CONFIG, RunRepository, type HookflowConfig } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { parseWebhookBody } from './body-parser';
import { StepEnqueuer } from './step-enqueuer';
import { TriggerCache, type TriggerEntry } from './trigger-cache';

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
    private readonly events: EventRepository,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  private readonly logger = new Logger(IngressService.name);

  async receive(req: IncomingRequest): Promise<IngressResponse> {
    const trigger = await this.triggers.get(req.key);
    if (!trigger) throw new AppError(ErrorCode.NotFound, 'no trigger with this key');
    try {
      return await this.accept(trigger, req);
    } catch (err) {
      if (err instanceof AppError) await this.recordRefusal(trigger, req, err);
      throw err;
    }
  }

  /** Refusals are kept for the inspector (bounded per flow); recording one never changes the answer. */
  private async recordRefusal(trigger: TriggerEntry, req: IncomingRequest, error: AppError): Promise<void> {
    try {
      await this.events.recordRefused({
        flowId: trigger.flowId,
        method: req.method,
        headers: storedHeaders(req.headers),
        query: req.query,
        rawBody: req.rawBody,
        contentType: headerValue(req.headers['content-type']) ?? null,
        sourceIp: req.sourceIp,
        receivedAt: new Date(),
        statusCode: error.status,
        reason: error.code,
      });
    } catch (err) {
      this.logger.warn(
        `could not record a refused request for flow ${trigger.slug}: ${(err as Error).message}`,
      );
    }
  }

  private async accept(trigger: TriggerEntry, req: IncomingRequest): Promise<IngressResponse> {
    if (!trigger.methods.has(req.method)) {
      throw new AppError(
        ErrorCode.MethodNotAllowed,
        `this trigger accepts ${[...trigger.methods].join(', ')}, not ${req.method}`,
        [],
        { allow: [...trigger.methods].join(', ') },
      );
    }
    if (!trigger.enabled) throw new AppError(ErrorCode.FlowDisabled, `flow '${trigger.slug}' is disabled`);
    if (trigger.definition.trigger.verify) {
      // Fail closed: a trigger that asks for signature checks must never accept unchecked requests.
      // 501 is retryable for senders, so their deliveries go through once verification is available.
      throw new AppError(
        ErrorCode.VerificationUnavailable,
        `this trigger requires '${trigger.definition.trigger.verify.scheme}' verification, which this server cannot perform yet`,
      );
    }
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
