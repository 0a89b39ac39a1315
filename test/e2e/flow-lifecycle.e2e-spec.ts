import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FlowFilesLoader } from '../../apps/api/src/flow-files/flow-files.loader';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';
import { waitFor } from '../utils/wait-for';

const flowDoc = (slug: string, url: string, extra: Record<string, unknown> = {}) => ({
  slug,
  name: `Flow ${slug}`,
  trigger: { type: 'webhook' },
  steps: [
    { id: 'shape', type: 'transform', expression: "{ 'id': id, 'doubled': n * 2 }" },
    {
      id: 'send',
      type: 'action',
      connector: 'http',
      with: { url, json: '{{input}}', headers: { 'x-token': "{{secret 'SINK_TOKEN'}}" } },
    },
  ],
  ...extra,
});

/** Flows as code: export, rotation, sync with ownership, the FLOWS_DIR loader, dry runs and the inspector. */
describe('flow lifecycle', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let dir: string;

  beforeAll(async () => {
    sink = await SinkServer.start();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-flows-'));
    hf = await HookflowHarness.start({ worker: false, env: { FLOWS_DIR: dir } });
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const api = () => hf.http();

  it('exports the canonical file content, which imports back byte for byte', async () => {
    await api()
      .post('/api/flows')
      .set(hf.auth)
      .send(flowDoc('exported', `${sink.url}/x`))
      .expect(201);
    const first = await api().get('/api/flows/exported/export').set(hf.auth).expect(200);
    expect(first.headers['content-type']).toContain('application/json');
    expect(first.text.endsWith('\n')).toBe(true);
    expect(first.text).toContain('\n  "slug": "exported",');

    await api()
      .put('/api/flows/exported')
      .set(hf.auth)
      .set('content-type', 'application/json')
      .send(first.text)
      .expect(200);
    const second = await api().get('/api/flows/exported/export').set(hf.auth).expect(200);
    expect(second.text).toBe(first.text);
    expect((await api().get('/api/flows/exported').set(hf.auth)).body.version).toBe(1);
  });

  it('rotates the trigger key: the old URL answers 404 at once, the new one 202', async () => {
    const { hookPath } = await hf.createFlow(flowDoc('rotated', `${sink.url}/x`));
    await api().post(hookPath).send({ id: 1, n: 1 }).expect(202);
    const rotated = await api().post('/api/flows/rotated/trigger/rotate').set(hf.auth).expect(200);
    const newPath = new URL(rotated.body.triggerUrl).pathname;
    expect(newPath).not.toBe(hookPath);
    await api().post(hookPath).send({}).expect(404);
    await api().post(newPath).send({ id: 2, n: 2 }).expect(202);
  });

  describe('POST /api/flows/sync', () => {
    const files = (n: number) => [
      { path: 'flows/a.flow.json', definition: flowDoc('sync-a', `${sink.url}/a`) },
      {
        path: 'flows/b.flow.json',
        definition: flowDoc('sync-b', `${sink.url}/b`, { description: `rev ${n}` }),
      },
    ];

    it('plans without changing anything on a dry run', async () => {
      const plan = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: files(1), dryRun: true })
        .expect(200);
      expect(plan.body).toMatchObject({
        dryRun: true,
        created: [
          { slug: 'sync-a', path: 'flows/a.flow.json', version: 1 },
          { slug: 'sync-b', path: 'flows/b.flow.json', version: 1 },
        ],
        updated: [],
        unchanged: [],
        disabled: [],
      });
      await api().get('/api/flows/sync-a').set(hf.auth).expect(404);
    });

    it('applies: creates, then reports unchanged, then updates with a diff, and prunes to disabled', async () => {
      const created = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: files(1) })
        .expect(200);
      expect(created.body.created).toHaveLength(2);
      const flow = await api().get('/api/flows/sync-a').set(hf.auth).expect(200);
      expect(flow.body.source).toBe('flows/a.flow.json');

      const again = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: files(1) })
        .expect(200);
      expect(again.body.unchanged.map((u: any) => u.slug)).toEqual(['sync-a', 'sync-b']);

      const changed = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: files(2) })
        .expect(200);
      expect(changed.body.updated).toEqual([
        expect.objectContaining({
          slug: 'sync-b',
          fromVersion: 1,
          toVersion: 2,
          changes: expect.arrayContaining([expect.any(String)]),
        }),
      ]);

      const pruned = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: [files(2)[0]], prune: true })
        .expect(200);
      expect(pruned.body.disabled).toEqual([{ slug: 'sync-b', source: 'flows/b.flow.json' }]);
      const b = await api().get('/api/flows/sync-b').set(hf.auth).expect(200);
      expect(b.body.enabled).toBe(false);
    });

    it('refuses API edits of a file-owned flow with 409 file_managed naming the file', async () => {
      for (const req of [
        api()
          .put('/api/flows/sync-a')
          .send(flowDoc('sync-a', `${sink.url}/changed`)),
        api().patch('/api/flows/sync-a').send({ enabled: false }),
        api().delete('/api/flows/sync-a'),
      ]) {
        const res = await req.set(hf.auth).expect(409);
        expect(res.body).toMatchObject({
          error: 'file_managed',
          message: expect.stringContaining('flows/a.flow.json'),
        });
      }
    });

    it('refuses the whole sync when one file is invalid, naming the file and the pointer', async () => {
      const bad = {
        path: 'flows/bad.flow.json',
        definition: { ...flowDoc('sync-bad', 'x'), steps: [{ id: 'a', type: 'transform' }] },
      };
      const res = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: [...files(3), bad] })
        .expect(400);
      expect(res.body.error).toBe('invalid_flow');
      expect(res.body.details).toContainEqual({
        file: 'flows/bad.flow.json',
        path: '/steps/0/expression',
        message: expect.any(String),
      });
      expect((await api().get('/api/flows/sync-b').set(hf.auth)).body.version).toBe(2);
      await api().post('/api/flows/sync').set(hf.auth).send({ files: 'nope' }).expect(400);
    });

    it.each([
      ['api', 'reserved'],
      ['/etc/flows/x.flow.json', 'relative'],
      ['flows/../../x.flow.json', "'..'"],
    ])('refuses the file path %s', async (bad, why) => {
      const res = await api()
        .post('/api/flows/sync')
        .set(hf.auth)
        .send({ files: [{ path: bad, definition: flowDoc('pathless', `${sink.url}/p`) }] })
        .expect(400);
      expect(res.body.details).toContainEqual({ file: bad, path: '', message: expect.stringContaining(why) });
    });
  });

  describe('FLOWS_DIR', () => {
    const write = (name: string, doc: unknown) =>
      fs.writeFile(path.join(dir, name), JSON.stringify(doc, null, 2));
    const loader = () => hf.api.get(FlowFilesLoader);

    it('loads the files, skips a broken one without stopping the others, and owns the flows', async () => {
      await write('one.flow.json', flowDoc('file-one', `${sink.url}/one`));
      await fs.mkdir(path.join(dir, 'team'), { recursive: true });
      await write('team/two.flow.json', flowDoc('file-two', `${sink.url}/two`));
      await fs.writeFile(path.join(dir, 'broken.flow.json'), '{ "slug": "broken", ');
      await write('invalid.flow.json', { slug: 'invalid', trigger: { type: 'webhook' }, steps: [] });
      await fs.writeFile(path.join(dir, 'notes.json'), '{}');

      const plan = await loader().load();
      expect(plan?.created.map((c) => c.slug).sort()).toEqual(['file-one', 'file-two']);
      const one = await api().get('/api/flows/file-one').set(hf.auth).expect(200);
      // Outside the working directory the owner is the absolute path (inside it, a relative one).
      expect(one.body.source).toBe(path.join(dir, 'one.flow.json'));
      await api().get('/api/flows/broken').set(hf.auth).expect(404);
      await api().get('/api/flows/invalid').set(hf.auth).expect(404);
      expect(
        (await api().put('/api/flows/file-one').set(hf.auth).send(flowDoc('file-one', 'x')).expect(409)).body
          .error,
      ).toBe('file_managed');
    });

    it('makes a new version only when a file changed, and disables the flow of a removed file', async () => {
      const unchanged = await loader().load();
      expect(unchanged?.updated).toEqual([]);
      await write('one.flow.json', flowDoc('file-one', `${sink.url}/one-v2`));
      await loader().load();
      expect((await api().get('/api/flows/file-one').set(hf.auth)).body.version).toBe(2);

      await fs.rm(path.join(dir, 'team', 'two.flow.json'));
      const plan = await loader().load();
      expect(plan?.disabled.map((d) => d.slug)).toEqual(['file-two']);
      const two = await api().get('/api/flows/file-two').set(hf.auth).expect(200);
      expect(two.body.enabled).toBe(false);
      expect((await api().post(new URL(two.body.triggerUrl).pathname).send({}).expect(409)).body.error).toBe(
        'flow_disabled',
      );
    });

    it('reads files as a Kubernetes ConfigMap mounts them (links into a hidden folder), and a byte order mark', async () => {
      // A ConfigMap volume: each key a link `name -> ..data/name`, `..data` a link to a dated folder.
      await fs.mkdir(path.join(dir, '..2026_11_24_00_00_00.1'));
      await write('..2026_11_24_00_00_00.1/three.flow.json', flowDoc('file-three', `${sink.url}/three`));
      await fs.symlink('..2026_11_24_00_00_00.1', path.join(dir, '..data'));
      await fs.symlink('..data/three.flow.json', path.join(dir, 'three.flow.json'));
      await fs.writeFile(
        path.join(dir, 'bom.flow.json'),
        `\ufeff${JSON.stringify(flowDoc('file-bom', `${sink.url}/bom`))}`,
      );

      const plan = await loader().load();

      expect(plan?.created.map((c) => c.slug).sort()).toEqual(['file-bom', 'file-three']);
      const three = await api().get('/api/flows/file-three').set(hf.auth).expect(200);
      expect(three.body.source).toBe(path.join(dir, 'three.flow.json'));
      await api().get('/api/flows/file-bom').set(hf.auth).expect(200);
    });
  });

  describe('dry-run tests', () => {
    it('runs a saved flow on a sample request, rendering the action without sending it', async () => {
      await hf.createFlow(flowDoc('dry', `${sink.url}/dry`));
      const res = await api()
        .post('/api/flows/dry/test')
        .set(hf.auth)
        .send({ body: { id: 'A', n: 21 }, headers: { 'X-Source': 'test' } })
        .expect(200);
      expect(res.body.status).toBe('succeeded');
      expect(res.body.steps.map((s: any) => [s.id, s.status])).toEqual([
        ['shape', 'succeeded'],
        ['send', 'succeeded'],
      ]);
      expect(res.body.steps[0].output).toEqual({ id: 'A', doubled: 42 });
      const request = res.body.steps[1].request;
      expect(request).toMatchObject({ url: `${sink.url}/dry`, json: { id: 'A', doubled: 42 } });
      expect(JSON.stringify(request)).toContain('[secret SINK_TOKEN]');
      expect(sink.received('/dry')).toHaveLength(0);
    });

    it('runs an unsaved definition, and refuses live runs', async () => {
      const res = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({
          definition: flowDoc('unsaved', `${sink.url}/u`, {
            steps: [{ id: 'f', type: 'filter', condition: 'n > 5' }],
          }),
          body: { n: 1 },
        })
        .expect(200);
      expect(res.body).toMatchObject({ status: 'filtered', steps: [{ id: 'f', status: 'filtered' }] });
      await api().get('/api/flows/unsaved').set(hf.auth).expect(404);
      const live = await api()
        .post('/api/flows/dry/test')
        .set(hf.auth)
        .send({ body: {}, dryRun: false })
        .expect(400);
      expect(live.body.details[0].path).toBe('/dryRun');
      const invalid = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({ definition: { slug: 'x' } })
        .expect(400);
      expect(invalid.body.error).toBe('invalid_flow');
    });

    it('parses a raw XML or form sample as ingress would, and names a malformed one', async () => {
      const definition = flowDoc('raw-sample', `${sink.url}/raw`, {
        steps: [{ id: 'shape', type: 'transform', expression: '{ "skus": [order.item."@_sku"] }' }],
      });
      const xml = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({
          definition,
          rawBody: '<order><item sku="X"/><item sku="Y"/></order>',
          contentType: 'text/xml',
        })
        .expect(200);
      expect(xml.body.steps[0]).toMatchObject({ status: 'succeeded', output: { skus: ['X', 'Y'] } });

      const form = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({
          definition: { ...definition, steps: [{ id: 'shape', type: 'transform', expression: '$' }] },
          rawBody: 'a=1&a=2',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        })
        .expect(200);
      expect(form.body.steps[0].output).toEqual({ a: ['1', '2'] });

      const broken = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({ definition, rawBody: '<order>', contentType: 'application/xml' })
        .expect(400);
      expect(broken.body.details[0].path).toBe('/rawBody');
      const both = await api()
        .post('/api/flows/test')
        .set(hf.auth)
        .send({ definition, rawBody: 'a=1', body: {} })
        .expect(400);
      expect(both.body.details[0]).toEqual({ path: '/rawBody', message: 'give body or rawBody, not both' });
    });
  });

  it('shows received and refused requests in the inspector, newest first', async () => {
    const { hookPath } = await hf.createFlow({
      ...flowDoc('inspected', `${sink.url}/i`),
      trigger: { type: 'webhook', maxBodyBytes: 64 },
    });
    const accepted = await api().post(hookPath).send({ id: 1, n: 1 }).expect(202);
    await api().get(hookPath).expect(405);
    await api().post(hookPath).set('content-type', 'application/json').send('{"broken": ').expect(400);
    await api()
      .post(hookPath)
      .send({ big: 'x'.repeat(100) })
      .expect(413);

    const all = await api().get('/api/flows/inspected/events').set(hf.auth).expect(200);
    expect(all.body.items.map((e: any) => [e.statusCode, e.accepted, e.reason])).toEqual([
      [413, false, 'payload_too_large'],
      [400, false, 'invalid_body'],
      [405, false, 'method_not_allowed'],
      [202, true, null],
    ]);
    expect(all.body.items[3]).toMatchObject({
      runId: accepted.body.runId,
      method: 'POST',
      bodyPreview: '{"id":1,"n":1}',
    });
    expect(all.body.items[1].bodyPreview).toBe('{"broken": ');

    const refused = await api()
      .get('/api/flows/inspected/events?accepted=false&limit=2')
      .set(hf.auth)
      .expect(200);
    expect(refused.body.items).toHaveLength(2);
    const rest = await api()
      .get(`/api/flows/inspected/events?accepted=false&limit=2&cursor=${refused.body.nextCursor}`)
      .set(hf.auth)
      .expect(200);
    expect(rest.body.items.map((e: any) => e.statusCode)).toEqual([405]);
    expect(rest.body.nextCursor).toBeNull();
    await api().get('/api/flows/inspected/events?accepted=maybe').set(hf.auth).expect(400);
  });

  it('reloads changed files by itself in watch mode', async () => {
    const watchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'hookflow-watch-'));
    const watched = await HookflowHarness.start({
      worker: false,
      env: { FLOWS_DIR: watchDir, FLOWS_WATCH: 'true' },
    });
    try {
      await fs.writeFile(
        path.join(watchDir, 'w.flow.json'),
        JSON.stringify(flowDoc('watched', `${sink.url}/w`)),
      );
      const first = await waitFor(async () => {
        const res = await watched.http().get('/api/flows/watched').set(watched.auth);
        return res.status === 200 && res.body;
      });
      expect(first.version).toBe(1);
      await fs.writeFile(
        path.join(watchDir, 'w.flow.json'),
        JSON.stringify(flowDoc('watched', `${sink.url}/w2`)),
      );
      await waitFor(
        async () => (await watched.http().get('/api/flows/watched').set(watched.auth)).body.version === 2,
      );
    } finally {
      await watched.close();
      await fs.rm(watchDir, { recursive: true, force: true });
    }
  });
});
