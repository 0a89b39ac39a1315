import { jest } from '@jest/globals';
import { ApiMetrics, loadConfig } from '@hookflow/platform';
import { createHmac } from 'node:crypto';
import { compileTrigger, type TriggerDef } from '@hookflow/flows';
import { AppError } from '../common/app-error';
import { IngressService, type IncomingRequest } from './ingress.service';
import type { TriggerEntry } from './trigger-cache';
import { VerifyFailures } from './verify-failures';

const SECRET = 'unit-signing-secret';
const config = loadConfig({
  DATABASE_URL: 'postgres://unit@127.0.0.1/unit',
  HOOKFLOW_API_KEY: 'unit-test-api-key-0000',
  VERIFY_FAILURE_LIMIT: '3/1m',
});

function trigger(overrides: Partial<TriggerEntry> = {}): TriggerEntry {
  return {
    triggerId: 't1',
    flowId: 'f1',
    slug: 'unit',
    enabled: true,
    versionId: 'v1',
    version: 1,
    methods: new Set(['POST']),
    maxBodyBytes: 1024 * 1024,
    reply: compileTrigger({ slug: 'unit', trigger: { type: 'webhook' }, steps: [] }).reply,
    verify: { scheme: 'hmac', secret: 'SIGNING', header: 'X-Signature' } as never,
    credential: { header: 'x-signature' },
    steps: [],
    roots: [],
    allowIps: null,
    rateLimit: { limit: 1, windowMs: 60_000 },
    dedupeKey: null,
    ...overrides,
  };
}

/** IngressService over fakes of what it reads and writes; the failure counter is the real one. */
function newIngress(entry: TriggerEntry) {
  const mocks = {
    triggers: { get: jest.fn(async () => entry) },
    runs: {
      createRunFromEvent: jest.fn(async (): Promise<Record<string, unknown>> => ({
        duplicate: false,
        runId: 'r1',
        eventId: 'e1',
      })),
    },
    enqueuer: { enqueueRoots: jest.fn(async () => undefined) },
    events: { recordRefused: jest.fn(async () => undefined) },
    rateLimits: {
      hit: jest.fn(async () => ({ count: 1, resetInMs: 1_000 })),
      peek: jest.fn(async () => ({ count: 0, resetInMs: 1_000 })),
    },
    secrets: { resolve: jest.fn(async (): Promise<string | undefined> => SECRET) },
    queueHealth: { assertAvailable: jest.fn() },
  };
  const sut = new IngressService(
    mocks.triggers as never,
    mocks.runs as never,
    mocks.enqueuer as never,
    mocks.events as never,
    mocks.rateLimits as never,
    mocks.secrets as never,
    new ApiMetrics(),
    config,
    mocks.queueHealth as never,
    new VerifyFailures(config),
  );
  return { sut, mocks };
}

function request(body: string, signature?: string, sourceIp = '198.51.100.1'): IncomingRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-signature'] = signature;
  return {
    key: 'k',
    method: 'POST',
    headers,
    rawHeaders: Object.entries(headers).flat(),
    query: {},
    sourceIp,
    rawBody: Buffer.from(body),
  };
}

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

/** Runs both halves as the Fastify hook and the controller do; the refusal's status or the answer's. */
async function deliver(sut: IngressService, req: IncomingRequest): Promise<number> {
  try {
    return (await sut.receive(req, await sut.admit(req))).status;
  } catch (err) {
    if (err instanceof AppError) return err.status;
    throw err;
  }
}

describe('IngressService order', () => {
  it('counts the rate limit of a verifying trigger only for requests whose signature passed', async () => {
    const { sut, mocks } = newIngress(trigger());
    const body = '{"id":1}';
    for (let i = 0; i < 10; i++) {
      expect(await deliver(sut, request(body, sign(body, 'forged'), `198.51.100.${i + 10}`))).toBe(401);
    }
    expect(mocks.rateLimits.hit).not.toHaveBeenCalled();
    expect(await deliver(sut, request(body, sign(body)))).toBe(202);
    expect(mocks.rateLimits.hit).toHaveBeenCalledTimes(1);
  });

  it('refuses a full window before reading the body, without verifying or counting', async () => {
    const { sut, mocks } = newIngress(trigger());
    mocks.rateLimits.peek.mockResolvedValue({ count: 1, resetInMs: 2_500 });
    const refused = await sut.admit(request('')).catch((err: AppError) => err);
    expect(refused).toMatchObject({ code: 'rate_limited', headers: { 'retry-after': '3' } });
    expect(mocks.secrets.resolve).not.toHaveBeenCalled();
    expect(mocks.rateLimits.hit).not.toHaveBeenCalled();
  });

  it('refuses a verified request that finds the window filled meanwhile', async () => {
    const { sut, mocks } = newIngress(trigger());
    mocks.rateLimits.hit.mockResolvedValue({ count: 2, resetInMs: 1_000 });
    const body = '{}';
    expect(await deliver(sut, request(body, sign(body)))).toBe(429);
    expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
  });

  it('counts a trigger without verification before the body, as every request may start a run', async () => {
    const { sut, mocks } = newIngress(trigger({ verify: null }));
    await sut.admit(request(''));
    expect(mocks.rateLimits.hit).toHaveBeenCalledTimes(1);
    expect(mocks.rateLimits.peek).not.toHaveBeenCalled();
  });

  it('answers a source past its failed verifications 429 without recording it, and still accepts its genuine requests', async () => {
    const { sut, mocks } = newIngress(trigger({ rateLimit: null }));
    const body = '{}';
    for (let i = 0; i < 3; i++) expect(await deliver(sut, request(body, 'bad'))).toBe(401);
    expect(mocks.events.recordRefused).toHaveBeenCalledTimes(3);
    expect(await deliver(sut, request(body, 'bad'))).toBe(429);
    expect(mocks.events.recordRefused).toHaveBeenCalledTimes(3);
    expect(await deliver(sut, request(body, sign(body)))).toBe(202);
    expect(await deliver(sut, request(body, 'bad', '203.0.113.5'))).toBe(401);
  });

  it('does not count failures caused by a secret missing from the store', async () => {
    const { sut, mocks } = newIngress(trigger({ rateLimit: null }));
    mocks.secrets.resolve.mockResolvedValue(undefined);
    const body = '{}';
    for (let i = 0; i < 5; i++) expect(await deliver(sut, request(body, sign(body)))).toBe(401);
    mocks.secrets.resolve.mockResolvedValue(SECRET);
    expect(await deliver(sut, request(body, sign(body)))).toBe(202);
  });

  it('answers a duplicate with the configured respond, and records that status', async () => {
    const respond: TriggerDef['respond'] = { status: 200, body: 'OK', headers: { 'X-Ack': 'yes' } };
    const { reply } = compileTrigger({ slug: 'unit', trigger: { type: 'webhook', respond }, steps: [] });
    const { sut, mocks } = newIngress(trigger({ verify: null, rateLimit: null, reply }));
    mocks.runs.createRunFromEvent.mockResolvedValue({ duplicate: true, runId: 'r0' });
    const req = request('{}');
    expect(await sut.receive(req, await sut.admit(req))).toEqual({
      status: 200,
      headers: { 'x-ack': 'yes', 'content-type': 'text/plain; charset=utf-8' },
      body: 'OK',
    });
    expect(mocks.events.recordRefused).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'duplicate', statusCode: 200, runId: 'r0' }),
    );
  });
});
