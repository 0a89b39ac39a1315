import { Inject, Injectable } from '@nestjs/common';
import {
  compileFlow,
  parseRequestBody,
  RequestBodyError,
  runFlowInProcess,
  type BodyDepthLimits,
  type ConnectorRegistry,
  type FlowDefinition,
  tickBody,
  timedMethodOf,
  webhookOf,
} from '@hookflow/flows';
import { ExpressionSandbox } from '@hookflow/sandbox';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import { randomUUID } from 'node:crypto';
import { AppError } from '../common/app-error';
import { CONNECTOR_CATALOG } from '../common/tokens';

export interface TestRequest {
  body?: unknown;
  rawBody?: unknown;
  contentType?: unknown;
  headers?: unknown;
  query?: unknown;
  method?: unknown;
  dryRun?: unknown;
}

/** Dry-runs a flow on a sample request: renders actions, never sends (`hookflow test --live` does). */
@Injectable()
export class FlowTestService {
  constructor(
    @Inject(CONNECTOR_CATALOG) private readonly connectors: ConnectorRegistry,
    private readonly expressions: ExpressionSandbox,
    @Inject(HOOKFLOW_CONFIG) private readonly config: HookflowConfig,
  ) {}

  async run(definition: FlowDefinition, req: TestRequest) {
    if (req.dryRun === false) {
      throw AppError.invalid(
        '/dryRun',
        'must be true: the API renders actions without sending them; use `hookflow test --live` to send',
      );
    }
    const headers = objectOf(req.headers, '/headers');
    const query = objectOf(req.query, '/query');
    if (req.method !== undefined && typeof req.method !== 'string')
      throw AppError.invalid('/method', 'must be a string');
    const timedMethod = timedMethodOf(definition);
    if (timedMethod !== undefined && req.method !== undefined)
      throw AppError.invalid('/method', `a ${definition.trigger.type} trigger's runs have no HTTP method`);
    const method =
      timedMethod ??
      ((req.method as string | undefined) ?? webhookOf(definition)?.methods?.[0] ?? 'POST').toUpperCase();
    const lowerHeaders = Object.fromEntries(
      Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]),
    );
    const now = Date.now();
    // A schedule's runs get the tick's times; a sample may stand in for them, as for a polled item.
    const body =
      definition.trigger.type === 'schedule' && req.body === undefined && req.rawBody === undefined
        ? tickBody(now, now)
        : sampleBody(req, lowerHeaders, this.config, webhookOf(definition)?.xmlArrays);
    const flow = compileFlow(definition);
    const result = await runFlowInProcess(
      flow,
      {
        body,
        query,
        headers: lowerHeaders,
        method,
        receivedAt: new Date().toISOString(),
      },
      {
        connectors: this.connectors,
        expressions: this.expressions,
        budget: this.config.expressionBudget,
        dryRun: true,
        runId: `test-${randomUUID()}`,
      },
    );
    return { flow: definition.slug, dryRun: true, ...result };
  }
}

function objectOf(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw AppError.invalid(path, 'must be an object');
  return value as Record<string, unknown>;
}

/** `body` as given, or `rawBody` parsed as ingress parses a request of its type. */
function sampleBody(
  req: TestRequest,
  headers: Record<string, string>,
  limits: BodyDepthLimits,
  xmlArrays?: string[],
): unknown {
  if (req.rawBody === undefined) {
    if (req.contentType !== undefined) throw AppError.invalid('/contentType', 'only goes with rawBody');
    return req.body ?? null;
  }
  if (req.body !== undefined) throw AppError.invalid('/rawBody', 'give body or rawBody, not both');
  if (typeof req.rawBody !== 'string') throw AppError.invalid('/rawBody', 'must be a string');
  if (req.contentType !== undefined && typeof req.contentType !== 'string')
    throw AppError.invalid('/contentType', 'must be a string');
  const contentType = (req.contentType as string | undefined) ?? headers['content-type'];
  if (contentType !== undefined) headers['content-type'] = contentType;
  try {
    return parseRequestBody(Buffer.from(req.rawBody, 'utf8'), contentType, limits, { xmlArrays });
  } catch (err) {
    if (err instanceof RequestBodyError)
      throw AppError.invalid('/rawBody', err.message.replace(/^body /, ''));
    throw err;
  }
}
