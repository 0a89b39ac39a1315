import { StallDetector } from './queue-watchdog';

const STALL_MS = 1_000;
const reading = (now: number, waiting: number, active = 0, concurrency = 4) => ({
  now,
  waiting,
  active,
  concurrency,
});

describe('StallDetector', () => {
  it('flags a consumer that took nothing for stallMs while jobs waited and slots were free', () => {
    const d = new StallDetector(STALL_MS, 0);
    expect(d.observe(reading(0, 5))).toBe(false);
    expect(d.observe(reading(500, 5, 1))).toBe(false);
    expect(d.observe(reading(1_000, 5, 3))).toBe(true);
  });

  it('counts from when jobs were first seen waiting, not from the last job long ago', () => {
    // Idle for a minute with nothing to do, then a job arrives: a healthy consumer takes it at once.
    const d = new StallDetector(STALL_MS, 0);
    expect(d.observe(reading(60_000, 1))).toBe(false);
    expect(d.observe(reading(60_900, 1))).toBe(false);
    expect(d.observe(reading(61_000, 1))).toBe(true);
  });

  it('a job started meanwhile means it is not stuck', () => {
    const d = new StallDetector(STALL_MS, 0);
    d.observe(reading(0, 5));
    d.jobStarted(900);
    expect(d.observe(reading(1_000, 5))).toBe(false);
    expect(d.observe(reading(1_900, 5))).toBe(true);
  });

  it.each([
    ['nothing waits', reading(5_000, 0)],
    ['every slot is busy (slow receivers)', reading(5_000, 9, 4, 4)],
  ])('is never stuck when %s, and starts counting afresh after', (_what, quiet) => {
    const d = new StallDetector(STALL_MS, 0);
    d.observe(reading(0, 5));
    expect(d.observe(quiet)).toBe(false);
    expect(d.observe(reading(5_500, 5))).toBe(false);
    expect(d.observe(reading(6_500, 5))).toBe(true);
  });

  it('gives a replacement its own stallMs', () => {
    const d = new StallDetector(STALL_MS, 0);
    d.observe(reading(0, 5));
    expect(d.observe(reading(1_000, 5))).toBe(true);
    d.reset(1_000);
    expect(d.observe(reading(1_500, 5))).toBe(false);
    expect(d.observe(reading(2_000, 5))).toBe(false);
    expect(d.observe(reading(2_500, 5))).toBe(true);
  });
});
