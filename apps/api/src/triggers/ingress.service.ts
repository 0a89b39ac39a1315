import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  acceptedReply,
  duplicateReply,
  verifyWebhook,
  type IngressResponse,
  type VerifyConfig,
  type VerifyFailureReason,
} from '@hookflow/flows';
import { ApiMetrics, HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { queuedRoots, StepQueue } from '@hookflow/queue';
import { EventRepository, OpsEventRepository, RateLimitRepository, RunIntake } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { SecretsService } from '../secrets/secrets.service';
import { parseWebhookBody } from './body-parser';
import { HeaderRedaction, headerValue, redactNamed } from './header-redaction';
import { QueueHealth } from './queue-health';
import { RespondWaits } from './respond-waits';
import { TriggerCache, type TriggerEntry } from './trigger-cache';
import { VerifyFailures } from './verify-failures';

/** What is known of a request before its body is read. */
export interface RequestHead {
  key: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  /** Node's `rawHeaders`: name, value, name, value... as received, repeats included. */
  rawHeaders: string[];
  query: Record<string, unknown>;
  sourceIp: string;
}

export interface IncomingRequest extends RequestHead {
  rawBody: Buffer;
  /** Aborts when the sender's connection closes: a request waiting for a respond step stops waiting. */
  gone?: () => AbortSignal;
}

/** A request that passed the checks made before its body is read, and the most body it may send. */
export interface Admission {
  trigger: TriggerEntry;
  bodyLimit: number;
}

const VERIFY_ERROR: Record<Exclude<VerifyFailureReason, 'secret_missing'>, ErrorCode> = {
  signature_missing: ErrorCode.SignatureMissing,
  signature_mismatch: ErrorCode.SignatureMismatch,
  timestamp_out_of_tolerance: ErrorCode.TimestampOutOfTolerance,
};

/** Webhook intake: `admit` runs the body-free checks, `receive` the rest (docs/architecture.md, Ingress). */
@Injectable()
export class IngressService {
  private readonly logger = new Logger(IngressService.name);
  private readonly redaction: HeaderRedaction;

  /** When this process last told of a refusal, per flow. */
  private readonly refusalToldAt = new Map<string, number>();

  constructor(
    private readonly triggers: TriggerCache,
    private readonly runs: RunIntake,
    private readonly stepQueue: StepQueue,
    private readonly events: EventRepository,
    private readonly rateLimits: RateLimitRepository,
    private readonly secrets: SecretsService,
    private readonly metrics: ApiMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
    private readonly queueHealth: QueueHealth,
    private readonly verifyFailures: VerifyFailures,
    private readonly respondWaits: RespondWaits,
    private readonly ops: OpsEventRepository,
  ) {
    this.redaction = new HeaderRedaction(config.sensitiveHeaders);
  }

  /** The checks that need no body. Throws the refusal (already recorded) as an `AppError`. */
  async admit(head: RequestHead): Promise<Admission> {
    const trigger = await this.triggers.get(head.key);
    // A schedule or a poll starts its own runs: the key it kept from a webhook past is no URL.
    if (!trigger || trigger.type !== 'webhook') {
      // No slug to name: unknown keys share one series rather than one per guessed key.
      this.metrics.webhooksReceived.inc({ flow: '', outcome: ErrorCode.NotFound });
      throw new AppError(ErrorCode.NotFound, 'no trigger with this key');
    }
    try {
      return await this.checkHead(trigger, head);
    } catch (err) {
      if (err instanceof AppError)
        await this.recordRefusal(trigger, { ...head, rawBody: Buffer.alloc(0) }, err);
      throw err;
    }
  }

  /** Handles a read body; without `admission` (not streamed through the hook) the checks run here. */
  async receive(req: IncomingRequest, admission?: Admission): Promise<IngressResponse> {
    const { trigger, bodyLimit } = admission ?? (await this.admit(req));
    try {
      return await this.accept(trigger, bodyLimit, req);
    } catch (err) {
      if (!(err instanceof AppError))
        this.metrics.webhooksReceived.inc({ flow: trigger.slug, outcome: 'error' });
      else if (UNRECORDED.has(err))
        this.metrics.webhooksReceived.inc({ flow: trigger.slug, outcome: err.code });
      else await this.recordRefusal(trigger, req, err);
      throw err;
    }
  }

  /** Refusals are kept for the inspector (bounded per flow); recording one never changes the answer. */
  async recordRefusal(trigger: TriggerEntry, req: IncomingRequest, error: AppError): Promise<void> {
    // Every refusal of a known trigger passes here (head checks, body too large while streaming, the rest).
    this.metrics.webhooksReceived.inc({ flow: trigger.slug, outcome: error.code });
    try {
      await this.events.recordRefused({
        flowId: trigger.flowId,
        method: req.method,
        // A header flood is refused, not stored whole.
        headers: redactNamed(
          this.redaction.redact(req.headers, this.config.maxHeaderCount),
          trigger.credential.header,
        ),
        query: redactNamed(req.query, trigger.credential.query),
        rawBody: req.rawBody,
        contentType: headerValue(req.headers['content-type']) ?? null,
        sourceIp: req.sourceIp,
        receivedAt: new Date(),
        statusCode: error.status,
        reason: error.code,
      });
      // At most one a minute per flow (the rest counted); one write a second per process at most,
      // so a flood of refusals does not queue on one row.
      const now = Date.now();
      if (now - (this.refusalToldAt.get(trigger.flowId) ?? 0) < 1_000) return;
      if (this.refusalToldAt.size > 10_000) this.refusalToldAt.clear();
      this.refusalToldAt.set(trigger.flowId, now);
      await this.ops.emitLimited('trigger.refused', trigger.flowId, {
        refusal: { status: error.status, code: error.code, message: error.message, method: req.method },
        inspectorUrl: `${this.config.publicUrl}/ui/flows/${trigger.slug}/events`,
      });
    } catch (err) {
      this.logger.warn({
        msg: `could not record a refused request: ${(err as Error).message}`,
        flow: trigger.slug,
      });
    }
  }

  private async checkHead(trigger: TriggerEntry, head: RequestHead): Promise<Admission> {
    if (!trigger.methods.has(head.method)) {
      throw new AppError(
        ErrorCode.MethodNotAllowed,
        `this trigger accepts ${[...trigger.methods].join(', ')}, not ${head.method}`,
        [],
        { allow: [...trigger.methods].join(', ') },
      );
    }
    if (!trigger.enabled) throw new AppError(ErrorCode.FlowDisabled, `flow '${trigger.slug}' is disabled`);
    this.checkHeaderSize(head.rawHeaders);

    const bodyLimit = Math.min(trigger.maxBodyBytes, this.config.maxBodyBytes);
    const declared = Number(headerValue(head.headers['content-length']));
    if (declared > bodyLimit) throw tooLarge(`body is ${declared} bytes`, bodyLimit);

    if (trigger.allowIps && !trigger.allowIps(head.sourceIp)) {
      throw new AppError(ErrorCode.Forbidden, `requests from ${head.sourceIp} may not call this trigger`);
    }
    // A verifying trigger counts a request once its signature passed (in `accept`); here a window
    // already full refuses at once, before the body is read.
    if (trigger.rateLimit) {
      await this.checkRateLimit(trigger.flowId, trigger.rateLimit, trigger.verify ? 'peek' : 'count');
    }
    return { trigger, bodyLimit };
  }

  /** `peek` refuses when the window is full without counting this request; `count` counts it too. */
  private async checkRateLimit(
    flowId: string,
    { limit, windowMs }: { limit: number; windowMs: number },
    mode: 'peek' | 'count',
  ): Promise<void> {
    const window =
      mode === 'count'
        ? await this.rateLimits.hit(flowId, windowMs)
        : await this.rateLimits.peek(flowId, windowMs);
    if (mode === 'count' ? window.count > limit : window.count >= limit) {
      throw rateLimited(`this trigger accepts ${limit} requests per ${windowMs} ms`, window.resetInMs);
    }
  }

  /** 431, not 413: RFC 6585's status for header fields, and what Node answers past `maxHeaderSize`. */
  private checkHeaderSize(rawHeaders: string[]): void {
    const count = rawHeaders.length / 2;
    if (count > this.config.maxHeaderCount) {
      throw new AppError(
        ErrorCode.HeadersTooLarge,
        `request has ${count} headers; at most ${this.config.maxHeaderCount} are accepted`,
      );
    }
    // Header strings are latin1 as Node decodes them: one character per byte.
    const bytes = rawHeaders.reduce((sum, s) => sum + s.length, 0);
    if (bytes > this.config.maxHeaderBytes) {
      throw new AppError(
        ErrorCode.HeadersTooLarge,
        `request headers are ${bytes} bytes; at most ${this.config.maxHeaderBytes} are accepted`,
      );
    }
  }

  private async accept(
    trigger: TriggerEntry,
    bodyLimit: number,
    req: IncomingRequest,
  ): Promise<IngressResponse> {
    // Already enforced while the body streamed in; this covers callers that read it some other way.
    if (req.rawBody.length > bodyLimit) throw tooLarge(`body is ${req.rawBody.length} bytes`, bodyLimit);
    if (trigger.verify) {
      await this.verify(trigger, trigger.verify, req);
      if (trigger.rateLimit) await this.checkRateLimit(trigger.flowId, trigger.rateLimit, 'count');
    }

    const contentType = headerValue(req.headers['content-type']);
    const body =
      req.method === 'GET' || req.method === 'HEAD'
        ? null
        : parseWebhookBody(req.rawBody, contentType, this.config, trigger);
    const headers = redactNamed(this.redaction.redact(req.headers), trigger.credential.header);
    const query = redactNamed(req.query, trigger.credential.query);
    const dedupeKey = await this.dedupeKey(trigger, req, body, headers, query);

    // Redis known down: 503 before anything is stored, rather than a 2xx for a run left to the reconciler.
    this.queueHealth.assertAvailable();
    const created = await this.runs.createRunFromEvent(
      {
        flowId: trigger.flowId,
        flowVersionId: trigger.versionId,
        method: req.method,
        headers,
        query,
        body,
        rawBody: req.rawBody.length > 0 ? req.rawBody : null,
        contentType: contentType ?? null,
        sourceIp: req.sourceIp,
        receivedAt: new Date(),
        statusCode: trigger.reply.status,
      },
      trigger.steps,
      dedupeKey === undefined ? undefined : { key: dedupeKey, windowMs: this.config.dedupeWindowMs },
    );
    if (created.duplicate) {
      this.metrics.webhooksReceived.inc({ flow: trigger.slug, outcome: 'duplicate' });
      const answer = duplicateReply(trigger.reply, created.runId);
      await this.recordDuplicate(trigger, req, {
        headers,
        query,
        runId: created.runId,
        status: answer.status,
      });
      return answer;
    }
    const { runId, eventId } = created;
    // Registered before the first steps are enqueued, so that no answer can come before it.
    const respondStep = trigger.respondStep;
    const answer = respondStep
      ? this.respondWaits.answerFor({ slug: trigger.slug, respondStep }, runId, req.gone?.())
      : null;
    // Never throws nor waits long: the run is committed, and what the queue lost the reconciler re-adds.
    await this.stepQueue.start(queuedRoots({ runId, flowVersionId: trigger.versionId }, trigger.roots));
    this.metrics.webhooksReceived.inc({ flow: trigger.slug, outcome: 'accepted' });
    return (await answer) ?? acceptedReply(trigger.reply, { runId, eventId });
  }

  /** Checks the signature; a missing secret is logged but answered as a mismatch, revealing nothing. */
  private async verify(trigger: TriggerEntry, verify: VerifyConfig, req: IncomingRequest): Promise<void> {
    let secret: string | undefined;
    try {
      secret = await this.secrets.resolve(verify.secret);
    } catch (err) {
      this.logger.error({
        msg: `secret '${verify.secret}' could not be read: ${(err as Error).message}`,
        flow: trigger.slug,
      });
      // 503 is retryable for senders: their deliveries go through once the store is readable.
      throw new AppError(ErrorCode.Unavailable, 'signature verification is unavailable; try again later');
    }
    const result = verifyWebhook(
      verify,
      { rawBody: req.rawBody, headers: req.headers, query: req.query },
      secret,
    );
    if (result.ok) return;
    if (result.reason === 'secret_missing') {
      // Not counted against the sender: the operator's to fix, and the sender must not wait once fixed.
      this.logger.warn({
        msg: `refusing the flow's requests: the secret '${verify.secret}' it verifies with is not in the secret store`,
        flow: trigger.slug,
      });
      throw new AppError(ErrorCode.SignatureMismatch, 'the signature does not match');
    }
    const over = this.verifyFailures.fail(trigger.flowId, req.sourceIp);
    if (over) {
      // Past its failures a source is answered 429 and no longer recorded: a flood writes nothing.
      const refusal = rateLimited(
        `${over.limit} requests from this address failed their signature check within ${over.perMs} ms`,
        over.waitMs,
      );
      UNRECORDED.add(refusal);
      throw refusal;
    }
    throw new AppError(VERIFY_ERROR[result.reason], result.message);
  }

  /** A failing dedupe expression is the author's bug: the request is accepted without dedupe. */
  private async dedupeKey(
    trigger: TriggerEntry,
    req: IncomingRequest,
    body: unknown,
    headers: Record<string, string | string[]>,
    query: Record<string, unknown>,
  ): Promise<string | undefined> {
    if (!trigger.dedupeKey) return undefined;
    try {
      return await trigger.dedupeKey({
        body,
        query,
        headers,
        method: req.method,
        rawHeaders: req.headers,
      });
    } catch (err) {
      this.logger.warn({
        msg: `dedupe key not computed (${(err as Error).message}); accepted without dedupe`,
        flow: trigger.slug,
      });
      return undefined;
    }
  }

  /** Duplicates start nothing but stay visible in the inspector, naming the run they repeat. */
  private async recordDuplicate(
    trigger: TriggerEntry,
    req: IncomingRequest,
    stored: {
      headers: Record<string, string | string[]>;
      query: Record<string, unknown>;
      runId: string;
      status: number;
    },
  ): Promise<void> {
    try {
      await this.events.recordRefused({
        flowId: trigger.flowId,
        method: req.method,
        headers: stored.headers,
        query: stored.query,
        rawBody: req.rawBody,
        contentType: headerValue(req.headers['content-type']) ?? null,
        sourceIp: req.sourceIp,
        receivedAt: new Date(),
        statusCode: stored.status,
        reason: 'duplicate',
        runId: stored.runId,
      });
    } catch (err) {
      this.logger.warn({
        msg: `could not record a duplicate: ${(err as Error).message}`,
        flow: trigger.slug,
        runId: stored.runId,
      });
    }
  }
}

export function tooLarge(what: string, limit: number): AppError {
  // Closing the connection stops the rest of an oversized body from being read at all.
  return new AppError(ErrorCode.PayloadTooLarge, `${what}; this trigger accepts at most ${limit}`, [], {
    connection: 'close',
  });
}

/** Refusals counted in the metrics but kept out of the inspector. */
const UNRECORDED = new WeakSet<AppError>();

function rateLimited(what: string, waitMs: number): AppError {
  const retryAfterS = Math.max(1, Math.ceil(waitMs / 1000));
  return new AppError(ErrorCode.RateLimited, `${what}; try again in ${retryAfterS} s`, [], {
    'retry-after': String(retryAfterS),
  });
}
