import { Inject, Injectable } from '@nestjs/common';
import { credentialOf, planSteps, TRIGGER_METHODS, webhookOf, type VerifyConfig } from '@hookflow/flows';
import { ApiMetrics, HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { queuedRoots, StepQueue } from '@hookflow/queue';
import { FlowRepository, RunIntake } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { HeaderRedaction, redactNamed } from '../triggers/header-redaction';
import { QueueHealth } from '../triggers/queue-health';
import { parseManualRun } from './manual-run-request';

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
}
