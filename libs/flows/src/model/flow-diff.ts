import { canonicalFlowJson } from './canonical';
import type { FlowDefinition } from './flow-definition';

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** JSON text with every object's keys sorted: equal for values that differ only in key order. */
function stable(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  ) as string;
}

function same(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

/** Keys of `a` or `b` whose values differ, `a`'s order first; `expand` keys are listed one level deeper. */
function changedKeys(a: unknown, b: unknown, expand: readonly string[] = []): string[] {
  const left = isObject(a) ? a : {};
  const right = isObject(b) ? b : {};
  const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])];
  const changed: string[] = [];
  for (const key of keys) {
    if (same(left[key], right[key])) continue;
    const nested = expand.includes(key) && isObject(left[key]) && isObject(right[key]);
    if (nested) changed.push(...changedKeys(left[key], right[key]).map((k) => `${key}.${k}`));
    else changed.push(key);
  }
  return changed;
}

function shown(value: unknown): string {
  return value === undefined ? 'unset' : JSON.stringify(value);
}

function stepsById(steps: unknown): Map<string, Obj> {
  const byId = new Map<string, Obj>();
  if (!Array.isArray(steps)) return byId;
  for (const step of steps) {
    if (isObject(step) && typeof step.id === 'string' && !byId.has(step.id)) byId.set(step.id, step);
  }
  return byId;
}

/** One line per change from `before` to `after` (`step 'billing' changed (with.url)`); empty when equal. */
export function diffFlows(before: FlowDefinition, after: FlowDefinition): string[] {
  const beforeText = canonicalFlowJson(before);
  const afterText = canonicalFlowJson(after);
  if (beforeText === afterText) return [];
  // Parsed back from the canonical text so that changed fields are listed in canonical key order.
  const a = JSON.parse(beforeText) as Obj;
  const b = JSON.parse(afterText) as Obj;
  const lines: string[] = [];

  for (const key of changedKeys(a, b)) {
    if (key === 'trigger' || key === 'steps') continue;
    if (key === 'enabled') lines.push(`enabled: ${shown(a.enabled)} -> ${shown(b.enabled)}`);
    else if (key === 'slug') lines.push(`slug: ${shown(a.slug)} -> ${shown(b.slug)}`);
    else lines.push(`${key} changed`);
  }

  const trigger = changedKeys(a.trigger, b.trigger);
  if (trigger.length > 0) lines.push(`trigger changed (${trigger.join(', ')})`);

  const beforeSteps = stepsById(a.steps);
  const afterSteps = stepsById(b.steps);
  for (const [id, step] of afterSteps) {
    const old = beforeSteps.get(id);
    if (!old) {
      lines.push(`step '${id}' added`);
      continue;
    }
    const fields = changedKeys(old, step, ['with']);
    if (fields.length > 0) lines.push(`step '${id}' changed (${fields.join(', ')})`);
  }
  for (const id of beforeSteps.keys()) {
    if (!afterSteps.has(id)) lines.push(`step '${id}' removed`);
  }
  const kept = (steps: Map<string, Obj>, other: Map<string, Obj>) =>
    [...steps.keys()].filter((id) => other.has(id));
  if (!same(kept(beforeSteps, afterSteps), kept(afterSteps, beforeSteps))) lines.push('steps reordered');

  // Whatever the summaries above cannot name (e.g. duplicate step ids) still must not look unchanged.
  if (lines.length === 0) lines.push('steps changed');
  return lines;
}
