import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** The embedded mode's queue: BullMQ on its PostgreSQL backend, same application code. */
describe('engine with the queue on PostgreSQL (no Redis)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ queue: 'postgres' });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('delivers a fan-out with a retried branch and a join', async () => {
    sink.script('/b', [503, 200]);
    const { hookPath } = await hf.createFlow({
      slug: 'pg-queue',
      trigger: { type: 'webhook' },
      steps: [
        { id: 'shape', type: 'transform', expression: "{ 'n': n * 2 }" },
        {
          id: 'a',
          type: 'action',
          connector: 'http',
          needs: ['shape'],
          with: { url: `${sink.url}/a`, json: '{{input}}' },
        },
        {
          id: 'b',
          type: 'action',
          connector: 'http',
          needs: ['shape'],
          retry: { attempts: 3, backoff: 'fixed', delay: '20ms' },
          with: { url: `${sink.url}/b`, json: '{{input}}' },
        },
        {
          id: 'done',
          type: 'action',
          connector: 'http',
          needs: ['a', 'b'],
          with: { url: `${sink.url}/done`, json: { n: '{{steps.shape.n}}' } },
        },
      ],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 21 }).expect(202);
    const run = await hf.waitForRun(body.runId);

    expect(run.status).toBe('succeeded');
    expect(run.steps.find((s: any) => s.id === 'b').attempts.map((a: any) => a.responseStatus)).toEqual([
      503, 200,
    ]);
    expect(sink.received('/a').map((r) => r.json)).toEqual([{ n: 42 }]);
    expect(sink.received('/done').map((r) => r.json)).toEqual([{ n: 42 }]);
    expect((await hf.http().get('/health/ready').expect(200)).body.queue).toBe('ok');
  });
});
