import { jest } from '@jest/globals';
import type { StepOutcome } from '@hookflow/flows';
import { flowOf, newStepPath } from '../testing/step-path-fakes';

const HOST = 'hooks.example.com:443';
const exchange = {
  destination: HOST,
  request: {
    method: 'POST',
    url: `https://${HOST}/`,
    headers: {},
    body: null,
    bodyBytes: 0,
    bodyTruncated: false,
  },
  response: null,
};
const unavailable: StepOutcome = {
  status: 'failed',
  input: null,
  error: { code: 'http_error', message: 'HTTP 503', retryable: true, status: 503 },
  exchange,
};
const ok: StepOutcome = { status: 'succeeded', input: null, output: { status: 200 }, exchange };
const step = { runId: 'r1', stepId: 'post' };

function setup(config = {}) {
  const path = newStepPath(
    flowOf('f', [
      { id: 'post', type: 'action', connector: 'http', needs: [], with: { url: `https://${HOST}/` } },
    ]),
    {
      config: {
        destinationPauseAfter: 3,
        destinationCooldownMs: 1_000,
        destinationDisableAfterMs: 10_000,
        ...config,
      },
    },
  );
  let now = 1_000_000;
  path.mocks.destinations.now = () => now;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  return { ...path, tick: (ms: number) => (now += ms) };
}

afterEach(() => jest.restoreAllMocks());

describe('DestinationBreaker', () => {
  it('writes nothing for answers from a destination without failures', async () => {
    const { breaker, mocks } = setup();
    await breaker.observe(ok);
    expect(mocks.destinations.rows.size).toBe(0);
    expect(breaker.holds(HOST)).toBe(false);
    await expect(breaker.admit(HOST, step, 60_000)).resolves.toEqual({ hold: false });
  });

  it('pauses after pauseAfter failures in a row, holds steps, and one probe resumes it', async () => {
    const { breaker, mocks, tick } = setup();
    for (let i = 0; i < 3; i++) await breaker.observe(unavailable);
    expect(mocks.destinations.events).toEqual([{ type: 'destination.paused', host: HOST }]);
    expect(breaker.holds(HOST)).toBe(true);
    const held = await breaker.admit(HOST, step, 60_000);
    expect(held).toMatchObject({ hold: true });
    expect((held as { retryInMs: number }).retryInMs).toBeGreaterThanOrEqual(1_000);
    expect(mocks.destinations.waits.size).toBe(1);

    tick(1_000);
    // Cool-down over: the first asker takes the probe, the others keep waiting.
    await expect(breaker.admit(HOST, step, 60_000)).resolves.toEqual({ hold: false, probe: true });
    await expect(breaker.admit(HOST, { runId: 'r2', stepId: 'post' }, 60_000)).resolves.toMatchObject({
      hold: true,
    });
    await breaker.observe(ok);
    expect(mocks.destinations.events.map((e) => e.type)).toEqual([
      'destination.paused',
      'destination.resumed',
    ]);
    expect(breaker.holds(HOST)).toBe(false);
    expect(mocks.queue.promoted).toEqual(expect.arrayContaining([expect.objectContaining({ runId: 'r2' })]));
  });

  it('a failed probe pauses it twice as long; failing past disableAfter disables it and fails the held steps', async () => {
    const { breaker, mocks, tick } = setup();
    for (let i = 0; i < 3; i++) await breaker.observe(unavailable);
    tick(1_000);
    await expect(breaker.admit(HOST, step, 60_000)).resolves.toMatchObject({ probe: true });
    await breaker.observe(unavailable);
    const row = mocks.destinations.rows.get(HOST)!.row;
    expect(row).toMatchObject({ state: 'paused', cooldownMs: 2_000 });
    expect(mocks.destinations.events).toHaveLength(1);

    await breaker.admit(HOST, { runId: 'r2', stepId: 'post' }, 60_000);
    tick(10_000);
    await expect(breaker.admit(HOST, step, 60_000)).resolves.toMatchObject({ probe: true });
    await breaker.observe(unavailable);
    expect(mocks.destinations.events.map((e) => e.type)).toEqual([
      'destination.paused',
      'destination.disabled',
    ]);
    expect(mocks.destinations.waits.size).toBe(0);
    await expect(breaker.admit(HOST, step, 60_000)).resolves.toMatchObject({ hold: true });
  });

  it('lets a held job whose step ended go on to the claim, which ends it, instead of holding it again', async () => {
    const { breaker, mocks } = setup();
    for (let i = 0; i < 3; i++) await breaker.observe(unavailable);
    mocks.destinations.ended.add('r9_post');
    await expect(breaker.admit(HOST, { runId: 'r9', stepId: 'post' }, 60_000)).resolves.toEqual({
      hold: false,
    });
    expect(mocks.destinations.waits.size).toBe(0);
  });

  it('a success while failing resets the count', async () => {
    const { breaker, mocks } = setup();
    await breaker.observe(unavailable);
    await breaker.observe(unavailable);
    await breaker.observe(ok);
    await breaker.observe(unavailable);
    await breaker.observe(unavailable);
    expect(mocks.destinations.events).toEqual([]);
    expect(breaker.holds(HOST)).toBe(false);
  });

  it('refused by the SSRF guard says nothing about the destination', async () => {
    const { breaker, mocks } = setup({ destinationPauseAfter: 1 });
    await breaker.observe({
      status: 'failed',
      input: null,
      error: { code: 'blocked', message: 'private address', retryable: false },
      exchange,
    });
    expect(mocks.destinations.rows.size).toBe(0);
  });
});
