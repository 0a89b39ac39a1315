import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { flowJsonSchema } from './flow.schema';

const PUBLISHED = path.resolve(process.cwd(), 'schema/flow.schema.json');

describe('flowJsonSchema', () => {
  // Regenerate after changing flow.schema.ts:
  //   WRITE_FLOW_SCHEMA=1 npx jest libs/flows/src/validation/flow.schema.spec.ts && npx prettier --write schema
  if (process.env.WRITE_FLOW_SCHEMA === '1') {
    fs.writeFileSync(PUBLISHED, `${JSON.stringify(flowJsonSchema, null, 2)}\n`);
  }

  it('is published unchanged as schema/flow.schema.json', () => {
    const published = JSON.parse(fs.readFileSync(PUBLISHED, 'utf8'));
    expect(published).toEqual(flowJsonSchema);
  });

  it('is a valid draft-07 schema with an $id and a title', () => {
    const ajv = new Ajv({ strict: false });
    expect(ajv.validateSchema(flowJsonSchema)).toBe(true);
    expect(flowJsonSchema.$id).toMatch(/^https:\/\/.+\/flow\.schema\.json$/);
    expect(flowJsonSchema.title).toEqual(expect.any(String));
  });

  it('uses no $ref, so each subschema stands alone for editors and error paths', () => {
    expect(JSON.stringify(flowJsonSchema)).not.toContain('"$ref"');
  });
});
