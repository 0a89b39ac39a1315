import { isIP } from 'node:net';
import type { FlowDefinition, ValidationIssue } from '@hookflow/flows';
import { checkDestination } from './outbound-guard';
import { EMPTY_ALLOW_LIST, type OutboundAllowList } from './outbound-allow';

/** Warnings for literal action and poll URLs the guard will always refuse (a blocked address or `localhost`). */
export function outboundUrlWarnings(
  definition: FlowDefinition,
  allow: OutboundAllowList = EMPTY_ALLOW_LIST,
): ValidationIssue[] {
  const warnings: ValidationIssue[] = [];
  const check = (url: unknown, path: string) => {
    if (typeof url !== 'string' || url.includes('{{')) return;
    const problem = neverPasses(url, allow);
    if (problem) {
      warnings.push({
        path,
        message: `will be refused on every attempt: ${problem}; add the host or address to OUTBOUND_ALLOW to send there`,
      });
    }
  };
  if (definition.trigger.type === 'poll') check(definition.trigger.request.url, '/trigger/request/url');
  definition.steps.forEach((step, index) => {
    if (step.type === 'action')
      check((step.with as Record<string, unknown> | undefined)?.url, `/steps/${index}/with/url`);
  });
  return warnings;
}

function neverPasses(url: string, allow: OutboundAllowList): string | undefined {
  let hostname: string;
  try {
    hostname = new URL(url).hostname;
  } catch {
    return undefined;
  }
  const bare = hostname.replace(/^\[(.*)\]$/, '$1');
  if (isLocalhost(bare)) {
    // localhost resolves to 127.0.0.1 and/or ::1: certain to fail only when neither is allowed.
    if (allow.allowsHost(bare) || allow.allowsAddress('127.0.0.1') || allow.allowsAddress('::1')) {
      return undefined;
    }
    return `${bare} is loopback (127.0.0.0/8, ::1)`;
  }
  // The URL parser has already normalised 2130706433, 0x7f000001 and friends to dotted form.
  const refused = checkDestination(bare, isIP(bare) !== 0 ? [bare] : [], allow);
  return refused ? `${refused.address} is ${refused.rule}` : undefined;
}

function isLocalhost(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}
