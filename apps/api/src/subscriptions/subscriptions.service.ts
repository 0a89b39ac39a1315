import { Injectable } from '@nestjs/common';
import { isOpsEventType, OPS_EVENT_TYPES, type OpsEventType } from '@hookflow/flows';
import {
  OpsDeliveryRepository,
  OpsSubscriptionRepository,
  SecretsUnavailableError,
  type OpsSubscription,
  type OpsSubscriptionInput,
} from '@hookflow/store';
import { AppError, ErrorCode } from '../common/app-error';
import { isUuid } from '../common/ids';

export const MAX_SUBSCRIPTION_URL_LENGTH = 2048;
export const MAX_SUBSCRIPTION_DESCRIPTION_LENGTH = 1000;
export const MAX_SUBSCRIPTION_FLOW_PATTERNS = 100;
/** A flow pattern: a slug where `*` stands for any run of characters (`orders-*`). */
export const FLOW_PATTERN = '^[a-z0-9*][a-z0-9*-]{0,62}$';
const FLOW_PATTERN_RE = new RegExp(FLOW_PATTERN);

type Body = Record<string, unknown>;

/** Operational webhook subscriptions behind `/api/subscriptions` (docs/alerts.md#operational-webhooks). */
@Injectable()
export class SubscriptionsService {
  constructor(
    private readonly subscriptions: OpsSubscriptionRepository,
    private readonly deliveries: OpsDeliveryRepository,
  ) {}

  /** Stores a subscription; its signing secret is in this answer only. */
  async create(raw: unknown): Promise<OpsSubscription & { secret: string }> {
    const body = objectOf(raw);
    if (body.url === undefined) throw AppError.invalid('/url', 'is required');
    if (body.events === undefined) throw AppError.invalid('/events', 'is required');
    const input: OpsSubscriptionInput = {
      url: '',
      events: [],
      flows: [],
      description: null,
      enabled: true,
      ...parseFields(body),
    };
    this.requireStore();
    const { subscription, secret } = await this.subscriptions.create(input);
    return { ...subscription, secret };
  }

  async list(): Promise<{ items: OpsSubscription[] }> {
    return { items: await this.subscriptions.list() };
  }

  async get(id: string): Promise<OpsSubscription> {
    return (isUuid(id) && (await this.subscriptions.get(id))) || notFound();
  }

  async update(id: string, raw: unknown): Promise<OpsSubscription> {
    const change = parseFields(objectOf(raw));
    if (!isUuid(id)) notFound();
    return (await this.subscriptions.update(id, change)) ?? notFound();
  }

  async delete(id: string): Promise<void> {
    if (!isUuid(id) || !(await this.subscriptions.delete(id))) notFound();
  }

  /** A new secret, at once in place of the old one; in this answer only. */
  async rotateSecret(id: string): Promise<{ id: string; secret: string }> {
    if (!isUuid(id)) notFound();
    this.requireStore();
    const secret = await this.subscriptions.rotateSecret(id);
    return secret === null ? notFound() : { id, secret };
  }

  async deliveriesOf(id: string, limit: number) {
    await this.get(id);
    return { items: await this.deliveries.recent(id, limit) };
  }

  private requireStore(): void {
    if (!this.subscriptions.available) {
      throw new AppError(
        ErrorCode.Unavailable,
        `${new SecretsUnavailableError().message}: a subscription's signing secret is stored encrypted`,
      );
    }
  }
}

function notFound(): never {
  throw AppError.notFound('subscription');
}

function objectOf(raw: unknown): Body {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw AppError.invalid('', 'must be a JSON object');
  return raw as Body;
}

/** The fields present in `body`, checked; 400 naming the first that is not valid. */
function parseFields(body: Body): Partial<OpsSubscriptionInput> {
  const out: Partial<OpsSubscriptionInput> = {};
  if (body.url !== undefined) out.url = parseUrl(body.url);
  if (body.events !== undefined) out.events = parseEvents(body.events);
  if (body.flows !== undefined) out.flows = parseFlows(body.flows);
  if (body.description !== undefined) {
    if (body.description !== null && typeof body.description !== 'string')
      throw AppError.invalid('/description', 'must be a string or null');
    if (typeof body.description === 'string' && body.description.length > MAX_SUBSCRIPTION_DESCRIPTION_LENGTH)
      throw AppError.invalid(
        '/description',
        `must be at most ${MAX_SUBSCRIPTION_DESCRIPTION_LENGTH} characters`,
      );
    out.description = body.description;
  }
  if (body.enabled !== undefined) {
    if (typeof body.enabled !== 'boolean') throw AppError.invalid('/enabled', 'must be true or false');
    out.enabled = body.enabled;
  }
  return out;
}

function parseUrl(value: unknown): string {
  if (typeof value !== 'string' || value === '') throw AppError.invalid('/url', 'must be a URL');
  if (value.length > MAX_SUBSCRIPTION_URL_LENGTH)
    throw AppError.invalid('/url', `must be at most ${MAX_SUBSCRIPTION_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw AppError.invalid('/url', 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw AppError.invalid('/url', 'must be an http or https URL');
  if (url.username !== '' || url.password !== '')
    throw AppError.invalid('/url', 'must not carry credentials; the signature authenticates the sender');
  return value;
}

function parseEvents(value: unknown): OpsEventType[] {
  if (!Array.isArray(value) || value.length === 0)
    throw AppError.invalid(
      '/events',
      `must be a non-empty list of event types (${OPS_EVENT_TYPES.join(', ')})`,
    );
  value.forEach((type, i) => {
    if (!isOpsEventType(type))
      throw AppError.invalid(`/events/${i}`, `must be one of ${OPS_EVENT_TYPES.join(', ')}`);
  });
  return [...new Set(value as OpsEventType[])];
}

function parseFlows(value: unknown): string[] {
  if (!Array.isArray(value)) throw AppError.invalid('/flows', 'must be a list of flow slugs or patterns');
  if (value.length > MAX_SUBSCRIPTION_FLOW_PATTERNS)
    throw AppError.invalid('/flows', `must have at most ${MAX_SUBSCRIPTION_FLOW_PATTERNS} patterns`);
  value.forEach((pattern, i) => {
    if (typeof pattern !== 'string' || !FLOW_PATTERN_RE.test(pattern))
      throw AppError.invalid(
        `/flows/${i}`,
        "must be a flow slug where * stands for any characters ('orders-*')",
      );
  });
  return [...new Set(value as string[])];
}
