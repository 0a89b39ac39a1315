import { outboundStatusClass, WorkerMetrics } from './metrics';

describe('outboundStatusClass', () => {
  it.each([
    [200, 'succeeded', '2xx'],
    [302, 'succeeded', '3xx'],
    [404, 'failed', '4xx'],
    [503, 'retrying', '5xx'],
    [null, 'failed', 'error'],
    [null, 'retrying', 'error'],
    [null, 'succeeded', undefined],
  ] as const)('%p after %s is %p', (status, outcome, expected) => {
    expect(outboundStatusClass(status, outcome)).toBe(expected);
  });
});

describe('WorkerMetrics', () => {
  it('keeps its own registry and answers a scrape when the queue does not', async () => {
    const a = new WorkerMetrics(() => Promise.reject(new Error('redis down')));
    const b = new WorkerMetrics(async () => ({ waiting: 3, active: 1, delayed: 0, failed: 2 }));
    a.recordStepAttempt({
      type: 'action',
      outcome: 'retrying',
      durationMs: 5,
      attempt: 1,
      responseStatus: 503,
    });
    const text = await a.registry.metrics();
    expect(text).toContain('hookflow_step_retries_total 1');
    expect(text).toContain('hookflow_outbound_responses_total{class="5xx"} 1');
    expect(text).not.toContain('hookflow_queue_jobs{');
    const other = await b.registry.metrics();
    expect(other).toContain('hookflow_step_retries_total 0');
    expect(other).toContain('hookflow_queue_jobs{state="waiting"} 3');
  });
});
