import { Injectable } from '@nestjs/common';
import { compileFlow, type CompiledFlow } from '@hookflow/flows';
import { FlowRepository } from '@hookflow/store';

/**
 * Compiled flows by version id. Versions are immutable, so an entry never goes stale; the map
 * is bounded so a long-lived worker does not keep every version it ever ran.
 */
@Injectable()
export class CompiledFlowCache {
  private readonly cache = new Map<string, Promise<CompiledFlow>>();
  private static readonly MAX_ENTRIES = 500;

  constructor(private readonly flows: FlowRepository) {}

  get(versionId: string): Promise<CompiledFlow> {
    let hit = this.cache.get(versionId);
    if (hit) {
      // Refresh recency: Map iteration order is insertion order.
      this.cache.delete(versionId);
      this.cache.set(versionId, hit);
      return hit;
    }
    hit = this.load(versionId);
    hit.catch(() => this.cache.delete(versionId));
    this.cache.set(versionId, hit);
    if (this.cache.size > CompiledFlowCache.MAX_ENTRIES) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    return hit;
  }

  private async load(versionId: string): Promise<CompiledFlow> {
    const version = await this.flows.versionById(versionId);
    if (!version) throw new Error(`flow version ${versionId} does not exist`);
    return compileFlow(version.definition);
  }
}
