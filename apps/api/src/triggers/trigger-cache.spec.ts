import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { FlowDefinition, TriggerDef } from '@hookflow/flows';
import { InProcessEvaluator } from '@hookflow/flows/transform';
import { loadConfig } from '@hookflow/platform';
import type { TriggerTarget } from '@hookflow/store';
import { TriggerCache } from './trigger-cache';

const KEY = 'unit-trigger-key';
const config = loadConfig({
  DATABASE_URL: 'postgres://unit@127.0.0.1/unit',
  HOOKFLOW_API_KEY: 'unit-test-api-key-0000',
});
const warned = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
beforeEach(() => warned.mockClear());

/** A trigger cache over a fake flow repository holding one trigger; it never listens (no database). */
function newTestService(trigger: Omit<TriggerDef, 'type'> = {}) {
  const definition: FlowDefinition = {
    slug: 'unit',
    trigger: { type: 'webhook', ...trigger },
    steps: [{ id: 'shape', type: 'transform', expression: '$' }],
  };
  const target: TriggerTarget = {
    triggerId: 't1',
    flowId: 'f1',
    slug: 'unit',
    enabled: true,
    versionId: 'v1',
    version: 1,
    definition,
  };
  const mocks = {
    flows: { findTriggerTarget: jest.fn(async (key: string) => (key === KEY ? target : null)) },
  };
  const sut = new TriggerCache(mocks.flows as never, config, new InProcessEvaluator() as never);
  return { sut, mocks };
}

describe('TriggerCache', () => {
  it('reads a trigger once, compiled, and serves it from memory after', async () => {
    const { sut, mocks } = newTestService({ methods: ['PUT'] });
    const [first, second] = await Promise.all([sut.get(KEY), sut.get(KEY)]);
    expect(await sut.get(KEY)).toBe(first);
    expect(second).toBe(first);
    expect(mocks.flows.findTriggerTarget).toHaveBeenCalledTimes(1);
    expect(first).toMatchObject({
      flowId: 'f1',
      versionId: 'v1',
      methods: new Set(['PUT']),
      maxBodyBytes: 1_048_576,
    });
    // Ingress reads the compiled trigger only, never the definition.
    expect(first).not.toHaveProperty('definition');
  });

  it('remembers an unknown key as none: a flood of one guessed key costs one query', async () => {
    const { sut, mocks } = newTestService();
    for (let i = 0; i < 5; i++) expect(await sut.get('guessed')).toBeNull();
    expect(mocks.flows.findTriggerTarget).toHaveBeenCalledTimes(1);
  });

  it('never looks up what cannot be a key', async () => {
    const { sut, mocks } = newTestService();
    for (const key of ['a\u0000b', 'a b', 'a/b', 'x'.repeat(201), '']) expect(await sut.get(key)).toBeNull();
    expect(mocks.flows.findTriggerTarget).not.toHaveBeenCalled();
  });

  it('reads again after clear(), as after a flow change', async () => {
    const { sut, mocks } = newTestService();
    await sut.get(KEY);
    sut.clear();
    await sut.get(KEY);
    expect(mocks.flows.findTriggerTarget).toHaveBeenCalledTimes(2);
  });

  it('adds what needs the process: an address matcher and a dedupe key over the sandbox', async () => {
    const { sut } = newTestService({ allowIps: ['203.0.113.0/24'], dedupe: { expression: 'body.id' } });
    const entry = await sut.get(KEY);
    expect(entry?.allowIps?.('203.0.113.7')).toBe(true);
    expect(entry?.allowIps?.('198.51.100.1')).toBe(false);
    await expect(
      entry?.dedupeKey?.({ body: { id: 'o-1' }, query: {}, headers: {}, method: 'POST', rawHeaders: {} }),
    ).resolves.toBe('o-1');
  });

  it('has neither without allowIps or dedupe', async () => {
    const { sut } = newTestService();
    expect(await sut.get(KEY)).toMatchObject({ allowIps: null, dedupeKey: null });
  });

  it('tells the operator which respond headers it left out', async () => {
    const { sut } = newTestService({ respond: { headers: { 'Content-Length': '3', 'x-ok': 'y' } } });
    expect((await sut.get(KEY))?.reply.headers).toEqual({ 'x-ok': 'y' });
    expect(warned).toHaveBeenCalledWith(
      expect.objectContaining({ msg: expect.stringContaining('Content-Length'), flow: 'unit' }),
    );
  });
});
