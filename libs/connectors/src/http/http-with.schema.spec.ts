import Ajv from 'ajv';
import { httpWithSchema } from './http-with.schema';

describe('httpWithSchema', () => {
  const validate = new Ajv({ strict: true }).compile(httpWithSchema);

  it.each<[string, unknown, boolean]>([
    ['url only', { url: 'https://h/{{steps.a.id}}' }, true],
    [
      'everything but body',
      { method: 'put', url: 'u', headers: { a: 'b' }, query: { q: ['1', 2] }, json: [1] },
      true,
    ],
    ['body', { method: 'POST', url: 'u', body: 'x=1' }, true],
    ['json null', { url: 'u', json: null }, true],
    ['no url', { json: {} }, false],
    ['json and body', { url: 'u', json: {}, body: 'x' }, false],
    ['unknown method', { url: 'u', method: 'TRACE' }, false],
    ['header not a string', { url: 'u', headers: { a: 1 } }, false],
    ['query object', { url: 'u', query: { a: { b: 1 } } }, false],
    ['unknown option', { url: 'u', signature: {} }, false],
    ['sign with a secret name', { url: 'u', json: {}, sign: { secret: 'SHIP_WHSEC' } }, true],
    ['sign without a secret', { url: 'u', sign: {} }, false],
    ['sign with a value instead of a name', { url: 'u', sign: { secret: 'whsec_a+b=' } }, false],
    ['sign with another option', { url: 'u', sign: { secret: 'S', algorithm: 'sha1' } }, false],
  ])('%s -> valid %p', (_name, value, valid) => {
    expect(validate(value)).toBe(valid);
  });
});
