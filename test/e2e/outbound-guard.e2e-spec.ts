import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/**
 * The SSRF guard end to end, with loopback addresses only: a trap server on 127.0.0.2 stands for
 * every address the guard refuses, and OUTBOUND_ALLOW=127.0.0.1/32 (the harness default) opens
 * only the sink. Every spelling of the trap's address, and a redirect toward it, must fail the
 * step as final with code `blocked` while the trap sees no TCP connection at all.
 */
describe('outbound SSRF guard (worker, OUTBOUND_ALLOW=127.0.0.1/32)', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let trap: Server;
  let trapPort: number;
  let trapConnections = 0;
  const retry = { attempts: 3, backoff: 'fixed', delay: '20ms' };

  beforeAll(async () => {
    trap = createServer((_req, res) => res.end('trapped'));
    trap.on('connection', () => trapConnections++);
    trap.listen(0, '127.0.0.2');
    await once(trap, 'listening');
    trapPort = (trap.address() as AddressInfo).port;
    sink = await SinkServer.start();
    hf = await HookflowHarness.start({ env: { OUTBOUND_ALLOW: '127.0.0.1/32' } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    trap?.closeAllConnections();
    await new Promise((resolve) => trap?.close(resolve));
  });

  async function runOne(slug: string, withOptions: Record<string, unknown>): Promise<Record<string, any>> {
    const { hookPath } = await hf.createFlow({
      slug,
      trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'action', connector: 'http', retry, with: withOptions }],
    });
    const { body } = await hf.http().post(hookPath).send({ n: 1 }).expect(202);
    return hf.waitForRun(body.runId);
  }

  it.each([
    ['dotted', 'http://127.0.0.2:PORT/', '127.0.0.2'],
    ['decimal', 'http://2130706434:PORT/', '127.0.0.2'],
    ['hex', 'http://0x7f000002:PORT/', '127.0.0.2'],
    ['ipv4-mapped', 'http://[::ffff:127.0.0.2]:PORT/', '127.0.0.2'],
    ['ipv6-loopback', 'http://[::1]:PORT/', '::1'],
  ])('refuses the %s spelling as final `blocked` without connecting', async (name, template, address) => {
    const run = await runOne(`blocked-${name}`, {
      url: template.replace('PORT', String(trapPort)),
      json: {},
    });

    expect(run.status).toBe('failed');
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'blocked', retryable: false } });
    expect(run.steps[0].error.message).toContain('is refused by the outbound guard');
    expect(run.steps[0].error.message).toContain(address);
    expect(run.steps[0].error.message).toMatch(/loopback \((127\.0\.0\.0\/8|::1)\)/);
    // Final: one attempt of the three allowed.
    expect(run.steps[0].attempts).toHaveLength(1);
    expect(trapConnections).toBe(0);
  });

  it('refuses a redirect from an allowed sink toward the trap, re-checking the hop', async () => {
    sink.script('/to-trap', [{ status: 302, headers: { location: `http://0x7f000002:${trapPort}/` } }]);
    const run = await runOne('blocked-redirect', {
      url: `${sink.url}/to-trap`,
      json: {},
      followRedirects: 2,
    });

    expect(sink.received('/to-trap')).toHaveLength(1);
    expect(run.status).toBe('failed');
    expect(run.steps[0]).toMatchObject({ status: 'failed', error: { code: 'blocked', retryable: false } });
    expect(run.steps[0].error.message).toContain('127.0.0.2');
    expect(run.steps[0].attempts).toHaveLength(1);
    expect(trapConnections).toBe(0);
  });

  it('still delivers to the allowed 127.0.0.1 sink, following a redirect there', async () => {
    sink.script('/hop', [{ status: 307, headers: { location: '/allowed' } }]);
    const run = await runOne('allowed-sink', { url: `${sink.url}/hop`, json: { ok: 1 }, followRedirects: 2 });

    expect(run.status).toBe('succeeded');
    const [req] = await sink.waitForRequests('/allowed', 1);
    expect(req.json).toEqual({ ok: 1 });
    expect(trapConnections).toBe(0);
  });

  it('warns at save time about a literal URL that can never pass, and not about allowed ones', async () => {
    const doc = (url: string) => ({
      slug: 'warned',
      trigger: { type: 'webhook' },
      steps: [{ id: 'send', type: 'action', connector: 'http', with: { url } }],
    });
    const warned = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send(doc('http://169.254.169.254/x'));
    expect(warned.status).toBe(200);
    expect(warned.body.warnings).toEqual([
      {
        path: '/steps/0/with/url',
        message:
          'will be refused on every attempt: 169.254.169.254 is cloud metadata endpoint (link-local 169.254.169.254); ' +
          'add the host or address to OUTBOUND_ALLOW to send there',
      },
    ]);
    const quiet = await hf
      .http()
      .post('/api/flows/validate')
      .set(hf.auth)
      .send(doc(`${sink.url}/x`));
    expect(quiet.body.warnings).toEqual([]);

    // Saving says the same: the flow is stored, with the warning in the answer.
    const saved = await hf
      .http()
      .post('/api/flows')
      .set(hf.auth)
      .send(doc('http://169.254.169.254/x'))
      .expect(201);
    expect(saved.body.warnings).toEqual([expect.objectContaining({ path: '/steps/0/with/url' })]);
    const replaced = await hf
      .http()
      .put('/api/flows/warned')
      .set(hf.auth)
      .send(doc(`${sink.url}/x`))
      .expect(200);
    expect(replaced.body.warnings).toEqual([]);
    expect(trapConnections).toBe(0);
  });
});
