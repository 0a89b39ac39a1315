import type { FlowDefinition } from './flow-definition';
import { planFlowSync, type LiveFlow, type SyncFile, type SyncPlan, type SyncScope } from './sync-plan';

function def(slug: string, extra: Partial<FlowDefinition> = {}): FlowDefinition {
  return {
    slug,
    trigger: { type: 'webhook' },
    steps: [{ id: 'shape', type: 'transform', expression: '$' }],
    ...extra,
  };
}

function live(slug: string, source: string, extra: Partial<LiveFlow> = {}): LiveFlow {
  return { slug, source, enabled: true, version: 3, definition: def(slug), ...extra };
}

const file = (path: string, definition: FlowDefinition): SyncFile => ({ path, definition });
const NOTHING: Omit<SyncPlan, 'dryRun'> = { created: [], updated: [], unchanged: [], disabled: [] };

describe('planFlowSync', () => {
  it.each<[string, LiveFlow[], SyncFile[], SyncScope, Partial<SyncPlan>]>([
    [
      'a new file creates its flow at version 1',
      [],
      [file('flows/a.flow.json', def('a'))],
      {},
      { created: [{ slug: 'a', path: 'flows/a.flow.json', version: 1 }] },
    ],
    [
      'the same definition, keys in another order, from its owner: unchanged',
      [live('a', 'flows/a.flow.json')],
      [file('flows/a.flow.json', { steps: def('a').steps, trigger: { type: 'webhook' }, slug: 'a' })],
      {},
      { unchanged: [{ slug: 'a', path: 'flows/a.flow.json' }] },
    ],
    [
      'a changed definition: the next version, with what changed',
      [live('a', 'flows/a.flow.json')],
      [file('flows/a.flow.json', def('a', { name: 'A' }))],
      {},
      {
        updated: [
          { slug: 'a', path: 'flows/a.flow.json', fromVersion: 3, toVersion: 4, changes: ['name changed'] },
        ],
      },
    ],
    [
      "an API flow's definition in a file: the file takes it over, same version",
      [live('a', 'api')],
      [file('flows/a.flow.json', def('a'))],
      {},
      {
        updated: [
          {
            slug: 'a',
            path: 'flows/a.flow.json',
            fromVersion: 3,
            toVersion: 3,
            changes: ['now managed by flows/a.flow.json'],
          },
        ],
      },
    ],
    [
      'a flow moved to another file names the old one',
      [live('a', 'flows/old.flow.json')],
      [file('flows/a.flow.json', def('a'))],
      {},
      {
        updated: [
          {
            slug: 'a',
            path: 'flows/a.flow.json',
            fromVersion: 3,
            toVersion: 3,
            changes: ['now managed by flows/a.flow.json (was flows/old.flow.json)'],
          },
        ],
      },
    ],
    [
      'a pruned flow whose file is back is enabled again, same version',
      [live('a', 'flows/a.flow.json', { enabled: false })],
      [file('flows/a.flow.json', def('a'))],
      {},
      {
        updated: [
          {
            slug: 'a',
            path: 'flows/a.flow.json',
            fromVersion: 3,
            toVersion: 3,
            changes: ['enabled: false -> true'],
          },
        ],
      },
    ],
    [
      'enabled set in the file is named once, by the diff',
      [live('a', 'flows/a.flow.json')],
      [file('flows/a.flow.json', def('a', { enabled: false }))],
      {},
      {
        updated: [
          {
            slug: 'a',
            path: 'flows/a.flow.json',
            fromVersion: 3,
            toVersion: 4,
            changes: ['enabled: unset -> false'],
          },
        ],
      },
    ],
    [
      'without prune, a flow whose file is gone stays',
      [live('gone', 'flows/gone.flow.json')],
      [file('flows/a.flow.json', def('a'))],
      {},
      { created: [{ slug: 'a', path: 'flows/a.flow.json', version: 1 }] },
    ],
    [
      "a prune disables file-owned flows in the files' folders whose file is gone, and nothing else",
      [
        live('gone', 'flows/gone.flow.json'),
        live('nested', 'flows/team/x.flow.json'),
        live('elsewhere', 'ci/x.flow.json'),
        live('by-api', 'api'),
        live('off', 'flows/off.flow.json', { enabled: false }),
        live('a', 'flows/a.flow.json'),
      ],
      [file('flows/a.flow.json', def('a'))],
      { prune: true },
      {
        unchanged: [{ slug: 'a', path: 'flows/a.flow.json' }],
        disabled: [
          { slug: 'gone', source: 'flows/gone.flow.json' },
          { slug: 'nested', source: 'flows/team/x.flow.json' },
        ],
      },
    ],
    [
      'a prune keeps the flows of files that could not be read, and keeps to its scope',
      [
        live('broken', 'flows/broken.flow.json'),
        live('gone', 'flows/gone.flow.json'),
        live('ci', 'ci/x.flow.json'),
      ],
      [],
      { prune: true, keepSources: ['flows/broken.flow.json'], pruneScope: ['flows/'] },
      { disabled: [{ slug: 'gone', source: 'flows/gone.flow.json' }] },
    ],
    [
      'a top-level file prunes everything file-owned',
      [live('gone', 'elsewhere/gone.flow.json')],
      [file('a.flow.json', def('a'))],
      { prune: true },
      {
        created: [{ slug: 'a', path: 'a.flow.json', version: 1 }],
        disabled: [{ slug: 'gone', source: 'elsewhere/gone.flow.json' }],
      },
    ],
    [
      'a file that owns a slug keeps it from a prune, whatever file owned it before',
      [live('a', 'flows/old/a.flow.json')],
      [file('flows/a.flow.json', def('a'))],
      { prune: true },
      {
        updated: [
          {
            slug: 'a',
            path: 'flows/a.flow.json',
            fromVersion: 3,
            toVersion: 3,
            changes: ['now managed by flows/a.flow.json (was flows/old/a.flow.json)'],
          },
        ],
      },
    ],
  ])('%s', (_name, flows, files, scope, expected) => {
    expect(planFlowSync(flows, files, scope)).toEqual({ dryRun: true, ...NOTHING, ...expected });
  });
});
