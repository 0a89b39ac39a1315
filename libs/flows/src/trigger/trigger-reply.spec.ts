import { acceptedReply, compileReply, duplicateReply } from './trigger-reply';

const ids = { runId: 'run-1', eventId: 'event-1' };
const JSON_TYPE = 'application/json; charset=utf-8';

describe('trigger replies', () => {
  it.each<[string, Record<string, unknown>, number, Record<string, string>, string]>([
    ['no respond', {}, 202, { 'content-type': JSON_TYPE }, '{"runId":"run-1","eventId":"event-1"}'],
    ['a text body', { body: 'OK' }, 202, { 'content-type': 'text/plain; charset=utf-8' }, 'OK'],
    ['an empty text body', { body: '' }, 202, { 'content-type': 'text/plain; charset=utf-8' }, ''],
    ['a JSON object', { status: 200, body: { ok: true } }, 200, { 'content-type': JSON_TYPE }, '{"ok":true}'],
    ['a JSON array', { body: [1, 'a'] }, 202, { 'content-type': JSON_TYPE }, '[1,"a"]'],
    ['a number', { body: 42 }, 202, { 'content-type': JSON_TYPE }, '42'],
    ['false', { body: false }, 202, { 'content-type': JSON_TYPE }, 'false'],
    ['null', { body: null }, 202, { 'content-type': JSON_TYPE }, 'null'],
    [
      'a configured content type, whatever its case',
      { body: '<ok/>', headers: { 'Content-Type': 'application/xml', 'X-Ack': 'yes' } },
      202,
      { 'content-type': 'application/xml', 'x-ack': 'yes' },
      '<ok/>',
    ],
    [
      'a JSON body labelled as text',
      { body: { ok: 1 }, headers: { 'content-type': 'text/plain' } },
      202,
      { 'content-type': 'text/plain' },
      '{"ok":1}',
    ],
    [
      '204: no body',
      { status: 204, body: 'dropped' },
      204,
      { 'content-type': 'text/plain; charset=utf-8' },
      '',
    ],
  ])(
    'answers an accepted request with %s, and a repeat the same',
    (_name, respond, status, headers, body) => {
      const { reply } = compileReply(respond);
      expect(acceptedReply(reply, ids)).toEqual({ status, headers, body });
      if ('body' in respond) expect(duplicateReply(reply, 'run-1')).toEqual({ status, headers, body });
    },
  );

  it('answers a repeat without a configured body with 200 or the configured status, naming the run', () => {
    const duplicate = '{"runId":"run-1","duplicate":true}';
    expect(duplicateReply(compileReply(undefined).reply, 'run-1')).toEqual({
      status: 200,
      headers: { 'content-type': JSON_TYPE },
      body: duplicate,
    });
    expect(duplicateReply(compileReply({ status: 201, headers: { 'x-a': '1' } }).reply, 'run-1')).toEqual({
      status: 201,
      headers: { 'x-a': '1', 'content-type': JSON_TYPE },
      body: duplicate,
    });
    expect(duplicateReply(compileReply({ status: 204 }).reply, 'run-1')).toEqual({
      status: 204,
      headers: {},
      body: '',
    });
  });

  it('leaves out headers the server sets and headers Node would refuse, and names them', () => {
    const { reply, dropped } = compileReply({
      body: 'OK',
      headers: {
        'Content-Length': '999',
        'transfer-encoding': 'chunked',
        Connection: 'close',
        'x-split': 'a\r\nset-cookie: evil=1',
        'bad name': 'v',
        'x-good': 'kept',
      },
    });
    expect(dropped).toEqual(['Content-Length', 'transfer-encoding', 'Connection', 'x-split', 'bad name']);
    expect(reply.headers).toEqual({ 'x-good': 'kept', 'content-type': 'text/plain; charset=utf-8' });
  });
});
