import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/**
 * Node flags the apps start with (the start scripts, the launcher, the bench): 8 MB semi-spaces,
 * 16 MB less per process under load for the same throughput (docs/operations.md, Sizing).
 */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * `GLIBC_TUNABLES` the apps start with: a fixed mmap threshold, so large freed blocks go back to
 * the system instead of staying in glibc's arenas (docs/operations.md, Sizing).
 */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=131072';

/**
 * `env` for a started app: MALLOC_TUNABLES ahead of the operator's own `GLIBC_TUNABLES`, which win
 * since glibc applies a setting given twice in order (the shell form of this is in package.json's
 * start scripts).
 */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES;
  return { ...env, GLIBC_TUNABLES: own ? `${MALLOC_TUNABLES}:${own}` : MALLOC_TUNABLES };
}

/**
 * The V8 flag that bounds the heap's growth between full collections, or undefined when the heap
 * is left to V8: `percent` 0, or the flag already given to node (command line or NODE_OPTIONS),
 * which wins over HEAP_GROWTH_PERCENT.
 */
export function heapGrowthFlag(
  percent: number,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string | undefined {
  if (percent <= 0) return undefined;
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].some((arg) =>
    /^--heap[-_]growing[-_]percent(=|$)/.test(arg),
  );
  return given ? undefined : `${FLAG}=${percent}`;
}

/**
 * Bounds the heap's growth to (1 + percent/100) x what survived a full collection
 * (HEAP_GROWTH_PERCENT, docs/operations.md); V8 reads the flag at each collection, so main sets it.
 */
export function applyHeapGrowth(percent: number): void {
  const flag = heapGrowthFlag(percent);
  if (flag) setFlagsFromString(flag);
}
