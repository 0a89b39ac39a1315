import { Injectable, Logger } from '@nestjs/common';
import { webhookOf, type CompiledFlow, type StepError } from '@hookflow/flows';
import { SecretDecryptionError, SecretRepository } from '@hookflow/store';

export type LoadedSecrets = { ok: true; values: Record<string, string> } | { ok: false; error: StepError };

/** All of a flow's secrets for an attempt, so its records are scrubbed of any (receivers may echo them). */
@Injectable()
export class StepSecrets {
  private readonly logger = new Logger(StepSecrets.name);

  constructor(private readonly secrets: SecretRepository) {}

  async load(flow: CompiledFlow, stepId: string): Promise<LoadedSecrets> {
    // The trigger's verification secret too: a sender that echoes its token into the payload
    // must not get it stored in clear through a step's input or output.
    const verifySecret = webhookOf(flow.definition)?.verify?.secret;
    const names = [...new Set([...flow.secretNames, ...(verifySecret === undefined ? [] : [verifySecret])])];
    if (names.length === 0) return { ok: true, values: {} };
    const needed = flow.step(stepId).secretNames;
    if (!this.secrets.available) {
      // Nothing can have rendered a secret into this run's data without a key; only a step that
      // needs one has to fail.
      if (needed.length === 0) return { ok: true, values: {} };
      return unavailable(
        `step uses the secret${needed.length > 1 ? 's' : ''} ${needed.map((n) => `'${n}'`).join(', ')}, ` +
          'but the worker has no HOOKFLOW_MASTER_KEY to read the secret store (set the same key as the API)',
      );
    }
    try {
      return { ok: true, values: await this.secrets.values(names) };
    } catch (err) {
      if (!(err instanceof SecretDecryptionError)) throw err;
      this.logger.error({ msg: err.message, flow: flow.definition.slug, step: stepId });
      return unavailable(err.message);
    }
  }
}

function unavailable(message: string): LoadedSecrets {
  // A configuration problem: trying again without an operator changing something cannot help.
  return { ok: false, error: { code: 'invalid_config', message, retryable: false } };
}
