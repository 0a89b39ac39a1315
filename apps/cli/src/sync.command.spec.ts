import { formatSyncResult, type SyncResult } from './sync.command';

const result: SyncResult = {
  dryRun: false,
  created: [{ slug: 'order-fanout', path: 'flows/order-fanout.flow.json', version: 1 }],
  updated: [
    {
      slug: 'stripe-payment-to-chat',
      path: 'flows/stripe-payment-to-chat.flow.json',
      fromVersion: 1,
      toVersion: 2,
      changes: ["step 'post' changed (with.url)", "step 'extra' added"],
    },
  ],
  unchanged: [{ slug: 'github-push', path: 'flows/github-push.flow.json' }],
  disabled: [{ slug: 'old', source: 'flows/old.flow.json' }],
};

describe('formatSyncResult', () => {
  it('prints one aligned line a flow and what was done', () => {
    expect(formatSyncResult(result)).toEqual([
      '+ created    order-fanout            (flows/order-fanout.flow.json)',
      "~ updated    stripe-payment-to-chat  v1 -> v2: step 'post' changed (with.url); step 'extra' added",
      '= unchanged  github-push',
      '- disabled   old                     (flows/old.flow.json is gone)',
      'Applied: 1 created, 1 updated, 1 unchanged, 1 disabled.',
    ]);
  });

  it('says a plan changed nothing', () => {
    const plan = { ...result, dryRun: true, updated: [], disabled: [] };
    expect(formatSyncResult(plan)).toEqual([
      '+ created    order-fanout  (flows/order-fanout.flow.json)',
      '= unchanged  github-push',
      'Plan: 1 to create, 0 to update, 1 unchanged, 0 to disable (2 flows; dry run, nothing changed).',
    ]);
  });
});
