import { createConnectorRegistry } from '@hookflow/connectors';
import type { HookflowConfig } from '@hookflow/platform';
import type { FlowRepository, SecretRepository } from '@hookflow/store';
import type { TriggerCache } from '../triggers/trigger-cache';
import { FlowsService } from './flows.service';

/** FlowsService's save-time checks over a fake secret store. */
function serviceWith(values: (names: readonly string[]) => Promise<Record<string, string>>) {
  const secrets = { available: true, values } as unknown as SecretRepository;
  const config = { outboundAllow: '', publicUrl: 'http://localhost:3000' } as unknown as HookflowConfig;
  return new FlowsService(
    {} as FlowRepository,
    {} as TriggerCache,
    secrets,
    createConnectorRegistry({}),
    config,
  );
}

const flow = (token: string) => ({
  slug: 'checked',
  trigger: { type: 'webhook' },
  steps: [
    {
      id: 'send',
      type: 'action',
      connector: 'http',
      with: {
        url: 'https://hooks.example.com/in',
        headers: { authorization: `Bearer {{secret "${token}"}}` },
      },
    },
  ],
});

describe('FlowsService.check, secrets', () => {
  it('warns of a missing secret whose name is also an object property', async () => {
    const { warnings } = await serviceWith(async () => ({})).check(flow('constructor'));
    expect(warnings).toEqual([
      {
        path: '/steps/0/with',
        message:
          "names the secret 'constructor', which is not in the secret store: add it before the flow runs",
      },
    ]);
  });

  it('saves with a warning, not a 500, when the secret store cannot be read', async () => {
    const broken = serviceWith(async () => {
      throw new Error('secret TOKEN does not decrypt with this HOOKFLOW_MASTER_KEY');
    });
    const { warnings } = await broken.check(flow('TOKEN'));
    expect(warnings).toEqual([
      {
        path: '',
        message:
          'the secrets this flow names could not be checked: secret TOKEN does not decrypt with this HOOKFLOW_MASTER_KEY',
      },
    ]);
  });
});
