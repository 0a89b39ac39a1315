import { jest } from '@jest/globals';
import type { StepDef } from '@hookflow/flows';
import { flowOf, newStepPath } from '../testing/step-path-fakes';
import type { Admission } from './destination-gate';

const action = (id: string, url: string, more: Partial<StepDef> = {}): StepDef =>
  ({ id, type: 'action', connector: 'http', needs: [], with: { url }, ...more }) as StepDef;

/** The gate over a flow of `steps`, with runs r1..r3 whose request body is `body`. */
function gateFor(
  steps: StepDef[],
  opts: { concurrency?: number; body?: unknown; secrets?: Record<string, string> } = {},
) {
  const path = newStepPath(flowOf('gate', steps), {
    config: { destinationConcurrency: opts.concurrency ?? 1 },
    secrets: opts.secrets,
  });
  for (const runId of ['r1', 'r2', 'r3']) path.mocks.store.addRun(path.flow, runId, { body: opts.body });
  return path;
}

const released = (admission: Admission) => {
  if (admission.go) admission.release();
};

describe('DestinationGate and the circuit breaker', () => {
  const paused = (host: string) => ({
    id: 'd-1',
    host,
    row: {
      state: 'paused' as const,
      pausedBy: 'breaker' as const,
      consecutiveFailures: 20,
      failingSinceMs: Date.now() - 60_000,
      pausedUntilMs: Date.now() + 30_000,
      cooldownMs: 30_000,
      probeUntilMs: null,
    },
  });

  it('holds an action to a paused destination before the claim, and keeps it out of in-process chains', async () => {
    const { gate, breaker, mocks, flow } = gateFor([action('send', 'https://api.example.com/x')]);
    mocks.destinations.rows.set('api.example.com:443', paused('api.example.com:443'));
    await breaker.refresh();
    const claim = jest.spyOn(mocks.store, 'claimStep');
    const held = await gate.admit('r1', 'send', 'v1');
    expect(held).toEqual({ go: false, retryInMs: expect.any(Number) });
    expect((held as { retryInMs: number }).retryInMs).toBeGreaterThan(29_000);
    expect(mocks.destinations.waits.size).toBe(1);
    expect(claim).not.toHaveBeenCalled();
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(0);
    expect(gate.admitInline(flow, 'send')).toBeNull();
  });

  it('gives the probe back when the probing step gets no slot', async () => {
    const { gate, breaker, mocks } = gateFor([action('send', 'https://api.example.com/x')], {
      concurrency: 1,
    });
    const entry = paused('api.example.com:443');
    entry.row.pausedUntilMs = Date.now() - 1;
    mocks.destinations.rows.set('api.example.com:443', entry);
    await breaker.refresh();
    // The one slot is taken (an attempt out when the destination paused).
    const taken = gate.limiter.tryAcquire('api.example.com:443', { concurrency: 1 });
    await expect(gate.admit('r1', 'send', 'v1')).resolves.toMatchObject({ go: false });
    expect(mocks.destinations.rows.get('api.example.com:443')!.row.probeUntilMs).toBeNull();
    if (taken.ok) taken.release();
    await expect(gate.admit('r2', 'send', 'v1')).resolves.toMatchObject({ go: true });
    expect(mocks.destinations.rows.get('api.example.com:443')!.row.probeUntilMs).not.toBeNull();
  });
});

describe('DestinationGate.admit', () => {
  it('gives a step that calls no one no slot, without reading the run', async () => {
    const { gate, mocks } = gateFor([{ id: 'shape', type: 'transform', expression: '$' }]);
    const peek = jest.spyOn(mocks.store, 'peekStep');
    await expect(gate.admit('r1', 'shape', 'v1')).resolves.toMatchObject({ go: true });
    expect(gate.limiter.size).toBe(0);
    expect(peek).not.toHaveBeenCalled();
  });

  it('caps calls to one host:port across steps (config.destinationConcurrency), other hosts apart', async () => {
    const { gate } = gateFor([
      action('orders', 'https://API.example.com/orders/{{run.id}}'),
      action('stock', 'https://api.example.com:443/stock'),
      action('audit', 'https://audit.example.com/'),
    ]);
    const first = await gate.admit('r1', 'orders', 'v1');
    expect(first.go).toBe(true);
    // The cap is reached: one waits in process for the slot, the next is turned away at once.
    const waiting = gate.admit('r2', 'stock', 'v1');
    const refused = await gate.admit('r3', 'orders', 'v1');
    expect(refused).toEqual({ go: false, retryInMs: expect.any(Number) });
    expect((refused as { retryInMs: number }).retryInMs).toBeGreaterThan(0);
    await expect(gate.admit('r1', 'audit', 'v1')).resolves.toMatchObject({ go: true });
    expect(gate.limiter.inFlight('audit.example.com:443')).toBe(1);

    released(first);
    await expect(waiting).resolves.toMatchObject({ go: true });
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
  });

  it("takes the step's own destination.concurrency over the configured one", async () => {
    const { gate } = gateFor(
      [action('send', 'https://api.example.com/x', { destination: { concurrency: 2 } })],
      {
        concurrency: 1,
      },
    );
    const grants = await Promise.all([gate.admit('r1', 'send', 'v1'), gate.admit('r2', 'send', 'v1')]);
    expect(grants.map((g) => g.go)).toEqual([true, true]);
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(2);
  });

  it('renders a templated URL from the run context (and its secrets) to find its destination', async () => {
    const { gate, mocks } = gateFor(
      [
        action('callback', '{{trigger.body.callback}}'),
        action('secret', "{{secret 'HOOK_URL'}}", { needs: [] }),
      ],
      {
        body: { callback: 'http://hooks.example.org:8080/cb' },
        secrets: { HOOK_URL: 'https://vault.example.net/x' },
      },
    );
    await gate.admit('r1', 'callback', 'v1');
    await gate.admit('r1', 'secret', 'v1');
    expect(gate.limiter.inFlight('hooks.example.org:8080')).toBe(1);
    expect(gate.limiter.inFlight('vault.example.net:443')).toBe(1);
    expect(mocks.secretStore.reads).toBe(1);
  });

  it('admits without a slot a URL that does not render to a destination', async () => {
    const { gate } = gateFor([action('callback', '{{trigger.body.callback}}')], { body: {} });
    await expect(gate.admit('r1', 'callback', 'v1')).resolves.toMatchObject({ go: true });
    expect(gate.limiter.size).toBe(0);
  });

  it('reads the flow version of a job that does not carry it, and admits a step a claim would refuse', async () => {
    const { gate, mocks } = gateFor([action('send', 'https://api.example.com/x')]);
    await gate.admit('r1', 'send');
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
    mocks.store.step('r2', 'send').status = 'succeeded';
    await expect(gate.admit('r2', 'send')).resolves.toMatchObject({ go: true });
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
  });

  type Mocks = ReturnType<typeof gateFor>['mocks'];
  it.each<[string, string | undefined, (mocks: Mocks) => void]>([
    ['its flow version does not exist', 'v404', () => undefined],
    [
      'the run cannot be read',
      'v1',
      ({ store }) => jest.spyOn(store, 'runContext').mockRejectedValue(new Error('database down')),
    ],
    [
      'the step cannot be peeked',
      undefined,
      ({ store }) => jest.spyOn(store, 'peekStep').mockRejectedValue(new Error('database down')),
    ],
  ])('admits (never blocks) when deciding fails: %s', async (_what, versionId, fault) => {
    const { gate, mocks } = gateFor([action('callback', '{{trigger.body.callback}}')], {
      body: { callback: 'https://hooks.example.org/' },
    });
    fault(mocks);
    await expect(gate.admit('r1', 'callback', versionId)).resolves.toMatchObject({ go: true });
    expect(gate.limiter.size).toBe(0);
  });
});

describe('DestinationGate.admitInline', () => {
  const flow = [
    { id: 'shape', type: 'transform' as const, expression: '$' },
    action('static', 'https://api.example.com/orders/{{input.id}}'),
    action('templated', 'https://{{input.host}}/x'),
  ];

  it('gives a step that calls no one no slot', async () => {
    const { gate, flow: compiled } = gateFor(flow);
    expect(gate.admitInline(compiled, 'shape')).toMatchObject({ go: true });
    expect(gate.limiter.size).toBe(0);
  });

  it('takes a slot of a destination written out in the URL', async () => {
    const { gate, flow: compiled } = gateFor(flow);
    expect(gate.admitInline(compiled, 'static')).toMatchObject({ go: true });
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
  });

  it('lets a step of a full, fast destination wait for its slot once claimed, never before', async () => {
    const { gate, flow: compiled } = gateFor(flow);
    const held = gate.admitInline(compiled, 'static');
    expect(held).toMatchObject({ go: true });
    const later = gate.admitInline(compiled, 'static');
    expect(later).toMatchObject({ go: 'after-claim' });
    if (later?.go !== 'after-claim' || held?.go !== true) throw new Error('unreachable');
    const waiting = later.wait();
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
    held.release();
    await expect(waiting).resolves.toMatchObject({ go: true });
    expect(gate.limiter.inFlight('api.example.com:443')).toBe(1);
  });

  it('sends a step of a full, slow destination to the queue rather than let it wait', async () => {
    jest.useFakeTimers({ now: 0 });
    try {
      const { gate, flow: compiled } = gateFor(flow);
      const first = gate.admitInline(compiled, 'static');
      if (first?.go !== true) throw new Error('no slot');
      // A call that held its slot for 1.5 s: twice that is past the 2 s a claimed step may wait.
      jest.advanceTimersByTime(1_500);
      first.release();
      expect(gate.admitInline(compiled, 'static')).toMatchObject({ go: true });
      expect(gate.admitInline(compiled, 'static')).toBeNull();
    } finally {
      jest.useRealTimers();
    }
  });

  it('returns null for a URL that needs rendering: the step takes the queue', async () => {
    const { gate, flow: compiled } = gateFor(flow);
    expect(gate.admitInline(compiled, 'templated')).toBeNull();
    expect(gate.limiter.size).toBe(0);
  });
});
