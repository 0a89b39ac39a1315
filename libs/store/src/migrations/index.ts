import { InitialSchema1764000000000 } from './1764000000000-initial-schema';
import { StepAttemptsBase1765000000000 } from './1765000000000-step-attempts-base';
import { SecretsAndApiKeys1766000000000 } from './1766000000000-secrets-and-api-keys';
import { IngressDedupeRateLimit1766100000000 } from './1766100000000-ingress-dedupe-rate-limit';
import { StepResumeAt1767000000000 } from './1767000000000-step-resume-at';
import { Retention1768000000000 } from './1768000000000-retention';
import { RunStepsVersion1769000000000 } from './1769000000000-run-steps-version';
import { StepRowsHotUpdates1770000000000 } from './1770000000000-step-rows-hot-updates';
import { StepRequeues1771000000000 } from './1771000000000-step-requeues';
import { ApiKeyScopes1771100000000 } from './1771100000000-api-key-scopes';
import { JsonKeepsOrder1772000000000 } from './1772000000000-json-keeps-order';
import { RouterRoutes1773000000000 } from './1773000000000-router-routes';
import { AttemptLogs1774000000000 } from './1774000000000-attempt-logs';
import { LoopItems1775000000000 } from './1775000000000-loop-items';
import { Polls1776000000000 } from './1776000000000-polls';
import { AttemptExchanges1777000000000 } from './1777000000000-attempt-exchanges';
import { ApiSessions1777200000000 } from './1777200000000-api-sessions';
import { RunSearch1777100000000 } from './1777100000000-run-search';
import { OpsEvents1777300000000 } from './1777300000000-ops-events';
import { Destinations1777400000000 } from './1777400000000-destinations';
import { OpsDeliveries1777500000000 } from './1777500000000-ops-deliveries';

/** Every migration, oldest first. Run at start by both apps (TypeORM serialises them with a lock table). */
export const MIGRATIONS = [
  InitialSchema1764000000000,
  StepAttemptsBase1765000000000,
  SecretsAndApiKeys1766000000000,
  IngressDedupeRateLimit1766100000000,
  StepResumeAt1767000000000,
  Retention1768000000000,
  RunStepsVersion1769000000000,
  StepRowsHotUpdates1770000000000,
  StepRequeues1771000000000,
  ApiKeyScopes1771100000000,
  JsonKeepsOrder1772000000000,
  RouterRoutes1773000000000,
  AttemptLogs1774000000000,
  LoopItems1775000000000,
  Polls1776000000000,
  AttemptExchanges1777000000000,
  ApiSessions1777200000000,
  RunSearch1777100000000,
  OpsEvents1777300000000,
  Destinations1777400000000,
  OpsDeliveries1777500000000,
];
