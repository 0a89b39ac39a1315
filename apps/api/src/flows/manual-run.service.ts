import { Inject, Injectable } from '@nestjs/common';
import { credentialOf, planSteps, TRIGGER_METHODS, webhookOf, type VerifyConfig } from '@hookflow/flows';
import { ApiMetrics, HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { queuedRoots, StepQueue } from '@hookflow/queue';
import { EventRepository, FlowRepository, REFUSED_BODY_BYTES, RunIntake } from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { parseWebhookBody } from '../triggers/body-parser';
import { HeaderRedaction, redactNamed } from '../triggers/header-redaction';
import { QueueHealth } from '../triggers/queue-health';
import { parseManualRun } from './manual-run-request';
import { isUuid } from '../common/ids';

/** Refusals decided after the whole body was read: only these keep it (up to REFUSED_BODY_BYTES). */
const BODY_READ = new Set<string>([
  ErrorCode.SignatureMissing,
  ErrorCode.SignatureMismatch,
  ErrorCode.TimestampOutOfTolerance,
  ErrorCode.InvalidBody,
  ErrorCode.Unavailable,
  ErrorCode.QueueUnavailable,
  ErrorCode.DatabaseUnavailable,
]);

/** The status stored with a manual run's event: what the API answered. */
const ACCEPTED = 202;

/** A run started by hand: stored and queued as ingress does, whatever the flow's trigger. */
export interface ManualRun {
  runId: string;
  eventId: string;
}

/**
 * Starts a real run of a flow's current version on a request given over the API, disabled flows
 * included (as n8n runs a disabled workflow by hand); none of the trigger's checks apply.
 */
@Injectable()
export class ManualRunService {
  private readonly redaction: HeaderRedaction;

  constructor(
    private readonly flows: FlowRepository,
    private readonly runs: RunIntake,
    private readonly stepQueue: StepQueue,
    private readonly queueHealth: QueueHealth,
    private readonly metrics: ApiMetrics,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
    private readonly events: EventRepository,
  ) {
    this.redaction = new HeaderRedaction(config.sensitiveHeaders);
  }

  async start(slug: string, request: unknown, sourceIp: string | null): Promise<ManualRun> {
    const { body, rawBody, headers, query } = parseManualRun(request, this.config);
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    const { id: flowVersionId, definition } = record.version;
    const plan = planSteps(definition);
    // A webhook trigger's own credential stays out of storage here as at ingress; other triggers have none.
    const credential = credentialOf((webhookOf(definition)?.verify as VerifyConfig | undefined) ?? null);
    // Redis known down: 503 before anything is stored, as ingress answers.
    this.queueHealth.assertAvailable();
    // No dedupe key: a run asked for by hand is always a new run.
    const created = await this.runs.createRunFromEvent(
      {
        flowId: record.flow.id,
        flowVersionId,
        // No request reached the trigger, and steps may tell.
        method: TRIGGER_METHODS.manual,
        headers: redactNamed(this.redaction.redact(headers), credential.header),
        query: redactNamed(query, credential.query),
        body,
        rawBody,
        contentType: rawBody ? 'application/json' : null,
        sourceIp,
        receivedAt: new Date(),
        statusCode: ACCEPTED,
      },
      plan.steps,
    );
    if (created.duplicate) throw new Error(`a manual run of '${slug}' was taken for a duplicate`);
    const { runId, eventId } = created;
    // Never throws nor waits long: the run is committed, and what the queue lost the reconciler re-adds.
    await this.stepQueue.start(queuedRoots({ runId, flowVersionId }, plan.roots));
    this.metrics.manualRuns.inc({ flow: slug });
    return { runId, eventId };
  }

  /**
   * Starts a run of the flow's current version from a request its trigger refused, as the trigger
   * would have had it passed: the operator (write scope) asked, so the checks that refused it
   * (signature, rate limit...) are not run again. Only a request whose body was kept whole qualifies.
   */
  async replayRefused(slug: string, eventId: string): Promise<ManualRun> {
    const record = await this.flows.findBySlug(slug);
    if (!record) throw AppError.notFound(`flow '${slug}'`);
    const stored = isUuid(eventId) ? await this.events.findStored(record.flow.id, eventId) : null;
    if (!stored) throw AppError.notFound(`event '${eventId}' of flow '${slug}'`);
    if (!record.flow.enabled) {
      throw new AppError(
        ErrorCode.FlowDisabled,
        `flow '${slug}' is disabled; enable it to replay its requests`,
      );
    }
    if (stored.runId) {
      throw new AppError(
        ErrorCode.Conflict,
        `this request ${stored.accepted ? 'started' : 'was answered with'} run '${stored.runId}': replay that run (POST /api/runs/${stored.runId}/replay)`,
      );
    }
    if (stored.accepted)
      throw new AppError(ErrorCode.Conflict, 'this request was accepted and started no run');
    if (!BODY_READ.has(stored.reason ?? '') && !(stored.reason === ErrorCode.RateLimited && stored.rawBody)) {
      throw new AppError(
        ErrorCode.Conflict,
        `this request was refused (${stored.reason}) before its body was read, so its body was not kept`,
      );
    }
    if (stored.rawBody && stored.rawBody.length >= REFUSED_BODY_BYTES) {
      throw new AppError(
        ErrorCode.Conflict,
        `only the first ${REFUSED_BODY_BYTES} bytes of a refused body are kept; this one may be longer`,
      );
    }
    const { id: flowVersionId, definition } = record.version;
    const rawBody = stored.rawBody && stored.rawBody.length > 0 ? stored.rawBody : null;
    let body: unknown = null;
    if (stored.method !== 'GET' && stored.method !== 'HEAD') {
      try {
        body = parseWebhookBody(rawBody ?? Buffer.alloc(0), stored.contentType ?? undefined, this.config, {
          xmlArrays: webhookOf(definition)?.xmlArrays,
        });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        throw new AppError(ErrorCode.Conflict, `the stored body cannot be parsed: ${err.message}`);
      }
    }
    const plan = planSteps(definition);
    this.queueHealth.assertAvailable();
    // Headers and query were stored redacted, as ingress stores them; the run sees them so.
    const created = await this.runs.createRunFromEvent(
      {
        flowId: record.flow.id,
        flowVersionId,
        method: stored.method,
        headers: stored.headers,
        query: stored.query,
        body,
        rawBody,
        contentType: stored.contentType,
        sourceIp: stored.sourceIp,
        receivedAt: new Date(),
        statusCode: ACCEPTED,
      },
      plan.steps,
    );
    if (created.duplicate) throw new Error(`a replay of event '${eventId}' was taken for a duplicate`);
    const { runId, eventId: newEventId } = created;
    await this.stepQueue.start(queuedRoots({ runId, flowVersionId }, plan.roots));
    this.metrics.manualRuns.inc({ flow: slug });
    return { runId, eventId: newEventId };
  }
}
