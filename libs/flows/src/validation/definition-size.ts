import type { ValidationIssue } from '../model/flow-definition';
import { joinPointer } from './json-pointer';

export interface SizeLimits {
  /** UTF-8 bytes of the value as compact JSON. */
  maxBytes: number;
  /** Nesting of objects and arrays; the value itself is level 1. */
  maxDepth: number;
}

interface Frame {
  value: unknown;
  depth: number;
  parent?: Frame;
  key?: string | number;
}

function pointerOf(frame: Frame): string {
  const tokens: Array<string | number> = [];
  for (let f: Frame | undefined = frame; f?.parent; f = f.parent) tokens.push(f.key!);
  return joinPointer('', ...tokens.reverse());
}

/** `1 MiB`, `64 KiB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function scalarBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).length : 4;
  if (typeof value === 'boolean') return value ? 4 : 5;
  return 4; // null, and what JSON would write as null
}

/**
 * The first way `value` breaks `limits` (too deep, too many bytes), if any. Stops at the first
 * breach, so the cost is bounded by the limits; a cyclic value is too deep.
 */
export function sizeIssue(value: unknown, limits: SizeLimits, base = ''): ValidationIssue | undefined {
  let bytes = 0;
  const stack: Frame[] = [{ value, depth: 1 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const { value: v, depth } = frame;
    if (v !== null && typeof v === 'object') {
      if (depth > limits.maxDepth) {
        return { path: base + pointerOf(frame), message: `is nested deeper than ${limits.maxDepth} levels` };
      }
      if (Array.isArray(v)) {
        bytes += 2 + Math.max(0, v.length - 1);
        for (let i = v.length - 1; i >= 0; i--)
          stack.push({ value: v[i], depth: depth + 1, parent: frame, key: i });
      } else {
        const keys = Object.keys(v);
        bytes += 2 + Math.max(0, keys.length - 1);
        for (const key of keys) {
          bytes += Buffer.byteLength(JSON.stringify(key), 'utf8') + 1;
          stack.push({ value: (v as Record<string, unknown>)[key], depth: depth + 1, parent: frame, key });
        }
      }
    } else {
      bytes += scalarBytes(v);
    }
    if (bytes > limits.maxBytes) {
      return { path: base, message: `is larger than ${formatBytes(limits.maxBytes)} as JSON` };
    }
  }
  return undefined;
}
