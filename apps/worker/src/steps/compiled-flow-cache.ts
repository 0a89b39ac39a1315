import { Injectable } from '@nestjs/common';
import { compileFlow, type CompiledFlow } from '@hookflow/flows';
import { LookupCache } from '@hookflow/platform';
import { FlowRepository } from '@hookflow/store';

/** Compiled flows by version id; versions are immutable, so only the size bound evicts. */
@Injectable()
export class CompiledFlowCache {
  private readonly cache = new LookupCache<CompiledFlow>({
    max: 500,
    ttlMs: 0,
    load: (versionId) => this.load(versionId),
  });

  constructor(private readonly flows: FlowRepository) {}

  /** Rejects for a version that does not exist (not kept: the next get reads again). */
  get(versionId: string): Promise<CompiledFlow> {
    // load() answers a flow or throws, never undefined.
    return this.cache.get(versionId) as Promise<CompiledFlow>;
  }

  private async load(versionId: string): Promise<CompiledFlow> {
    const version = await this.flows.versionById(versionId);
    if (!version) throw new Error(`flow version ${versionId} does not exist`);
    return compileFlow(version.definition);
  }
}
