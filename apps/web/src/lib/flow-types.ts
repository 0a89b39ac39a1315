/** Shapes of the flow routes' answers (docs/api.md#flows), as the flow pages read them. */
import type { FlowDefinition } from './types';

export interface FlowView {
  slug: string;
  name: string | null;
  description: string | null;
  version: number;
  enabled: boolean;
  triggerUrl: string | null;
  nextFireAt: string[] | null;
  source: string;
  definition: FlowDefinition;
  createdAt: string;
  updatedAt: string;
  warnings?: Issue[];
}

export interface Issue {
  path: string;
  message: string;
}

export interface FlowVersionItem {
  version: number;
  checksum: string;
  createdAt: string;
  current: boolean;
}

export interface FlowVersionView {
  version: number;
  checksum: string;
  createdAt: string;
  definition: FlowDefinition;
}

export interface InspectedEvent {
  id: string;
  method: string;
  headers: Record<string, string | string[]>;
  query?: Record<string, unknown>;
  bodyPreview: string | null;
  bodyBytes: number;
  contentType: string | null;
  sourceIp: string | null;
  receivedAt: string;
  statusCode: number;
  accepted: boolean;
  reason: string | null;
  runId: string | null;
}

export interface DryRunStep {
  id: string;
  type: string;
  status: string;
  input?: unknown;
  output?: unknown;
  error?: { code: string; message: string } | null;
  request?: unknown;
  routes?: string[];
  logs?: string[];
  items?: { index: number; status: string; steps: DryRunStep[] }[];
}

export interface DryRun {
  flow: string;
  dryRun: true;
  status: string;
  steps: DryRunStep[];
  response?: unknown;
}

export interface StepStatsAnswer {
  since: string;
  until: string;
  steps: StepCounts[];
}

export interface StepCounts {
  id: string;
  total: number;
  succeeded: number;
  failed: number;
  filtered: number;
  skipped: number;
  failureRate: number | null;
}
