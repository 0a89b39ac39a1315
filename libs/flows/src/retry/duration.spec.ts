import { isDuration, parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['0s', 0],
    ['10s', 10_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    [0, 0],
    [1500, 1500],
  ])('%p -> %p ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['10'],
    ['1.5s'],
    ['-1s'],
    ['10 s'],
    ['1w'],
    ['s'],
    [''],
    ['1S'],
    [-1],
    [1.5],
    [Number.NaN],
    [Infinity],
  ])('rejects %p', (input) => {
    expect(() => parseDuration(input)).toThrow(/invalid duration/);
  });

  it('rejects values beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999999d')).toThrow(/invalid duration/);
  });
});

describe('isDuration', () => {
  it.each([
    ['5m', true],
    [100, true],
    ['5 minutes', false],
    [-5, false],
    [null, false],
    [{}, false],
  ])('%p -> %p', (value, expected) => {
    expect(isDuration(value)).toBe(expected);
  });
});
