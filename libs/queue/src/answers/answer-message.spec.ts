import { MAX_CARRIED_ANSWER_BYTES, answerMessage, readAnswerMessage } from './answer-message';
import { pgAnswerChannel } from './answer-transports';

const RUN = '00000000-0000-4000-8000-000000000001';
const answer = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };

describe('answer messages', () => {
  it('carry a small answer whole', () => {
    expect(readAnswerMessage(answerMessage(RUN, 'answer', answer))).toEqual({
      runId: RUN,
      kind: 'answer',
      answer,
    });
  });

  it('name a large answer, to be read from the store, and stay within a NOTIFY payload', () => {
    const large = { ...answer, body: 'x'.repeat(MAX_CARRIED_ANSWER_BYTES) };
    const text = answerMessage(RUN, 'answer', large);
    expect(readAnswerMessage(text)).toEqual({ runId: RUN, kind: 'stored' });
    expect(Buffer.byteLength(text)).toBeLessThan(8000);
  });

  it('say that none will come', () => {
    expect(readAnswerMessage(answerMessage(RUN, 'none', null))).toEqual({ runId: RUN, kind: 'none' });
  });

  it.each<[string, string]>([
    ['not JSON', 'hello'],
    ['no run id', '{"kind":"none"}'],
    ['a run id that is not one', '{"runId":"../x","kind":"none"}'],
    ['an unknown kind', `{"runId":"${RUN}","kind":"maybe"}`],
  ])('are ignored when %s', (_name, text) => {
    expect(readAnswerMessage(text)).toBeNull();
  });

  it('turn an answer that cannot be sent into none, so the sender gets the default at once', () => {
    const text = JSON.stringify({
      runId: RUN,
      kind: 'answer',
      answer: { ...answer, headers: { a: 'b\r\nc' } },
    });
    expect(readAnswerMessage(text)).toEqual({ runId: RUN, kind: 'none' });
  });

  it('go on a PostgreSQL channel named after the queue prefix, or its hash when that is too long', () => {
    expect(pgAnswerChannel('hookflow')).toBe('hookflow_answers');
    expect(pgAnswerChannel('p'.repeat(60))).toMatch(/^hookflow_answers_[0-9a-f]{32}$/);
  });
});
