import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** JSON keeps its keys in the order they were written, from the sender and the transform to the wire and the run view. */
describe('JSON key order', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
  });

  it('delivers and shows objects with their keys in the order written', async () => {
    const { hookPath } = await hf.createFlow({
      slug: 'key-order',
      trigger: { type: 'webhook' },
      steps: [
        {
          id: 'order',
          type: 'transform',
          expression: '{ "orderId": orderId, "email": customer.email, "amount": amount, "zone": "eu" }',
        },
        { id: 'check', type: 'filter', condition: 'amount > 0' },
        {
          id: 'send',
          type: 'action',
          connector: 'http',
          with: { url: `${sink.url}/key-order`, json: '{{steps.order}}' },
        },
      ],
    });
    const sent = '{"orderId":"A-1","customer":{"name":"Ada","email":"ada@example.com"},"amount":12}';
    const accepted = await hf
      .http()
      .post(hookPath)
      .set('content-type', 'application/json')
      .send(sent)
      .expect(202);

    const [delivered] = await sink.waitForRequests('/key-order', 1);
    expect(delivered.body).toBe('{"orderId":"A-1","email":"ada@example.com","amount":12,"zone":"eu"}');

    const run = await hf.waitForRun(accepted.body.runId);
    expect(Object.keys(run.event.body)).toEqual(['orderId', 'customer', 'amount']);
    expect(Object.keys(run.event.body.customer)).toEqual(['name', 'email']);
    const order = run.steps.find((s: { id: string }) => s.id === 'order');
    expect(Object.keys(order.output)).toEqual(['orderId', 'email', 'amount', 'zone']);
    // The filter's input is the transform's output, read back from the database.
    const check = run.steps.find((s: { id: string }) => s.id === 'check');
    expect(Object.keys(check.input)).toEqual(['orderId', 'email', 'amount', 'zone']);
  });
});
