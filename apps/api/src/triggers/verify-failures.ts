import { Inject, Injectable } from '@nestjs/common';
import { HOOKFLOW_CONFIG, type HookflowConfig } from '@hookflow/store';
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

/**
 * Failed signature checks per trigger and source address, in fixed windows
 * (`VERIFY_FAILURE_LIMIT`, e.g. 20 per minute). A source that used up its failures is refused
 * before its body is read, for the rest of the window. Keyed by source so that a forger cannot
 * lock the genuine sender out; IPv6 sources count by /64, the block one host usually holds.
 * Counted in this process only: with N API replicas a source gets up to N times the budget, which
 * still bounds guessing and keeps a forged request from costing a database write.
 * docs/operations.md (Trigger checks and limits) explains the choice.
 */
@Injectable()
export class VerifyFailures {
  private readonly windows = new LRUCache<string, FailureWindow>({ max: MAX_SOURCES });
  private readonly limit: { limit: number; perMs: number } | undefined;

  constructor(@Inject(HOOKFLOW_CONFIG) config: Pick<HookflowConfig, 'verifyFailureLimit'>) {
    this.limit = config.verifyFailureLimit;
  }

  /**
   * Whether `sourceIp` used up its failures on this trigger: how long it must wait before its
   * requests are verified again, and the limit it reached; undefined when it may go on.
   */
  blocked(
    flowId: string,
    sourceIp: string,
    now = Date.now(),
  ): { waitMs: number; limit: number; perMs: number } | undefined {
    if (!this.limit) return undefined;
    const window = this.windows.get(key(flowId, sourceIp));
    if (!window || window.endsAt <= now || window.count < this.limit.limit) return undefined;
    return { waitMs: window.endsAt - now, ...this.limit };
  }

  /** Counts one failed signature check of `sourceIp` on this trigger. */
  record(flowId: string, sourceIp: string, now = Date.now()): void {
    if (!this.limit) return;
    const id = key(flowId, sourceIp);
    const window = this.windows.get(id);
    if (window && window.endsAt > now) window.count++;
    else this.windows.set(id, { count: 1, endsAt: now + this.limit.perMs });
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
