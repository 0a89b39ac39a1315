import { jest } from '@jest/globals';
import { connectionErrorLog } from './connection-errors';

describe('connectionErrorLog', () => {
  afterEach(() => jest.useRealTimers());

  it('logs the first error, then at most one per interval, naming the latest', () => {
    jest.useFakeTimers({ now: 0 });
    const lines: string[] = [];
    const onError = connectionErrorLog('queue connection', (line) => lines.push(line), 10_000);
    for (let second = 0; second < 25; second++) {
      onError(new Error(`refused ${second}`));
      jest.advanceTimersByTime(1_000);
    }
    expect(lines).toEqual([
      'queue connection: refused 0',
      'queue connection: refused 10',
      'queue connection: refused 20',
    ]);
  });
});
