import type { OpenAPIObject } from '@nestjs/swagger';
import { AppError } from './app-error';
import { RequestBodyCheck } from './request-body-check';

const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const document = {
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  components: {
    schemas: {
      Patch: {
        type: 'object',
        additionalProperties: false,
        properties: {
          enabled: { type: 'boolean' },
          nested: { type: 'object', additionalProperties: false, properties: { a: { type: 'string' } } },
          free: { type: 'object' },
          list: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
          flow: { $ref: '#/components/schemas/FlowDocument' },
        },
      },
      Item: { type: 'object', additionalProperties: false, properties: { id: { type: 'string' } } },
      FlowDocument: { type: 'object', additionalProperties: false, properties: { slug: { type: 'string' } } },
    },
  },
  paths: {
    '/api/things/{id}': {
      patch: { requestBody: json({ $ref: '#/components/schemas/Patch' }), responses: {} },
      post: { responses: {} },
    },
    '/hooks/{key}': { post: { requestBody: json({}), responses: {} } },
  },
} as unknown as OpenAPIObject;

/** Runs the check as Nest would for `method route` with `body`: the refusal's details, or [] when it passes. */
function refused(method: string, route: string, body: unknown): { path: string; message: string }[] {
  const check = new RequestBodyCheck();
  check.load(document);
  const context = {
    switchToHttp: () => ({ getRequest: () => ({ method, routeOptions: { url: route }, body }) }),
  };
  try {
    check.intercept(context as never, { handle: () => undefined as never });
    return [];
  } catch (err) {
    if (err instanceof AppError) return err.details;
    throw err;
  }
}

describe('RequestBodyCheck', () => {
  it.each<[string, unknown, string[]]>([
    ['known fields', { enabled: true, nested: { a: 'x' }, list: [{ id: '1' }] }, []],
    ['an unknown field', { enabled: true, role: 'admin' }, ['/role']],
    [
      'several, at any depth',
      { nested: { b: 1 }, list: [{ id: '1' }, { name: 'x' }], x: 1 },
      ['/nested/b', '/list/1/name', '/x'],
    ],
    ['a field whose name needs escaping', { 'a/b~c': 1 }, ['/a~1b~0c']],
    ['fields of a free-form object', { free: { anything: 1 } }, []],
    ['fields of a flow document (its own schema checks it)', { flow: { colour: 'red' } }, []],
    ['values of the wrong type (the service explains those)', { enabled: 'yes', nested: 5 }, []],
    ['a body that is not an object', 'text', []],
    ['no body', undefined, []],
  ])('%s', (_name, body, pointers) => {
    expect(
      refused('PATCH', '/api/things/:id', body)
        .map((d) => d.path)
        .sort(),
    ).toEqual([...pointers].sort());
  });

  it('refuses fields sent to a route that documents no body, and lets an empty body through', () => {
    expect(refused('POST', '/api/things/:id', { version: 'latest' })).toEqual([
      { path: '/version', message: 'is not a field of this request' },
    ]);
    expect(refused('POST', '/api/things/:id', {})).toEqual([]);
    expect(refused('POST', '/api/things/:id', undefined)).toEqual([]);
  });

  it('leaves routes outside /api alone', () => {
    expect(refused('POST', '/hooks/:key', { anything: 1 })).toEqual([]);
  });
});
