import { setFlagsFromString } from 'node:v8';

const FLAG = '--heap-growing-percent';

/**
 * Node flags the API and the worker are started with (`npm run start:api`, `npm run start:worker`,
 * the launcher, the bench): V8 sizes its young generation once, at start. Semi-spaces of 8 MB
 * instead of 16 take 16 MB less per process under load. The bench measured no change in the
 * worker's throughput, nor in what the API accepts on its own (2,099-2,623/s against
 * 2,112-2,587/s in turns, `--api-only`); minor collections took 6.5 % of the API's CPU instead of
 * 4.4 %.
 */
export const APP_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/**
 * glibc malloc settings the API and the worker are started with (`npm run start:api`,
 * `npm run start:worker`, the launcher, the bench), in `GLIBC_TUNABLES`, which glibc reads only at
 * start. By default glibc raises its mmap threshold each time a block it had mapped on its own is
 * freed, up to 32 MB; after that, blocks of that size come from its arenas, where freed memory
 * stays resident. A fixed 128 KiB threshold keeps them mapped and gives them back when freed: the
 * bench measured 9-22 MB less at the peak (API + worker, in turns) for the same throughput. Other C
 * libraries (musl) ignore the variable; glibc lets it override `MALLOC_MMAP_THRESHOLD_`.
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
 * Bounds the heap's growth: after a full collection, the next comes once the heap is
 * (1 + percent/100) times what survived. V8's own factor goes up to 4x when collections are cheap,
 * so under a burst a worker with 40 MB of live data let its heap reach 180 MB of garbage; at 20 %
 * the bench measured the same throughput at 55 MB. V8 reads the flag each time it sets the next
 * limit, so setting it here, at the start of main, takes effect for the whole process.
 */
export function applyHeapGrowth(percent: number): void {
  const flag = heapGrowthFlag(percent);
  if (flag) setFlagsFromString(flag);
}
