import { judgeRedisPolicy } from './redis-policy';

describe('judgeRedisPolicy', () => {
  it.each(['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl'])(
    "calls '%s' an error that names the policy, the risk and the fix",
    (policy) => {
      const verdict = judgeRedisPolicy({ policy, via: 'INFO' });
      expect(verdict.level).toBe('error');
      expect(verdict.message).toContain(`'${policy}', not 'noeviction'`);
      expect(verdict.message).toMatch(/evict/);
      expect(verdict.message).toContain('CONFIG SET maxmemory-policy noeviction');
    },
  );

  it('says nothing loud about noeviction', () => {
    expect(judgeRedisPolicy({ policy: 'noeviction', via: 'CONFIG GET' }).level).toBe('ok');
  });

  it('warns when the policy could not be read, saying why', () => {
    const verdict = judgeRedisPolicy({
      policy: undefined,
      problem: 'CONFIG GET: NOPERM; INFO memory: NOPERM',
    });
    expect(verdict.level).toBe('warn');
    expect(verdict.message).toContain('could not check');
    expect(verdict.message).toContain('NOPERM');
  });
});
