import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { FlowDefinition, StepDef, TriggerDef } from '@hookflow/flows';
import { InProcessEvaluator } from '@hookflow/flows/transform';
import { ApiMetrics, loadConfig } from '@hookflow/platform';
import type { AnswerEvents, AnswerMessage } from '@hookflow/queue';
import type {
  CreatedRun,
  DedupeClaim,
  IncomingEvent,
  RefusedRequest,
  StepPlan,
  TriggerTarget,
} from '@hookflow/store';
import { createHmac } from 'node:crypto';
import { AppError, ErrorCode } from '../common/app-error';
import { IngressService, type IncomingRequest } from './ingress.service';
import { RespondWaits } from './respond-waits';
import { TriggerCache } from './trigger-cache';
import { VerifyFailures } from './verify-failures';

const KEY = 'unit-trigger-key';
const SECRET = 'unit-signing-secret';
const SEND: StepDef = { id: 'send', type: 'action', connector: 'http', with: { url: 'https://example.com' } };

/** What the service logs for the operator, kept out of the test output. */
const logged = {
  warn: jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined),
  error: jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined),
};
beforeEach(() => {
  logged.warn.mockClear();
  logged.error.mockClear();
});

interface Setup {
  steps?: StepDef[];
  enabled?: boolean;
  env?: Record<string, string>;
  /** What the workers say about a run once its roots are enqueued (a respond step's end). */
  worker?: (runId: string) => AnswerMessage | undefined;
  /** Whether the answer channel is heard (default true). */
  listening?: boolean;
}

/**
 * IngressService as the API builds it, with its real trigger cache and the flow's trigger
 * compiled from a definition, over in-memory fakes of our repositories (Immich's newTestService):
 * each fake method is a jest.fn that does what the store would, and `calls` logs their order.
 */
function newTestService(trigger: Omit<TriggerDef, 'type'> = {}, setup: Setup = {}) {
  const config = loadConfig({
    DATABASE_URL: 'postgres://unit@127.0.0.1/unit',
    HOOKFLOW_API_KEY: 'unit-test-api-key-0000',
    VERIFY_FAILURE_LIMIT: '3/1m',
    ...setup.env,
  });
  const calls: string[] = [];
  const definition: FlowDefinition = {
    slug: 'unit',
    trigger: { type: 'webhook', ...trigger },
    steps: setup.steps ?? [SEND],
  };
  const target: TriggerTarget = {
    triggerId: 't1',
    flowId: 'f1',
    slug: 'unit',
    enabled: setup.enabled ?? true,
    versionId: 'v1',
    version: 1,
    definition,
  };
  const created: { event: IncomingEvent; steps: StepPlan[]; dedupe?: DedupeClaim }[] = [];
  const channel: { events?: AnswerEvents; listening: boolean; listen(events: AnswerEvents): Promise<void> } =
    {
      listening: setup.listening ?? true,
      listen: async (events) => {
        channel.events = events;
      },
    };
  const refused: RefusedRequest[] = [];
  const heldKeys = new Map<string, string>();
  const windows = new Map<string, number>();
  const mocks = {
    flows: {
      findTriggerTarget: jest.fn(async (key: string) => (key === KEY ? target : null)),
    },
    runs: {
      createRunFromEvent: jest.fn(
        async (event: IncomingEvent, steps: StepPlan[], dedupe?: DedupeClaim): Promise<CreatedRun> => {
          calls.push('store run');
          const holder = dedupe && heldKeys.get(dedupe.key);
          if (holder) return { duplicate: true, runId: holder };
          created.push({ event, steps, dedupe });
          const runId = `r${created.length}`;
          if (dedupe) heldKeys.set(dedupe.key, runId);
          return { duplicate: false, runId, eventId: `e${created.length}` };
        },
      ),
      created,
    },
    stepQueue: {
      start: jest.fn(async (steps: { runId: string }[]) => {
        // A queue round trip: the answer must wait for it.
        await new Promise((resolve) => setImmediate(resolve));
        calls.push('enqueue roots');
        // As fast as a worker could be: its message comes before the enqueue call returns.
        const message = setup.worker?.(steps[0].runId);
        if (message) channel.events?.heard(message);
        return true;
      }),
    },
    storedOutputs: {
      succeededOutput: jest.fn(async (runId: string, stepId: string): Promise<unknown> => {
        calls.push(`read ${runId} ${stepId}`);
        return { status: 201, headers: { 'content-type': 'text/plain' }, body: 'stored answer' };
      }),
    },
    events: {
      recordRefused: jest.fn(async (request: RefusedRequest) => {
        calls.push(`record ${request.reason}`);
        refused.push(request);
      }),
      refused,
    },
    rateLimits: {
      hit: jest.fn(async (flowId: string, _windowMs: number) => {
        calls.push('count rate limit');
        const count = (windows.get(flowId) ?? 0) + 1;
        windows.set(flowId, count);
        return { count, resetInMs: 1_000 };
      }),
      peek: jest.fn(async (flowId: string, _windowMs: number) => {
        calls.push('peek rate limit');
        return { count: windows.get(flowId) ?? 0, resetInMs: 1_000 };
      }),
    },
    secrets: {
      resolve: jest.fn(async (_name: string): Promise<string | undefined> => {
        calls.push('resolve secret');
        return SECRET;
      }),
    },
    queueHealth: {
      assertAvailable: jest.fn(() => {
        calls.push('queue available');
      }),
    },
    ops: {
      emitLimited: jest.fn(async (_type: string, _flowId: string, _data: unknown) => true),
    },
  };
  const metrics = new ApiMetrics();
  const triggers = new TriggerCache(mocks.flows as never, config, new InProcessEvaluator() as never);
  const respondWaits = new RespondWaits(channel as never, mocks.storedOutputs as never, metrics, config);
  void respondWaits.onModuleInit();
  const sut = new IngressService(
    triggers,
    mocks.runs as never,
    mocks.stepQueue as never,
    mocks.events as never,
    mocks.rateLimits as never,
    mocks.secrets as never,
    metrics,
    config,
    mocks.queueHealth as never,
    new VerifyFailures(config),
    respondWaits,
    mocks.ops as never,
  );
  /** Answers counted in the metrics, by outcome. */
  const outcomes = async () =>
    Object.fromEntries((await metrics.webhooksReceived.get()).values.map((v) => [v.labels.outcome, v.value]));
  /** Respond answers counted in the metrics, by outcome. */
  const respondOutcomes = async () =>
    Object.fromEntries((await metrics.respondAnswers.get()).values.map((v) => [v.labels.outcome, v.value]));
  return { sut, mocks, calls, outcomes, respondOutcomes, respondWaits, metrics };
}

interface RequestParts {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string | string[]>;
  query?: Record<string, unknown>;
  sourceIp?: string;
  key?: string;
}

function request(parts: RequestParts = {}): IncomingRequest {
  const headers = { 'content-type': 'application/json', ...parts.headers };
  return {
    key: parts.key ?? KEY,
    method: parts.method ?? 'POST',
    headers,
    rawHeaders: Object.entries(headers).flatMap(([name, value]) => [value].flat().flatMap((v) => [name, v])),
    query: parts.query ?? {},
    sourceIp: parts.sourceIp ?? '198.51.100.1',
    rawBody: Buffer.from(parts.body ?? ''),
  };
}

const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const signed = (body: string, extra: RequestParts = {}) =>
  request({ ...extra, body, headers: { 'x-signature': sign(body), ...extra.headers } });
const HMAC = { scheme: 'hmac', secret: 'SIGNING', header: 'X-Signature' } as const;

/** Both halves as the Fastify hook and the controller run them: the answer, or the refusal. */
async function deliver(sut: IngressService, req: IncomingRequest) {
  try {
    return await sut.receive(req, await sut.admit(req));
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

async function statusOf(sut: IngressService, req: IncomingRequest): Promise<number> {
  return (await deliver(sut, req)).status;
}

describe('IngressService', () => {
  describe('an accepted request', () => {
    it('is verified, parsed, stored with its steps, its roots enqueued, and only then answered', async () => {
      const { sut, mocks, calls } = newTestService(
        { verify: HMAC, rateLimit: { limit: 5, per: '1m' } },
        {
          steps: [
            { id: 'shape', type: 'transform', expression: '$' },
            { ...SEND, needs: ['shape'] },
          ],
        },
      );
      const answer = await deliver(sut, signed('{"id":7}', { query: { a: '1' } }));
      calls.push('answered');
      expect(answer).toEqual({
        status: 202,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: '{"runId":"r1","eventId":"e1"}',
      });
      expect(calls).toEqual([
        'peek rate limit',
        'resolve secret',
        'count rate limit',
        'queue available',
        'store run',
        'enqueue roots',
        'answered',
      ]);
      const [{ event, steps, dedupe }] = mocks.runs.created;
      expect(event).toMatchObject({
        flowId: 'f1',
        flowVersionId: 'v1',
        method: 'POST',
        body: { id: 7 },
        rawBody: Buffer.from('{"id":7}'),
        query: { a: '1' },
        contentType: 'application/json',
        sourceIp: '198.51.100.1',
        statusCode: 202,
      });
      expect(steps).toEqual([
        { id: 'shape', root: true },
        { id: 'send', root: false },
      ]);
      expect(dedupe).toBeUndefined();
      expect(mocks.stepQueue.start).toHaveBeenCalledWith([
        {
          runId: 'r1',
          flowVersionId: 'v1',
          stepId: 'shape',
          policy: { attempts: 1, backoff: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000 },
          timeoutMs: 30_000,
        },
      ]);
    });

    it("answers with the trigger's respond", async () => {
      const { sut } = newTestService({
        respond: { status: 200, body: { ok: true }, headers: { 'X-Ack': 'y' } },
      });
      expect(await deliver(sut, request({ body: '{}' }))).toEqual({
        status: 200,
        headers: { 'x-ack': 'y', 'content-type': 'application/json; charset=utf-8' },
        body: '{"ok":true}',
      });
    });

    it.each<[string, RequestParts, unknown]>([
      ['JSON', { body: '{"a":[1,2]}' }, { a: [1, 2] }],
      [
        'a form',
        { body: 'a=1&a=2&b=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        { a: ['1', '2'], b: 'x' },
      ],
      [
        'XML',
        { body: '<order id="3"><sku>x</sku></order>', headers: { 'content-type': 'application/xml' } },
        { order: { '@_id': '3', sku: 'x' } },
      ],
      ['text without a content type', { body: 'hello', headers: { 'content-type': '' } }, 'hello'],
      [
        'bytes that are not UTF-8',
        { body: Buffer.from([0xff, 0x00]), headers: { 'content-type': 'application/octet-stream' } },
        { base64: '/wA=' },
      ],
      ['nothing', { body: '' }, null],
      ['a GET, whatever it carries', { method: 'GET', body: '{"ignored":true}' }, null],
    ])('stores a body of %s as parsed', async (_name, parts, body) => {
      const { sut, mocks } = newTestService({ methods: ['GET', 'POST'] });
      expect(await statusOf(sut, request(parts))).toBe(202);
      expect(mocks.runs.created[0].event.body).toEqual(body);
    });

    it("never stores the trigger's own credential, nor a header whose name says it is one", async () => {
      const { sut, mocks } = newTestService({ verify: { scheme: 'token', secret: 'TOKEN', query: 'key' } });
      mocks.secrets.resolve.mockResolvedValue('t0ken');
      const req = request({
        body: '{}',
        query: { key: 't0ken', page: '2' },
        headers: { authorization: 'Basic abc', 'x-plain': 'v' },
      });
      expect(await statusOf(sut, req)).toBe(202);
      const { event } = mocks.runs.created[0];
      expect(event.query).toEqual({ key: '[redacted]', page: '2' });
      expect(event.headers).toMatchObject({ authorization: '[redacted]', 'x-plain': 'v' });
    });

    it("keeps a generic HMAC's signature header out of a refusal's record too, whatever its name", async () => {
      const { sut, mocks } = newTestService({ verify: { ...HMAC, header: 'X-Sig' } });
      await deliver(sut, request({ body: '{}', headers: { 'x-sig': 'forged', 'x-plain': 'v' } }));
      expect(mocks.events.refused).toMatchObject([
        { reason: ErrorCode.SignatureMismatch, headers: { 'x-sig': '[redacted]', 'x-plain': 'v' } },
      ]);
    });
  });

  describe('refusals before the body', () => {
    it('answers an unknown key 404 without recording it anywhere', async () => {
      const { sut, mocks, outcomes } = newTestService();
      expect(await statusOf(sut, request({ key: 'no-such-key' }))).toBe(404);
      expect(await statusOf(sut, request({ key: 'not a key\u0000' }))).toBe(404);
      expect(mocks.flows.findTriggerTarget).toHaveBeenCalledTimes(1);
      expect(mocks.events.recordRefused).not.toHaveBeenCalled();
      expect(await outcomes()).toEqual({ not_found: 2 });
    });

    it.each<[string, Omit<TriggerDef, 'type'>, Setup, RequestParts, ErrorCode, Record<string, string>]>([
      [
        'a method the trigger does not take',
        { methods: ['PUT', 'PATCH'] },
        {},
        {},
        ErrorCode.MethodNotAllowed,
        { allow: 'PUT, PATCH' },
      ],
      ['a disabled flow', {}, { enabled: false }, {}, ErrorCode.FlowDisabled, {}],
      [
        'more headers than MAX_HEADER_COUNT',
        {},
        { env: { MAX_HEADER_COUNT: '2' } },
        { headers: { a: '1', b: '2' } },
        ErrorCode.HeadersTooLarge,
        {},
      ],
      [
        'headers over MAX_HEADER_BYTES',
        {},
        { env: { MAX_HEADER_BYTES: '64' } },
        { headers: { 'x-long': 'x'.repeat(64) } },
        ErrorCode.HeadersTooLarge,
        {},
      ],
      [
        "a declared length over the trigger's limit",
        { maxBodyBytes: 10 },
        {},
        { headers: { 'content-length': '11' } },
        ErrorCode.PayloadTooLarge,
        { connection: 'close' },
      ],
      [
        "a declared length over the server's limit",
        {},
        { env: { MAX_BODY_BYTES: '10' } },
        { headers: { 'content-length': '11' } },
        ErrorCode.PayloadTooLarge,
        { connection: 'close' },
      ],
      [
        'a source outside allowIps',
        { allowIps: ['203.0.113.0/24'] },
        {},
        { sourceIp: '198.51.100.1' },
        ErrorCode.Forbidden,
        {},
      ],
      [
        'an address that is none',
        { allowIps: ['203.0.113.0/24'] },
        {},
        { sourceIp: 'unknown' },
        ErrorCode.Forbidden,
        {},
      ],
    ])('refuses %s, records it, and reads no body', async (_name, trigger, setup, parts, code, headers) => {
      const { sut, mocks, calls } = newTestService(trigger, setup);
      const refusal = await sut.admit(request(parts)).then(
        () => undefined,
        (err: AppError) => err,
      );
      expect(refusal).toMatchObject({ code, headers });
      expect(mocks.events.refused).toMatchObject([
        { flowId: 'f1', reason: code, statusCode: refusal?.status },
      ]);
      expect(calls).toEqual([`record ${code}`]);
      // Error flows hear of it (the repository holds all but one a minute per flow back).
      expect(mocks.ops.emitLimited).toHaveBeenCalledWith(
        'trigger.refused',
        'f1',
        expect.objectContaining({ refusal: expect.objectContaining({ code, status: refusal?.status }) }),
      );
    });

    it('records a header flood with no more headers than MAX_HEADER_COUNT', async () => {
      const { sut, mocks } = newTestService({}, { env: { MAX_HEADER_COUNT: '2' } });
      const flood = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`x-h${i}`, 'v']));
      await sut.admit(request({ headers: flood })).catch(() => undefined);
      expect(Object.keys(mocks.events.refused[0].headers)).toHaveLength(2);
    });

    it('admits an IPv4-mapped source of an allowed range, with the smaller of the two body limits', async () => {
      const { sut } = newTestService({ allowIps: ['203.0.113.0/24'], maxBodyBytes: 2048 });
      const { bodyLimit } = await sut.admit(request({ sourceIp: '::ffff:203.0.113.9' }));
      expect(bodyLimit).toBe(2048);
    });
  });

  describe('refusals of the body', () => {
    it('refuses a body over the limit that came without the streaming hook', async () => {
      const { sut, mocks } = newTestService({ maxBodyBytes: 4 });
      expect(await statusOf(sut, request({ body: '{"a":1}' }))).toBe(413);
      expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
    });

    it.each([
      ['JSON that does not parse', '{"a":', 'application/json'],
      ['JSON nested deeper than MAX_JSON_DEPTH', '[[[[1]]]]', 'application/json'],
      ['XML that is not well formed', '<a><b></a>', 'application/xml'],
    ])(
      'answers %s 400 naming /body, keeps the raw bytes for the inspector, stores no run',
      async (_n, body, type) => {
        const { sut, mocks } = newTestService({}, { env: { MAX_JSON_DEPTH: '3' } });
        const refusal = await deliver(sut, request({ body, headers: { 'content-type': type } }));
        expect(refusal).toMatchObject({ code: ErrorCode.InvalidBody, details: [{ path: '/body' }] });
        expect(mocks.events.refused).toMatchObject([
          { reason: ErrorCode.InvalidBody, rawBody: Buffer.from(body) },
        ]);
        expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
      },
    );

    it('checks the signature before the body: a forged request with a broken body is 401', async () => {
      const { sut, calls } = newTestService({ verify: HMAC });
      const refusal = await deliver(
        sut,
        request({ body: '{"a":', headers: { 'x-signature': sign('{"a":', 'forged') } }),
      );
      expect(refusal).toMatchObject({ code: ErrorCode.SignatureMismatch });
      expect(calls).toEqual(['resolve secret', `record ${ErrorCode.SignatureMismatch}`]);
    });

    it('answers a missing signature 401 signature_missing', async () => {
      const { sut } = newTestService({ verify: HMAC });
      expect(await deliver(sut, request({ body: '{}' }))).toMatchObject({ code: ErrorCode.SignatureMissing });
    });

    it('answers 503 while the secret store cannot be read, storing nothing and telling the operator', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC });
      mocks.secrets.resolve.mockRejectedValue(new Error('master key rotated'));
      expect(await deliver(sut, signed('{}'))).toMatchObject({ code: ErrorCode.Unavailable });
      expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
      expect(logged.error).toHaveBeenCalledWith(
        expect.objectContaining({ msg: expect.stringContaining("secret 'SIGNING'"), flow: 'unit' }),
      );
    });

    it('stores nothing and enqueues nothing while the queue is known to be down', async () => {
      const { sut, mocks, calls } = newTestService();
      mocks.queueHealth.assertAvailable.mockImplementation(() => {
        calls.push('queue available');
        throw new AppError(ErrorCode.QueueUnavailable, 'the queue is unavailable');
      });
      expect(await statusOf(sut, request({ body: '{}' }))).toBe(503);
      expect(calls).toEqual(['queue available', `record ${ErrorCode.QueueUnavailable}`]);
    });

    it('answers a refusal the same when recording it fails', async () => {
      const { sut, mocks } = newTestService();
      mocks.events.recordRefused.mockRejectedValueOnce(new Error('database down'));
      const req = request({ body: '{' });
      expect(await statusOf(sut, req)).toBe(400);
      expect(await statusOf(sut, req)).toBe(400);
      expect(mocks.events.recordRefused).toHaveBeenCalledTimes(2);
    });
  });

  describe('dedupe', () => {
    it('starts one run per header key, answers a repeat naming that run, and records the repeat', async () => {
      const { sut, mocks, outcomes } = newTestService(
        { dedupe: { header: 'Webhook-Id' } },
        { env: { DEDUPE_WINDOW: '1h' } },
      );
      const first = request({ body: '{}', headers: { 'webhook-id': 'evt_1' } });
      expect(await deliver(sut, first)).toMatchObject({ status: 202 });
      expect(await deliver(sut, first)).toEqual({
        status: 200,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body: '{"runId":"r1","duplicate":true}',
      });
      expect(mocks.runs.created).toHaveLength(1);
      expect(mocks.runs.created[0].dedupe).toEqual({ key: 'evt_1', windowMs: 3_600_000 });
      expect(mocks.stepQueue.start).toHaveBeenCalledTimes(1);
      expect(mocks.events.refused).toMatchObject([{ reason: 'duplicate', runId: 'r1', statusCode: 200 }]);
      expect(await outcomes()).toEqual({ accepted: 1, duplicate: 1 });
    });

    it('does not dedupe a request without the header', async () => {
      const { sut, mocks } = newTestService({ dedupe: { header: 'Webhook-Id' } });
      await deliver(sut, request({ body: '{}' }));
      await deliver(sut, request({ body: '{}' }));
      expect(mocks.runs.created.map((c) => c.dedupe)).toEqual([undefined, undefined]);
    });

    it('keys an expression on the parsed body, and hashes a key read from a credential header', async () => {
      const byBody = newTestService({ dedupe: { expression: 'body.order.id & "-" & method' } });
      await deliver(byBody.sut, request({ body: '{"order":{"id":42}}' }));
      expect(byBody.mocks.runs.created[0].dedupe?.key).toBe('42-POST');

      const byToken = newTestService({ dedupe: { header: 'X-Api-Key' } });
      await deliver(byToken.sut, request({ body: '{}', headers: { 'x-api-key': 'k-123' } }));
      expect(byToken.mocks.runs.created[0].dedupe?.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it('accepts without dedupe when the expression fails: a webhook is never lost over it', async () => {
      const { sut, mocks } = newTestService({ dedupe: { expression: '$error("boom")' } });
      expect(await statusOf(sut, request({ body: '{}' }))).toBe(202);
      expect(mocks.runs.created[0].dedupe).toBeUndefined();
      expect(logged.warn).toHaveBeenCalledWith(
        expect.objectContaining({ msg: expect.stringContaining('accepted without dedupe'), flow: 'unit' }),
      );
    });
  });

  describe('rate limits and failed signatures', () => {
    it('counts the rate limit of a verifying trigger only for requests whose signature passed', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC, rateLimit: { limit: 1, per: '1m' } });
      const body = '{"id":1}';
      for (let i = 0; i < 10; i++) {
        const forged = request({
          body,
          headers: { 'x-signature': sign(body, 'forged') },
          sourceIp: `198.51.100.${i + 10}`,
        });
        expect(await statusOf(sut, forged)).toBe(401);
      }
      expect(mocks.rateLimits.hit).not.toHaveBeenCalled();
      expect(await statusOf(sut, signed(body))).toBe(202);
      expect(mocks.rateLimits.hit).toHaveBeenCalledTimes(1);
    });

    it('refuses a full window before reading the body, without verifying or counting', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC, rateLimit: { limit: 1, per: '1m' } });
      mocks.rateLimits.peek.mockResolvedValue({ count: 1, resetInMs: 2_500 });
      const refused = await sut.admit(request()).catch((err: AppError) => err);
      expect(refused).toMatchObject({ code: 'rate_limited', headers: { 'retry-after': '3' } });
      expect(mocks.secrets.resolve).not.toHaveBeenCalled();
      expect(mocks.rateLimits.hit).not.toHaveBeenCalled();
    });

    it('refuses a verified request that finds the window filled meanwhile', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC, rateLimit: { limit: 1, per: '1m' } });
      mocks.rateLimits.hit.mockResolvedValue({ count: 2, resetInMs: 1_000 });
      expect(await statusOf(sut, signed('{}'))).toBe(429);
      expect(mocks.runs.createRunFromEvent).not.toHaveBeenCalled();
    });

    it('counts a trigger without verification before the body, as every request may start a run', async () => {
      const { sut, mocks } = newTestService({ rateLimit: { limit: 1, per: '1m' } });
      await sut.admit(request());
      expect(mocks.rateLimits.hit).toHaveBeenCalledWith('f1', 60_000);
      expect(mocks.rateLimits.peek).not.toHaveBeenCalled();
      expect(await sut.admit(request()).catch((err: AppError) => err.code)).toBe(ErrorCode.RateLimited);
    });

    it('answers a source past its failed verifications 429 without recording it, and still accepts its genuine requests', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC });
      const body = '{}';
      const forged = (sourceIp?: string) => request({ body, headers: { 'x-signature': 'bad' }, sourceIp });
      for (let i = 0; i < 3; i++) expect(await statusOf(sut, forged())).toBe(401);
      expect(mocks.events.recordRefused).toHaveBeenCalledTimes(3);
      expect(await statusOf(sut, forged())).toBe(429);
      expect(mocks.events.recordRefused).toHaveBeenCalledTimes(3);
      expect(await statusOf(sut, signed(body))).toBe(202);
      expect(await statusOf(sut, forged('203.0.113.5'))).toBe(401);
    });

    it('does not count failures caused by a secret missing from the store', async () => {
      const { sut, mocks } = newTestService({ verify: HMAC });
      mocks.secrets.resolve.mockResolvedValue(undefined);
      for (let i = 0; i < 5; i++) expect(await statusOf(sut, signed('{}'))).toBe(401);
      mocks.secrets.resolve.mockResolvedValue(SECRET);
      expect(await statusOf(sut, signed('{}'))).toBe(202);
    });

    it('answers a duplicate with the configured respond, and records that status', async () => {
      const { sut, mocks } = newTestService({
        dedupe: { header: 'Webhook-Id' },
        respond: { status: 200, body: 'OK', headers: { 'X-Ack': 'yes' } },
      });
      const req = request({ body: '{}', headers: { 'webhook-id': 'evt_9' } });
      await deliver(sut, req);
      expect(await deliver(sut, req)).toEqual({
        status: 200,
        headers: { 'x-ack': 'yes', 'content-type': 'text/plain; charset=utf-8' },
        body: 'OK',
      });
      expect(mocks.events.recordRefused).toHaveBeenCalledWith(
        expect.objectContaining({ reason: 'duplicate', statusCode: 200, runId: 'r1' }),
      );
    });
  });

  describe('a flow with a respond step', () => {
    const steps: StepDef[] = [
      { id: 'shape', type: 'transform', expression: '$' },
      { id: 'reply', type: 'respond', json: '{{steps.shape}}' },
      { ...SEND, needs: ['reply'] },
    ];
    const answer = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":7}' };

    it("answers with the respond step's answer, waited for from before the roots were enqueued", async () => {
      const { sut, calls, respondOutcomes, metrics } = newTestService(
        {},
        { steps, worker: (runId) => ({ runId, kind: 'answer', answer }) },
      );
      expect(await deliver(sut, request({ body: '{"id":7}' }))).toEqual(answer);
      expect(calls).toEqual(['queue available', 'store run', 'enqueue roots']);
      expect(await respondOutcomes()).toEqual({ answered: 1 });
      expect((await metrics.respondWaiting.get()).values[0].value).toBe(0);
    });

    it('reads an answer too large to travel from the store, once', async () => {
      const { sut, calls, respondOutcomes } = newTestService(
        {},
        { steps, worker: (runId) => ({ runId, kind: 'stored' }) },
      );
      expect(await deliver(sut, request({ body: '{}' }))).toEqual({
        status: 201,
        headers: { 'content-type': 'text/plain' },
        body: 'stored answer',
      });
      expect(calls).toContain('read r1 reply');
      expect(await respondOutcomes()).toEqual({ answered: 1 });
    });

    it("answers the trigger's respond at once when the run will not reach the step", async () => {
      const { sut, respondOutcomes } = newTestService(
        { respond: { status: 200, body: 'OK' }, respondTimeout: '30s' },
        { steps, worker: (runId) => ({ runId, kind: 'none' }) },
      );
      const started = Date.now();
      expect(await deliver(sut, request({ body: '{}' }))).toMatchObject({ status: 200, body: 'OK' });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await respondOutcomes()).toEqual({ ended: 1 });
    });

    it('answers 202 { runId, eventId } when respondTimeout passes first', async () => {
      const { sut, respondOutcomes } = newTestService({ respondTimeout: '100ms' }, { steps });
      const started = Date.now();
      expect(await deliver(sut, request({ body: '{}' }))).toMatchObject({
        status: 202,
        body: '{"runId":"r1","eventId":"e1"}',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(await respondOutcomes()).toEqual({ timeout: 1 });
    });

    it.each<[string, Setup, string]>([
      ['too many requests wait already (RESPOND_MAX_WAITING)', { env: { RESPOND_MAX_WAITING: '0' } }, 'busy'],
      ['the answer channel is not heard', { listening: false }, 'unheard'],
    ])('answers the default at once when %s', async (_name, setup, outcome) => {
      const { sut, respondOutcomes } = newTestService({ respondTimeout: '30s' }, { steps, ...setup });
      expect(await statusOf(sut, request({ body: '{}' }))).toBe(202);
      expect(await respondOutcomes()).toEqual({ [outcome]: 1 });
    });

    it('stops waiting when the sender leaves', async () => {
      const { sut, respondOutcomes, respondWaits } = newTestService({ respondTimeout: '30s' }, { steps });
      const left = new AbortController();
      const answered = deliver(sut, { ...request({ body: '{}' }), gone: () => left.signal });
      await new Promise((resolve) => setTimeout(resolve, 20));
      left.abort();
      expect(await answered).toMatchObject({ status: 202 });
      expect(await respondOutcomes()).toEqual({ gone: 1 });
      respondWaits.onApplicationShutdown();
    });

    it('answers a duplicate as without a respond step, waiting for nothing', async () => {
      const { sut, respondOutcomes } = newTestService(
        { dedupe: { header: 'Webhook-Id' }, respondTimeout: '30s' },
        { steps, worker: (runId) => ({ runId, kind: 'answer', answer }) },
      );
      const req = request({ body: '{}', headers: { 'webhook-id': 'evt_1' } });
      expect(await deliver(sut, req)).toEqual(answer);
      expect(await deliver(sut, req)).toMatchObject({ status: 200, body: '{"runId":"r1","duplicate":true}' });
      expect(await respondOutcomes()).toEqual({ answered: 1 });
    });
  });
});
