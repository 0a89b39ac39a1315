/** Shapes of the REST API's answers, as docs/api.md describes them (only what the pages read). */

export type Scope = 'read' | 'write' | 'admin';
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'filtered' | 'cancelled';

export interface Session {
  scope: Scope;
  keyName?: string;
  csrfToken: string;
  expiresAt?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RunSummary {
  id: string;
  flow: string;
  status: RunStatus;
  eventId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  version?: number | null;
  durationMs?: number | null;
}

export interface Exchange {
  request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string | null;
    bodyBytes?: number;
    bodyTruncated?: boolean;
  } | null;
  response: {
    status: number;
    headers: Record<string, string>;
    body: string | null;
    bodyBytes?: number;
    bodyTruncated?: boolean;
    durationMs?: number;
  } | null;
}

export interface AttemptView extends Partial<Exchange> {
  n: number;
  startedAt: string;
  durationMs: number;
  outcome: 'succeeded' | 'filtered' | 'retrying' | 'failed';
  error: { code: string; message: string } | null;
  responseStatus: number | null;
  destination?: string | null;
  logs?: string[];
}

export interface StepView {
  id: string;
  status: string;
  input: unknown;
  output: unknown;
  routes?: string[];
  error: { code: string; message: string } | null;
  startedAt: string | null;
  finishedAt: string | null;
  resumeAt: string | null;
  attempts: AttemptView[];
  [key: string]: unknown;
}

export interface RunDetail {
  id: string;
  flow: string;
  version: number | null;
  status: RunStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  originRunId: string | null;
  event: {
    id: string;
    method: string;
    headers: Record<string, string>;
    query: Record<string, unknown>;
    body: unknown;
    contentType: string | null;
    sourceIp: string | null;
    receivedAt: string;
  } | null;
  steps: StepView[];
}

export interface FlowStep {
  id: string;
  type: string;
  name?: string;
  needs?: string[];
  join?: string;
  paths?: { name: string; when?: string }[];
  steps?: FlowStep[];
  [key: string]: unknown;
}

export interface FlowDefinition {
  slug: string;
  name?: string;
  description?: string;
  enabled?: boolean;
  trigger: { type: string; [key: string]: unknown };
  steps: FlowStep[];
  [key: string]: unknown;
}
