import { flowJsonSchema } from '@hookflow/flows';
import Ajv2020 from 'ajv/dist/2020';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flowDocumentSchema, OPENAPI_SCHEMAS } from './openapi.schemas';

const FLOWS_DIR = path.resolve(process.cwd(), 'flows');
const exampleFlows = fs
  .readdirSync(FLOWS_DIR)
  .filter((f) => f.endsWith('.flow.json'))
  .map((f) => [f, JSON.parse(fs.readFileSync(path.join(FLOWS_DIR, f), 'utf8'))] as const);

const keysDeep = (value: unknown): string[] =>
  value && typeof value === 'object' ? Object.entries(value).flatMap(([k, v]) => [k, ...keysDeep(v)]) : [];

describe('flowDocumentSchema', () => {
  const schema = flowDocumentSchema() as Record<string, any>;

  it('drops the draft-07 dialect and id and the editor-only message keywords', () => {
    expect(schema.$schema).toBeUndefined();
    expect(schema.$id).toBeUndefined();
    expect(keysDeep(schema)).not.toContain('errorMessage');
    expect(keysDeep(schema)).not.toContain('patternErrorMessage');
    expect(keysDeep(flowJsonSchema)).toContain('patternErrorMessage');
  });

  it('keeps properties that are named like keywords, and the rules', () => {
    expect(schema.properties.$schema).toEqual({ description: expect.any(String), type: 'string' });
    expect(schema.required).toEqual(['slug', 'trigger', 'steps']);
    expect(schema.properties.steps.items.allOf.length).toBeGreaterThan(0);
  });

  const validate = new Ajv2020({ strict: false }).compile(schema);

  it.each(exampleFlows)('accepts the example %s', (_file, flow) => {
    expect(validate(flow) ? [] : validate.errors).toEqual([]);
  });

  it.each([
    [
      'a bad slug',
      {
        slug: 'Bad Slug',
        trigger: { type: 'webhook' },
        steps: [{ id: 'a', type: 'transform', expression: '$' }],
      },
    ],
    ['no steps', { slug: 'ok', trigger: { type: 'webhook' }, steps: [] }],
    [
      'a transform without expression',
      { slug: 'ok', trigger: { type: 'webhook' }, steps: [{ id: 'a', type: 'transform' }] },
    ],
  ])('refuses %s', (_name, flow) => {
    expect(validate(flow)).toBe(false);
  });
});

describe('OPENAPI_SCHEMAS', () => {
  it('are valid JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false });
    for (const [name, schema] of Object.entries(OPENAPI_SCHEMAS)) {
      expect({ name, valid: ajv.validateSchema(schema) }).toEqual({ name, valid: true });
    }
  });

  it('point only at schemas that exist', () => {
    const refs = [...JSON.stringify(OPENAPI_SCHEMAS).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)];
    expect(refs.length).toBeGreaterThan(0);
    for (const [, name] of refs) expect(Object.keys(OPENAPI_SCHEMAS)).toContain(name);
  });
});
