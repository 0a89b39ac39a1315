import { randomUUID } from 'node:crypto';
import 'reflect-metadata';
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { HOOKFLOW_VERSION } from '@hookflow/connectors';
import { HTTP_METHODS } from '@hookflow/flows';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response, Test } from 'supertest';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** Security requirements in a fixed order: `{}` first, then by scheme name. */
function sortedSecurity(security: Record<string, string[]>[] | undefined): Record<string, string[]>[] {
  return [...(security ?? [])].sort((a, b) => Object.keys(a).join().localeCompare(Object.keys(b).join()));
}

/** Every route of the API application, read from its controllers; `ANY` is every trigger method. */
const EXPECTED_ROUTES = [
  'GET /health/live',
  'GET /health/ready',
  'GET /metrics',
  'POST /api/flows',
  'GET /api/flows',
  'POST /api/flows/validate',
  'POST /api/flows/sync',
  'POST /api/flows/test',
  'GET /api/flows/{slug}',
  'PUT /api/flows/{slug}',
  'PATCH /api/flows/{slug}',
  'DELETE /api/flows/{slug}',
  'GET /api/flows/{slug}/versions',
  'GET /api/flows/{slug}/versions/{version}',
  'GET /api/flows/{slug}/export',
  'POST /api/flows/{slug}/trigger/rotate',
  'POST /api/flows/{slug}/test',
  'POST /api/flows/{slug}/run',
  'GET /api/flows/{slug}/events',
  'POST /api/flows/{slug}/events/{eventId}/replay',
  'GET /api/flows/{slug}/steps/stats',
  'GET /api/flows/{slug}/alerts',
  'GET /api/runs',
  'GET /api/runs/stream',
  'POST /api/runs/retry',
  'GET /api/runs/{id}',
  'POST /api/runs/{id}/retry',
  'POST /api/runs/{id}/replay',
  'POST /api/runs/{id}/cancel',
  'GET /api/stats',
  'GET /api/destinations',
  'GET /api/destinations/{id}',
  'POST /api/destinations/{id}/pause',
  'POST /api/destinations/{id}/resume',
  'GET /api/secrets',
  'PUT /api/secrets/{name}',
  'DELETE /api/secrets/{name}',
  'POST /api/subscriptions',
  'GET /api/subscriptions',
  'GET /api/subscriptions/{id}',
  'PATCH /api/subscriptions/{id}',
  'DELETE /api/subscriptions/{id}',
  'POST /api/subscriptions/{id}/rotate-secret',
  'GET /api/subscriptions/{id}/deliveries',
  'POST /api/keys',
  'GET /api/keys',
  'DELETE /api/keys/{id}',
  'POST /api/session',
  'GET /api/session',
  'DELETE /api/session',
  ...HTTP_METHODS.map((method) => `${method} /hooks/{key}`),
].sort();

/** Management operations that take a JSON body; every other operation must not document one. */
const WITH_BODY = [
  'POST /api/flows',
  'POST /api/flows/validate',
  'POST /api/flows/sync',
  'POST /api/flows/test',
  'PUT /api/flows/{slug}',
  'PATCH /api/flows/{slug}',
  'POST /api/flows/{slug}/test',
  'POST /api/flows/{slug}/run',
  'POST /api/runs/retry',
  'PUT /api/secrets/{name}',
  'POST /api/subscriptions',
  'PATCH /api/subscriptions/{id}',
  'POST /api/keys',
  'POST /api/session',
];

const OPERATION_KEYS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const DOC_ID = 'https://hookflow.test/openapi.json';

type Operation = Record<string, any>;

const flowDoc = (slug: string, url = 'https://receiver.example/hook', trigger: object = {}) => ({
  slug,
  name: `Flow ${slug}`,
  trigger: { type: 'webhook', methods: ['POST'], ...trigger },
  steps: [
    { id: 'shape', type: 'transform', expression: '{ "id": id }' },
    {
      id: 'send',
      type: 'action',
      connector: 'http',
      with: { url, json: '{{input}}' },
      retry: { attempts: 1 },
    },
  ],
});

/** The document served at /api/docs: complete, valid, and true to what the API answers. */
describe('OpenAPI document', () => {
  let hf: HookflowHarness;
  let doc: Record<string, any>;
  let ajv: Ajv2020;

  beforeAll(async () => {
    hf = await HookflowHarness.start({ worker: false });
    const res = await hf.http().get('/api/docs-json').expect(200);
    doc = res.body;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: DOC_ID, $defs: closed(rebased(doc.components.schemas)) });
  });

  afterAll(async () => {
    await hf?.close();
  });

  /** Every operation in the document. */
  function allOperations(): { key: string; path: string; method: string; op: Operation }[] {
    return Object.entries(doc.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => OPERATION_KEYS.includes(method))
        .map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, path, method, op })),
    );
  }

  /** The operations of the expected routes; a route missing from that list fails one test, not all. */
  function operations() {
    return allOperations().filter((o) => EXPECTED_ROUTES.includes(o.key));
  }

  /** Checks a real answer against the schema the document gives for its operation and status. */
  function expectDocumented(key: string, res: Response): void {
    const [method, path] = key.split(' ');
    const op = doc.paths[path]?.[method.toLowerCase()];
    if (!op) throw new Error(`${key} is not in the document`);
    const response = op.responses[String(res.status)];
    if (!response)
      throw new Error(`${key} answered ${res.status}, which the document does not list: ${res.text}`);
    const schema = response.content?.['application/json']?.schema;
    if (!schema) {
      expect(res.text ?? '').toBe('');
      return;
    }
    const body = res.body && Object.keys(res.body).length > 0 ? res.body : JSON.parse(res.text);
    const validate = ajv.compile(rebased(schema));
    const ok = validate(body);
    expect({ key, status: res.status, errors: ok ? [] : validate.errors }).toEqual({
      key,
      status: res.status,
      errors: [],
    });
  }

  describe('the document', () => {
    it('is served without an API key as an OpenAPI 3.1 document for Hookflow', async () => {
      const res = await hf.http().get('/api/docs-json').expect(200);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.body.openapi).toMatch(/^3\.1\.\d+$/);
      expect(res.body.info).toMatchObject({ title: 'Hookflow', version: HOOKFLOW_VERSION });
      expect(res.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(res.body.tags.map((t: { name: string }) => t.name)).toEqual(
        expect.arrayContaining(['flows', 'runs', 'triggers', 'health']),
      );
      // The docs are public, the API they describe is not.
      await hf.http().get('/api/flows').expect(401);
    });

    it('serves the Swagger UI and its assets at /api/docs', async () => {
      const page = await hf.http().get('/api/docs').expect(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.text).toContain('<title>Hookflow API</title>');
      const init = await hf.http().get('/api/docs/swagger-ui-init.js').expect(200);
      expect(init.text).toContain('"title": "Hookflow"');
      const css = await hf.http().get('/api/docs/swagger-ui.css').expect(200);
      expect(css.headers['content-type']).toContain('text/css');
    });

    it('is structurally valid: unique operation ids, responses, declared path parameters, known tags', () => {
      const tags = new Set(doc.tags.map((t: { name: string }) => t.name));
      const ids = new Set<string>();
      for (const { key, path, op } of operations()) {
        expect({ key, operationId: typeof op.operationId, summary: typeof op.summary }).toEqual({
          key,
          operationId: 'string',
          summary: 'string',
        });
        expect(ids.has(op.operationId)).toBe(false);
        ids.add(op.operationId);
        expect({ key, tags: op.tags.length > 0 && op.tags.every((t: string) => tags.has(t)) }).toEqual({
          key,
          tags: true,
        });
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
          expect({ key, status, description: typeof response.description }).toEqual({
            key,
            status,
            description: 'string',
          });
        }
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name);
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect({ key, params: declared.sort() }).toEqual({ key, params: inPath.sort() });
        for (const p of op.parameters ?? []) {
          expect(p.schema).toBeDefined();
          if (p.in === 'path') expect(p.required).toBe(true);
          if (p.in === 'query') expect(p.required).toBe(false);
        }
      }
    });

    it('has schemas that are valid JSON Schema 2020-12 and references that resolve', () => {
      const schemas: unknown[] = [...Object.values(doc.components.schemas)];
      for (const { op } of operations()) {
        for (const media of Object.values(op.requestBody?.content ?? {})) schemas.push((media as any).schema);
        for (const response of Object.values(op.responses as Record<string, any>)) {
          for (const media of Object.values(response.content ?? {})) schemas.push((media as any).schema);
        }
        for (const p of op.parameters ?? []) schemas.push(p.schema);
      }
      const distinct = [...new Set(schemas.map((schema) => JSON.stringify(schema)))].map((s) =>
        JSON.parse(s),
      );
      for (const schema of distinct) {
        expect({ schema, valid: ajv.validateSchema(schema), errors: ajv.errors ?? null }).toMatchObject({
          valid: true,
        });
        expect(() => ajv.compile(rebased(schema))).not.toThrow();
      }
      const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThan(0);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\//);
        expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)]).toBeDefined();
      }
    });

    it('documents exactly the routes the application serves', () => {
      const served = servedRoutes(hf.api);
      // A route added to a controller must be documented (see apps/api/src/common/openapi.decorators.ts)
      // and added to EXPECTED_ROUTES.
      expect({ notInExpectedRoutes: served.filter((r) => !EXPECTED_ROUTES.includes(r)) }).toEqual({
        notInExpectedRoutes: [],
      });
      expect(served.sort()).toEqual(EXPECTED_ROUTES);
      expect(
        allOperations()
          .map((o) => o.key)
          .sort(),
      ).toEqual(EXPECTED_ROUTES);

      const fastify = hf.api.getHttpAdapter().getInstance();
      for (const route of EXPECTED_ROUTES) {
        const [method, path] = route.split(' ');
        expect({
          route,
          served: fastify.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }),
        }).toEqual({
          route,
          served: true,
        });
      }
    });

    it('puts every management operation behind the bearer key or the session of its scope, with a 401, a 403 and a 2xx schema', () => {
      const management = operations().filter((o) => o.path.startsWith('/api/') && o.path !== '/api/session');
      expect(management).toHaveLength(44);
      for (const { key, method, path, op } of management) {
        // Keys are admin's; otherwise GET reads and everything else writes.
        const scope = path.startsWith('/api/keys') ? 'admin' : method === 'get' ? 'read' : 'write';
        expect({ key, security: sortedSecurity(op.security) }).toEqual({
          key,
          security: [{ bearer: [scope] }, { session: [scope] }],
        });
        for (const status of ['401', '403']) {
          expect({
            key,
            status,
            documented: Boolean(op.responses[status]?.content?.['application/json']?.schema),
          }).toEqual({
            key,
            status,
            documented: true,
          });
        }
        expect(op.responses['403'].description).toContain(`\`${scope}\``);
        const success = Object.entries(op.responses as Record<string, any>).filter(([s]) =>
          /^2\d\d$/.test(s),
        );
        // The run stream answers Server-Sent Events, documented as such.
        const withSchema = success.filter(
          ([, r]) => r.content?.['application/json']?.schema ?? r.content?.['text/event-stream']?.schema,
        );
        // DELETE answers 204 and has no body to describe.
        const bodiless = success.length === 1 && success[0][0] === '204' && !success[0][1].content;
        expect({ key, documented: withSchema.length > 0 || bodiless }).toEqual({ key, documented: true });
        for (const [status, response] of Object.entries(op.responses as Record<string, any>)) {
          if (/^[45]/.test(status)) expect(response.content?.['application/json']?.schema).toBeDefined();
        }
        const body = op.requestBody?.content?.['application/json']?.schema;
        expect({ key, body: Boolean(body) }).toEqual({ key, body: WITH_BODY.includes(key) });
      }
    });

    it('documents sign-in without security, and the session routes with the session cookie', () => {
      expect(doc.components.securitySchemes.session).toEqual({
        type: 'apiKey',
        in: 'cookie',
        name: 'hookflow_session',
        description: expect.any(String),
      });
      expect(doc.paths['/api/session'].post.security ?? []).toEqual([]);
      expect(doc.paths['/api/session'].get.security).toEqual([{ session: [] }]);
      expect(sortedSecurity(doc.paths['/api/session'].delete.security)).toEqual([{}, { session: [] }]);
      expect(doc.paths['/api/session'].post.responses['200'].headers['Set-Cookie']).toBeDefined();
      expect(Object.keys(doc.paths['/api/session'].post.responses).sort()).toEqual(
        ['200', '400', '401', '403', '413', '429'].sort(),
      );
    });

    it('leaves the public routes without security and documents the trigger refusals', () => {
      for (const { key, op } of operations().filter((o) => !o.path.startsWith('/api/'))) {
        // /metrics asks for METRICS_TOKEN when it is set: either no credential or that one.
        const expected = key === 'GET /metrics' ? [{ metrics: [] }, {}] : [];
        expect({ key, security: op.security ?? [] }).toEqual({ key, security: expected });
      }
      expect(doc.components.securitySchemes.metrics).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(doc.paths['/metrics'].get.responses['401'].content['application/json'].schema).toBeDefined();
      const hook = doc.paths['/hooks/{key}'];
      expect(Object.keys(hook.post.responses).sort()).toEqual(
        ['200', '202', '400', '401', '403', '404', '405', '409', '413', '429', '431', '503'].sort(),
      );
      expect(hook.post.requestBody.content['application/json']).toBeDefined();
      expect(hook.get.requestBody).toBeUndefined();
      expect(hook.post.responses['429'].headers['Retry-After']).toBeDefined();
      expect(hook.post.responses['405'].headers.Allow).toBeDefined();
    });

    it('closes every request body, and documents the 400 for fields where no body is taken', () => {
      for (const key of WITH_BODY) {
        const [method, path] = key.split(' ');
        const body = doc.paths[path][method.toLowerCase()].requestBody.content['application/json'].schema;
        const schema = body.$ref ? doc.components.schemas[body.$ref.split('/').pop()] : body;
        expect({ key, additionalProperties: schema.additionalProperties }).toEqual({
          key,
          additionalProperties: false,
        });
      }
      for (const { key, method, op } of operations().filter((o) => o.path.startsWith('/api/'))) {
        if (method === 'get' || WITH_BODY.includes(key)) continue;
        expect({ key, documented: op.responses['400']?.description ?? '' }).toEqual({
          key,
          documented: expect.stringContaining('takes none'),
        });
      }
    });

    it('uses the flow JSON Schema for flow documents', () => {
      const flow = doc.components.schemas.FlowDocument;
      expect(flow.required).toEqual(['slug', 'trigger', 'steps']);
      expect(flow.$schema).toBeUndefined();
      expect(JSON.stringify(flow)).not.toContain('patternErrorMessage');
      expect(doc.paths['/api/flows'].post.requestBody.content['application/json'].schema).toEqual({
        $ref: '#/components/schemas/FlowDocument',
      });
    });
  });

  describe('the real answers match it', () => {
    const api = () => hf.http();
    const as = (req: Test) => req.set(hf.auth);

    /** Sends each request in order and checks its status and its body against the document. */
    async function expectAnswers(cases: [key: string, status: number, send: () => Test][]): Promise<void> {
      for (const [key, status, send] of cases) {
        const res = await send();
        expect({ key, status: res.status }).toEqual({ key, status });
        expectDocumented(key, res);
      }
    }

    it('for flows and triggers', async () => {
      const sample = { body: { id: 7 }, headers: { 'x-sample': '1' } };
      const owned = { path: 'flows/owned.flow.json', definition: flowDoc('owned') };
      const broken = { path: 'flows/broken.flow.json', definition: { slug: 'broken', steps: [] } };
      await expectAnswers([
        ['GET /api/flows', 401, () => api().get('/api/flows')],
        ['POST /api/flows', 201, () => as(api().post('/api/flows')).send(flowDoc('documented'))],
        ['POST /api/flows', 409, () => as(api().post('/api/flows')).send(flowDoc('documented'))],
        ['POST /api/flows', 400, () => as(api().post('/api/flows')).send({ slug: 'Bad Slug' })],
        ['POST /api/flows', 400, () => as(api().post('/api/flows')).type('json').send('{ nope')],
        ['POST /api/flows/validate', 200, () => as(api().post('/api/flows/validate')).send(flowDoc('v'))],
        ['GET /api/flows', 200, () => as(api().get('/api/flows?limit=1'))],
        ['GET /api/flows', 400, () => as(api().get('/api/flows?limit=0'))],
        ['GET /api/flows/{slug}', 200, () => as(api().get('/api/flows/documented'))],
        ['GET /api/flows/{slug}', 404, () => as(api().get('/api/flows/missing'))],
        [
          'PUT /api/flows/{slug}',
          200,
          () => as(api().put('/api/flows/documented')).send({ ...flowDoc('documented'), name: 'Renamed' }),
        ],
        ['GET /api/flows/{slug}/versions', 200, () => as(api().get('/api/flows/documented/versions'))],
        [
          'GET /api/flows/{slug}/versions/{version}',
          200,
          () => as(api().get('/api/flows/documented/versions/1')),
        ],
        [
          'GET /api/flows/{slug}/versions/{version}',
          400,
          () => as(api().get('/api/flows/documented/versions/x')),
        ],
        ['GET /api/flows/{slug}/export', 200, () => as(api().get('/api/flows/documented/export'))],
        [
          'POST /api/flows/{slug}/trigger/rotate',
          200,
          () => as(api().post('/api/flows/documented/trigger/rotate')),
        ],
        ['POST /api/flows/{slug}/test', 200, () => as(api().post('/api/flows/documented/test')).send(sample)],
        [
          'POST /api/flows/{slug}/test',
          400,
          () => as(api().post('/api/flows/documented/test')).send({ dryRun: false }),
        ],
        [
          'POST /api/flows/test',
          200,
          () => as(api().post('/api/flows/test')).send({ definition: flowDoc('unsaved'), ...sample }),
        ],
        ['POST /api/flows/test', 400, () => as(api().post('/api/flows/test')).send(sample)],
        [
          'POST /api/flows/{slug}/run',
          202,
          () => as(api().post('/api/flows/documented/run')).send({ ...sample, query: { tag: ['a', 'b'] } }),
        ],
        ['POST /api/flows/{slug}/run', 202, () => as(api().post('/api/flows/documented/run'))],
        [
          'POST /api/flows/{slug}/run',
          400,
          () => as(api().post('/api/flows/documented/run')).send({ dryRun: true }),
        ],
        [
          'POST /api/flows/{slug}/run',
          400,
          () => as(api().post('/api/flows/documented/run')).send({ headers: { 'x-n': 1 } }),
        ],
        ['POST /api/flows/{slug}/run', 404, () => as(api().post('/api/flows/missing/run')).send(sample)],
        [
          'POST /api/flows/sync',
          200,
          () => as(api().post('/api/flows/sync')).send({ files: [owned], dryRun: true }),
        ],
        ['POST /api/flows/sync', 200, () => as(api().post('/api/flows/sync')).send({ files: [owned] })],
        ['POST /api/flows/sync', 400, () => as(api().post('/api/flows/sync')).send({ files: [broken] })],
        ['PATCH /api/flows/{slug}', 409, () => as(api().patch('/api/flows/owned')).send({ enabled: false })],
        ['DELETE /api/flows/{slug}', 409, () => as(api().delete('/api/flows/owned'))],
        [
          'PATCH /api/flows/{slug}',
          400,
          () => as(api().patch('/api/flows/documented')).send({ enabled: 'no' }),
        ],
      ]);

      const { hookPath } = await hf.createFlow(flowDoc('inspected'));
      await expectAnswers([
        ['POST /hooks/{key}', 202, () => api().post(hookPath).send({ id: 1 })],
        ['PUT /hooks/{key}', 405, () => api().put(hookPath).send({ id: 2 })],
        ['POST /hooks/{key}', 400, () => api().post(hookPath).type('json').send('{ nope')],
        ['POST /hooks/{key}', 404, () => api().post('/hooks/no-such-key').send({})],
        ['GET /api/flows/{slug}/events', 200, () => as(api().get('/api/flows/inspected/events'))],
        [
          'GET /api/flows/{slug}/events',
          400,
          () => as(api().get('/api/flows/inspected/events?accepted=maybe')),
        ],
      ]);
      const events = (await as(api().get('/api/flows/inspected/events?accepted=false'))).body.items;
      const refusedHead = events.find((e: { reason: string }) => e.reason === 'method_not_allowed');
      const replay = (id: string) => as(api().post(`/api/flows/inspected/events/${id}/replay`));
      await expectAnswers([
        ['POST /api/flows/{slug}/events/{eventId}/replay', 409, () => replay(refusedHead.id)],
        ['POST /api/flows/{slug}/events/{eventId}/replay', 404, () => replay(randomUUID())],
        ['GET /api/flows/{slug}/steps/stats', 200, () => as(api().get('/api/flows/inspected/steps/stats'))],
        [
          'GET /api/flows/{slug}/steps/stats',
          400,
          () => as(api().get('/api/flows/inspected/steps/stats?since=soon')),
        ],
        ['GET /api/flows/{slug}/steps/stats', 404, () => as(api().get('/api/flows/missing/steps/stats'))],
      ]);
      await expectAnswers([
        [
          'PATCH /api/flows/{slug}',
          200,
          () => as(api().patch('/api/flows/inspected')).send({ enabled: false }),
        ],
        ['POST /hooks/{key}', 409, () => api().post(hookPath).send({ id: 3 })],
        ['DELETE /api/flows/{slug}', 204, () => as(api().delete('/api/flows/inspected'))],
        ['DELETE /api/flows/{slug}', 404, () => as(api().delete('/api/flows/inspected'))],
      ]);

      const url = 'https://receiver.example/hook';
      const hook = async (slug: string, trigger: object) =>
        (await hf.createFlow(flowDoc(slug, url, trigger))).hookPath;
      const guarded = await hook('guarded', { allowIps: ['203.0.113.0/24'] });
      const limited = await hook('limited', { rateLimit: { limit: 1, per: '1m' } });
      const deduped = await hook('deduped', { dedupe: { header: 'x-delivery-id' } });
      const signed = await hook('signed', { verify: { scheme: 'token', secret: 'NOT_STORED' } });
      await expectAnswers([
        ['POST /hooks/{key}', 403, () => api().post(guarded).send({ id: 1 })],
        ['POST /hooks/{key}', 202, () => api().post(limited).send({ id: 1 })],
        ['POST /hooks/{key}', 429, () => api().post(limited).send({ id: 2 })],
        ['POST /hooks/{key}', 202, () => api().post(deduped).set('x-delivery-id', 'd1').send({ id: 1 })],
        ['POST /hooks/{key}', 200, () => api().post(deduped).set('x-delivery-id', 'd1').send({ id: 1 })],
        ['POST /hooks/{key}', 401, () => api().post(signed).send({ id: 1 })],
      ]);
    });

    it('for the browser session', async () => {
      const signedIn = await api().post('/api/session').send({ key: hf.apiKey });
      const cookie = String(signedIn.headers['set-cookie'][0]).split(';')[0];
      expectDocumented('POST /api/session', signedIn);
      await expectAnswers([
        ['POST /api/session', 400, () => api().post('/api/session').send({})],
        ['POST /api/session', 401, () => api().post('/api/session').send({ key: 'hfk_wrong' })],
        [
          'POST /api/session',
          403,
          () => api().post('/api/session').set('origin', 'https://evil.example').send({ key: hf.apiKey }),
        ],
        [
          'POST /api/session',
          413,
          () =>
            api()
              .post('/api/session')
              .send({ key: 'k'.repeat(5000) }),
        ],
        ['GET /api/session', 200, () => api().get('/api/session').set('cookie', cookie)],
        ['GET /api/flows', 200, () => api().get('/api/flows').set('cookie', cookie)],
        [
          'POST /api/flows',
          403,
          () => api().post('/api/flows').set('cookie', cookie).send(flowDoc('no-csrf')),
        ],
        [
          'GET /api/flows',
          403,
          () => api().get('/api/flows').set('cookie', cookie).set('origin', 'https://evil.example'),
        ],
        ['DELETE /api/session', 204, () => api().delete('/api/session').set('cookie', cookie)],
        ['GET /api/session', 401, () => api().get('/api/session').set('cookie', cookie)],
      ]);
    });

    it('for API keys and scopes', async () => {
      const created = await as(api().post('/api/keys')).send({ name: 'reader', scope: 'read' });
      expect(created.status).toBe(201);
      expectDocumented('POST /api/keys', created);
      const { key: reader, id: readerId } = created.body;
      await expectAnswers([
        ['POST /api/keys', 400, () => as(api().post('/api/keys')).send({ name: 'x', scope: 'owner' })],
        ['POST /api/keys', 400, () => as(api().post('/api/keys')).send({ name: 'x', role: 'admin' })],
        ['DELETE /api/keys/{id}', 400, () => as(api().delete(`/api/keys/${readerId}`)).send({ force: true })],
        ['GET /api/keys', 200, () => as(api().get('/api/keys'))],
        ['GET /api/keys', 403, () => api().get('/api/keys').set('authorization', `Bearer ${reader}`)],
        [
          'POST /api/flows',
          403,
          () => api().post('/api/flows').set('authorization', `Bearer ${reader}`).send(flowDoc('read-only')),
        ],
        ['DELETE /api/keys/{id}', 204, () => as(api().delete(`/api/keys/${readerId}`))],
        ['DELETE /api/keys/{id}', 404, () => as(api().delete(`/api/keys/${readerId}`))],
      ]);
    });

    it('for runs and health', async () => {
      const sink = await SinkServer.start();
      let runId: string;
      try {
        sink.script('/refuse', [400]);
        const { hookPath } = await hf.createFlow(flowDoc('run-shapes', `${sink.url}/refuse`));
        // The worker runs this one run, so that the run has attempts and errors to check.
        await hf.startWorker();
        const accepted = await api().post(hookPath).send({ id: 1 });
        expectDocumented('POST /hooks/{key}', accepted);
        runId = accepted.body.runId;
        expect((await hf.waitForRun(runId)).status).toBe('failed');
      } finally {
        await hf.stopWorker();
        await sink.close();
      }
      const unknownRun = '00000000-0000-4000-8000-000000000000';
      await expectAnswers([
        ['GET /api/runs/{id}', 200, () => as(api().get(`/api/runs/${runId}`))],
        ['GET /api/runs/{id}', 404, () => as(api().get(`/api/runs/${unknownRun}`))],
        ['GET /api/runs', 200, () => as(api().get('/api/runs?flow=run-shapes&limit=5'))],
        ['GET /api/runs', 400, () => as(api().get('/api/runs?status=lost'))],
        ['GET /api/runs', 401, () => api().get('/api/runs')],
        ['POST /api/runs/{id}/cancel', 409, () => as(api().post(`/api/runs/${runId}/cancel`))],
        [
          'POST /api/runs/{id}/retry',
          400,
          () => as(api().post(`/api/runs/${runId}/retry`)).send({ all: true }),
        ],
        ['POST /api/runs/{id}/retry', 202, () => as(api().post(`/api/runs/${runId}/retry`))],
        ['POST /api/runs/{id}/retry', 409, () => as(api().post(`/api/runs/${runId}/retry`))],
        ['POST /api/runs/{id}/cancel', 200, () => as(api().post(`/api/runs/${runId}/cancel`))],
        ['POST /api/runs/{id}/replay', 202, () => as(api().post(`/api/runs/${runId}/replay?version=latest`))],
        ['POST /api/runs/{id}/replay', 400, () => as(api().post(`/api/runs/${runId}/replay?version=newest`))],
        [
          'POST /api/runs/retry',
          202,
          () => as(api().post('/api/runs/retry')).send({ flow: 'run-shapes', status: 'cancelled' }),
        ],
        [
          'POST /api/runs/retry',
          400,
          () => as(api().post('/api/runs/retry')).send({ flow: 'run-shapes', since: 'yesterday' }),
        ],
        ['POST /api/runs/retry', 404, () => as(api().post('/api/runs/retry')).send({ flow: 'no-such-flow' })],
        [
          'GET /api/stats',
          200,
          () =>
            as(api().get('/api/stats?bucket=minute&since=' + new Date(Date.now() - 3_600_000).toISOString())),
        ],
        ['GET /api/stats', 400, () => as(api().get('/api/stats?bucket=week'))],
        ['GET /health/live', 200, () => api().get('/health/live')],
        ['GET /health/ready', 200, () => api().get('/health/ready')],
      ]);
      const detail = (await as(api().get(`/api/runs/${runId}`))).body;
      expect(detail.steps[1].attempts[0]).toMatchObject({ n: 1, outcome: 'failed', responseStatus: 400 });
      expect(detail.steps[1].attempts[0].response).toMatchObject({ status: 400 });
    });
  });
});

/** `METHOD /path/{param}` of every controller route the application registered, read from Nest's metadata. */
function servedRoutes(app: INestApplication): string[] {
  const routes: string[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (!metatype) continue;
      const base = Reflect.getMetadata(PATH_METADATA, metatype) as string;
      for (const name of Object.getOwnPropertyNames(metatype.prototype)) {
        const handler = metatype.prototype[name];
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
        if (name === 'constructor' || path === undefined) continue;
        const segments = `${base}/${path}`.split('/').filter(Boolean);
        const route = `/${segments.join('/')}`.replace(/:(\w+)/g, '{$1}');
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        const methods = method === 'ALL' ? [...HTTP_METHODS] : [method];
        routes.push(...methods.map((m) => `${m} ${route}`));
      }
    }
  }
  return routes;
}

/** Points `#/components/schemas/X` at the document registered with Ajv under DOC_ID. */
function rebased<T>(schema: T): T {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', `"${DOC_ID}#/$defs/`));
}

/**
 * The component schemas with `additionalProperties: false` on the API's own object shapes, so an
 * answer with a field the document does not name fails. The flow document keeps its own rules.
 */
function closed(schemas: Record<string, unknown>): Record<string, unknown> {
  const close = (schema: unknown): unknown => {
    if (Array.isArray(schema)) return schema.map(close);
    if (!schema || typeof schema !== 'object') return schema;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(schema)) {
      out[key] = ['enum', 'default', 'examples', 'allOf'].includes(key) ? value : close(value);
    }
    if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
    return out;
  };
  return Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [name, name === 'FlowDocument' ? schema : close(schema)]),
  );
}
