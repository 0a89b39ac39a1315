import { jest } from '@jest/globals';
import type { ApiKeyScope } from '@hookflow/store';
import { AppError } from '../common/app-error';
import { scopeAllows, type ApiCaller } from './api-key-scope';
import { ApiKeysService } from './api-keys.service';

/** ApiKeysService over a fake repository that hands back what it is given. */
function newKeysService() {
  const mocks = {
    keys: {
      create: jest.fn(async (name: string, _hash: Buffer, scope: ApiKeyScope) => ({
        id: 'k1',
        name,
        scope,
        createdAt: new Date(0),
      })),
    },
    verifier: { forgetDeleted: jest.fn() },
  };
  return { sut: new ApiKeysService(mocks.keys as never, mocks.verifier as never), mocks };
}

const caller = (scope: ApiKeyScope): ApiCaller => ({ keyId: 'caller', scope });

describe('scopeAllows', () => {
  it.each<[ApiKeyScope, ApiKeyScope, boolean]>([
    ['read', 'read', true],
    ['read', 'write', false],
    ['read', 'admin', false],
    ['write', 'read', true],
    ['write', 'write', true],
    ['write', 'admin', false],
    ['admin', 'read', true],
    ['admin', 'write', true],
    ['admin', 'admin', true],
  ])('%s covers %s: %s', (held, needed, allowed) => {
    expect(scopeAllows(held, needed)).toBe(allowed);
  });
});

describe('ApiKeysService.create', () => {
  it.each<[ApiKeyScope, ApiKeyScope]>([
    ['admin', 'admin'],
    ['admin', 'write'],
    ['admin', 'read'],
    ['write', 'write'],
    ['write', 'read'],
    ['read', 'read'],
  ])('lets a %s key make a %s key', async (held, wanted) => {
    const { sut, mocks } = newKeysService();
    const made = await sut.create({ name: 'k', scope: wanted }, caller(held));
    expect(made).toMatchObject({ scope: wanted, key: expect.stringMatching(/^hfk_/) });
    expect(mocks.keys.create).toHaveBeenCalledWith('k', expect.any(Buffer), wanted);
  });

  it.each<[ApiKeyScope, ApiKeyScope]>([
    ['write', 'admin'],
    ['read', 'write'],
    ['read', 'admin'],
  ])('refuses a %s key a %s key with 403 naming the scope', async (held, wanted) => {
    const { sut, mocks } = newKeysService();
    const refused = await sut.create({ name: 'k', scope: wanted }, caller(held)).catch((e: AppError) => e);
    expect(refused).toMatchObject({ code: 'insufficient_scope', status: 403 });
    expect((refused as AppError).message).toContain(`'${wanted}' scope`);
    expect(mocks.keys.create).not.toHaveBeenCalled();
  });

  it('makes a read key when no scope is asked for', async () => {
    const { sut } = newKeysService();
    await expect(sut.create({ name: 'k' }, caller('admin'))).resolves.toMatchObject({ scope: 'read' });
  });

  it.each([['owner'], [''], [1], [null], [['read']]])(
    'refuses scope %j with 400 naming the field',
    async (scope) => {
      const { sut } = newKeysService();
      await expect(sut.create({ name: 'k', scope }, caller('admin'))).rejects.toMatchObject({
        code: 'invalid_request',
        details: [{ path: '/scope' }],
      });
    },
  );
});
