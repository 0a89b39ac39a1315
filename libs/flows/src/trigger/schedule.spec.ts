import { cronIssue, fireSpecOf, nextFireTimes, tickAt, tickMissed, timedMethodOf } from './schedule';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('schedules', () => {
  it('fires `every` on multiples of the interval from the epoch', () => {
    const spec = fireSpecOf({ type: 'schedule', every: '30s' });
    expect(nextFireTimes(spec, at('2026-12-07T10:00:10.500Z'), 3).map(iso)).toEqual([
      '2026-12-07T10:00:30.000Z',
      '2026-12-07T10:01:00.000Z',
      '2026-12-07T10:01:30.000Z',
    ]);
    // Strictly after: a time on a tick gives the next one.
    expect(nextFireTimes(spec, at('2026-12-07T10:00:30.000Z'), 1).map(iso)).toEqual([
      '2026-12-07T10:01:00.000Z',
    ]);
  });

  it('reads cron fields in the time zone, daylight saving time included', () => {
    const spec = fireSpecOf({ type: 'schedule', cron: '0 9 * * 1-5', timezone: 'Europe/Berlin' });
    // Friday 2026-03-27 09:00 CET is 08:00Z; the next weekday, Monday 30th, is in CEST (07:00Z).
    expect(nextFireTimes(spec, at('2026-03-27T07:00:00Z'), 2).map(iso)).toEqual([
      '2026-03-27T08:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
    expect(fireSpecOf({ type: 'schedule', cron: '*/5 * * * *' })).toEqual({
      pattern: '*/5 * * * *',
      tz: 'UTC',
    });
  });

  it('takes the nearest tick for a due time a few milliseconds off', () => {
    const spec = fireSpecOf({ type: 'schedule', every: '1s' });
    expect(tickAt(spec, at('2026-12-07T10:00:00.999Z'))).toBe(at('2026-12-07T10:00:01.000Z'));
    expect(tickAt(spec, at('2026-12-07T10:00:01.003Z'))).toBe(at('2026-12-07T10:00:01.000Z'));
    const cron = fireSpecOf({ type: 'schedule', cron: '0 * * * *' });
    expect(tickAt(cron, at('2026-12-07T09:59:59.990Z'))).toBe(at('2026-12-07T10:00:00.000Z'));
  });

  it.each([
    ['every 1s, 4 s late (a busy worker)', '1s', 4_000, false],
    ['every 1s, 6 s late', '1s', 6_000, true],
    ['every 10s, 9 s late', '10s', 9_000, false],
    ['every 10s, 11 s late', '10s', 11_000, true],
    ['every 1h, 59 s late', '1h', 59_000, false],
    ['every 1h, 61 s late (everything was down)', '1h', 61_000, true],
  ])('counts a tick as missed: %s', (_name, every, lateMs, missed) => {
    const spec = fireSpecOf({ type: 'schedule', every });
    const tick = at('2026-12-07T10:00:00Z');
    expect(tickMissed(spec, tick, tick + lateMs)).toBe(missed);
  });

  it.each([
    ['0 9 * * 1-5', undefined, undefined],
    ['*/10 * * * * *', 'Asia/Tokyo', undefined],
    ['@daily', undefined, undefined],
    ['61 * * * *', undefined, 'cron'],
    ['0 0 31 2 *', undefined, 'cron'],
    ['* * *', undefined, 'cron'],
    ['0 9 * * *', 'Mars/Olympus', 'timezone'],
  ])('checks cron %s in %s', (pattern, tz, field) => {
    expect(cronIssue(pattern, tz)?.field).toBe(field);
  });

  it('names the method of runs without a request', () => {
    expect(timedMethodOf({ trigger: { type: 'schedule', every: '1m' } })).toBe('SCHEDULE');
    expect(timedMethodOf({ trigger: { type: 'poll', every: '1m', request: {}, key: 'id' } })).toBe('POLL');
    expect(timedMethodOf({ trigger: { type: 'webhook' } })).toBeUndefined();
  });
});
