import { Inject, Injectable } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/platform';
import ipaddr from 'ipaddr.js';
import { LRUCache } from 'lru-cache';

/** Sources tracked at most; past it the least recently seen is forgotten (and starts afresh). */
const MAX_SOURCES = 10_000;
/** An address that does not parse (only possible behind a proxy that passes anything) is keyed by its start. */
const MAX_RAW_SOURCE_CHARS = 64;

interface FailureWindow {
  count: number;
  endsAt: number;
}

/** Failed signature checks per trigger and source (IPv6 by /64), per process (docs/operations.md). */
@Injectable()
export class VerifyFailures {
  private readonly windows = new LRUCache<string, FailureWindow>({ max: MAX_SOURCES });
  private readonly limit: { limit: number; perMs: number } | undefined;

  constructor(@Inject(HOOKFLOW_CONFIG) config: Pick<HookflowConfig, 'verifyFailureLimit'>) {
    this.limit = config.verifyFailureLimit;
  }

  /** Counts a failed check; past the budget, returns the wait and the limit it went over. */
  fail(
    flowId: string,
    sourceIp: string,
    now = Date.now(),
  ): { waitMs: number; limit: number; perMs: number } | undefined {
    if (!this.limit) return undefined;
    const id = key(flowId, sourceIp);
    let window = this.windows.get(id);
    if (window && window.endsAt > now) window.count++;
    else this.windows.set(id, (window = { count: 1, endsAt: now + this.limit.perMs }));
    return window.count > this.limit.limit ? { waitMs: window.endsAt - now, ...this.limit } : undefined;
  }
}

function key(flowId: string, sourceIp: string): string {
  return `${flowId} ${sourceOf(sourceIp)}`;
}

/** The address that counts: IPv4 as it is (IPv4-mapped IPv6 unwrapped), IPv6 by its /64. */
export function sourceOf(ip: string): string {
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    address = ipaddr.process(ip.split('%')[0]);
  } catch {
    return ip.slice(0, MAX_RAW_SOURCE_CHARS);
  }
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((p) => p.toString(16));
  return `${parts.join(':')}::/64`;
}
