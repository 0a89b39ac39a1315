import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/** Node flags the apps start with: 8 MB semi-spaces (docs/operations.md, Memory). */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** `GLIBC_TUNABLES` the apps start with: a fixed mmap threshold (docs/operations.md, Memory). */
export const MALLOC_TUNABLES = 'glibc.malloc.mmap_threshold=131072';

/** `env` for a started app: ours before the operator's `GLIBC_TUNABLES`, which win (applied in order). */
export function withMallocTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES;
  return { ...env, GLIBC_TUNABLES: own ? `${MALLOC_TUNABLES}:${own}` : MALLOC_TUNABLES };
}

/** The V8 heap-growth flag, or undefined for `percent` 0 or when node already has it (that wins). */
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

/** Applies HEAP_GROWTH_PERCENT (docs/operations.md, Memory); V8 reads the flag at each collection. */
export function applyHeapGrowth(percent: number): void {
  const flag = heapGrowthFlag(percent);
  if (flag) setFlagsFromString(flag);
}
