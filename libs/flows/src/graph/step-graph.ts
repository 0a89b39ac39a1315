import type { StepType } from '../model/flow-definition';
import { parseItemStepId } from './loop-items';
import type { StepStatus } from '../model/step-status';

/** The part of a step the graph needs. */
export interface GraphStep {
  id: string;
  /** Step ids, or `"<routerId>.<path>"` for a router's path. */
  needs?: string[];
  type?: StepType;
  join?: 'all' | 'any';
  /** A router's paths. */
  paths?: { name: string }[];
  /** A `foreach` loop's own steps, run once per item, and how. */
  steps?: GraphStep[];
  concurrency?: number;
  continueOnError?: boolean;
}

/** A `foreach` loop: the graph of the steps each item runs, and how items go. */
export interface LoopGraph {
  graph: StepGraph;
  /** Items whose steps run at once. */
  concurrency: number;
  continueOnError: boolean;
}

/** The paths each router that succeeded took, by router id. */
export type TakenRoutes = Readonly<Record<string, readonly string[]>>;

/** `record[key]` if its own: a step may be called `constructor`. */
export function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** The step a need names: itself, or the router of `"<routerId>.<path>"`. */
export function stepOfNeed(need: string): string {
  const dot = need.indexOf('.');
  return dot < 0 ? need : need.slice(0, dot);
}

/**
 * A need's status from its step's: a router's path counts as succeeded once the router succeeded
 * and `routes` lists it, as skipped when they do not; before that, as its router. Without
 * `routes` (not known), a path counts as its router.
 */
export function needStatus(
  need: string,
  stepStatus: (id: string) => StepStatus,
  routes?: TakenRoutes,
): StepStatus {
  const of = stepOfNeed(need);
  const status = stepStatus(of);
  if (of === need || status !== 'succeeded' || !routes) return status;
  return own(routes, of)?.includes(need.slice(of.length + 1)) ? 'succeeded' : 'skipped';
}

/** Outcome of a run decided from its steps; `null` while some step is not finished. */
export type FinishedRunStatus = 'succeeded' | 'failed' | 'filtered';

const BLOCKING: ReadonlySet<StepStatus> = new Set<StepStatus>(['failed', 'filtered', 'skipped', 'cancelled']);
const TERMINAL: ReadonlySet<StepStatus> = new Set<StepStatus>([...BLOCKING, 'succeeded']);
/** What skips an `any` join: a need that failed or was cancelled (a skipped or filtered one does not). */
const BLOCKING_ANY: ReadonlySet<StepStatus> = new Set<StepStatus>(['failed', 'cancelled']);

/** A `needs` reference that makes the steps unusable as a graph. */
export class StepGraphError extends Error {
  constructor(
    message: string,
    /** Index of the offending step in the list. */
    readonly stepIndex: number,
  ) {
    super(message);
    this.name = 'StepGraphError';
  }
}

function loopGraphOf(step: GraphStep, index: number): LoopGraph {
  try {
    return {
      graph: new StepGraph(step.steps!),
      concurrency:
        Number.isInteger(step.concurrency) && step.concurrency! > 0
          ? step.concurrency!
          : DEFAULT_LOOP_CONCURRENCY,
      continueOnError: step.continueOnError === true,
    };
  } catch (err) {
    if (err instanceof StepGraphError) throw new StepGraphError(`loop '${step.id}': ${err.message}`, index);
    throw err;
  }
}

/** Items of a loop that run at once when the loop does not say. */
export const DEFAULT_LOOP_CONCURRENCY = 1;

/** The dependency graph of a flow's steps (`needs` omitted: the step before; `[]`: the trigger only). */
export class StepGraph {
  /** Step ids in definition order. */
  readonly ids: readonly string[];
  private readonly needs = new Map<string, readonly string[]>();
  private readonly dependents = new Map<string, string[]>();
  private readonly types = new Map<string, StepType>();
  private readonly anyJoins = new Set<string>();
  private readonly loops = new Map<string, LoopGraph>();
  /** Ids in an order where every step comes after all it needs. */
  private readonly order: readonly string[];
  private readonly indexOf = new Map<string, number>();
  /** Per step (by index), a bitset of the steps it depends on; built on first use. */
  private ancestorBits: Uint32Array[] | undefined;

  /** Throws `StepGraphError` on duplicate ids, unknown needs or a cycle. */
  constructor(steps: readonly GraphStep[]) {
    this.ids = steps.map((s) => s.id);
    steps.forEach((step, i) => {
      if (!this.indexOf.has(step.id)) this.indexOf.set(step.id, i);
      if (this.needs.has(step.id)) throw new StepGraphError(`duplicate step id '${step.id}'`, i);
      this.needs.set(step.id, step.needs ? [...new Set(step.needs)] : i === 0 ? [] : [steps[i - 1].id]);
      this.dependents.set(step.id, []);
      if (step.type) this.types.set(step.id, step.type);
      if (step.join === 'any') this.anyJoins.add(step.id);
      if (step.type === 'foreach' && Array.isArray(step.steps)) this.loops.set(step.id, loopGraphOf(step, i));
    });
    // Validation runs the graph before it has said anything about `paths`: read only what is sound.
    const pathNames = (step: GraphStep) =>
      Array.isArray(step.paths)
        ? step.paths.flatMap((p) => (typeof p?.name === 'string' ? [p.name] : []))
        : [];
    const paths = new Map(steps.map((step) => [step.id, new Set(pathNames(step))]));
    steps.forEach((step, i) => {
      for (const need of this.needsOf(step.id)) {
        const of = stepOfNeed(need);
        if (!this.needs.has(of)) throw new StepGraphError(`step '${step.id}' needs unknown step '${of}'`, i);
        if (of !== need && !paths.get(of)!.has(need.slice(of.length + 1)))
          throw new StepGraphError(`step '${step.id}' needs unknown path '${need}'`, i);
        if (!this.dependents.get(of)!.includes(step.id)) this.dependents.get(of)!.push(step.id);
      }
    });
    this.order = this.topologicalOrder(steps);
  }

  /** A `foreach` step's loop; undefined for any other step. */
  loopOf(id: string): LoopGraph | undefined {
    return this.loops.get(id);
  }

  /** Direct dependencies of a step as written: step ids and router paths (`"<routerId>.<path>"`). */
  needsOf(id: string): string[] {
    return [...this.known(this.needs.get(id), id)];
  }

  /** The steps a step depends on directly (a router path counts as its router). */
  private stepsNeeded(id: string): string[] {
    return [...new Set(this.known(this.needs.get(id), id).map(stepOfNeed))];
  }

  /** Steps that list `id` among their needs, in definition order. */
  dependentsOf(id: string): string[] {
    return [...this.known(this.dependents.get(id), id)];
  }

  /** How the step joins its needs: `any` runs on the needs that succeeded once all are settled. */
  joinOf(id: string): 'all' | 'any' {
    this.known(this.needs.get(id), id);
    return this.anyJoins.has(id) ? 'any' : 'all';
  }

  /** Steps that need only the trigger: the ones a new run starts with. */
  roots(): string[] {
    return this.ids.filter((id) => this.needsOf(id).length === 0);
  }

  /** Every step `id` depends on, directly or not. */
  ancestorsOf(id: string): string[] {
    return this.closure(id, (x) => this.stepsNeeded(x));
  }

  /** Whether `id` depends on `other`, directly or not (ancestor bitsets, built on first call). */
  dependsOn(id: string, other: string): boolean {
    const at = this.indexOf.get(other);
    const bits = this.ancestors()[this.known(this.indexOf.get(id), id)];
    return at !== undefined && (bits[at >>> 5] & (1 << (at & 31))) !== 0;
  }

  /** Every step that depends on `id`, directly or not (what a retry of `id` re-opens). */
  descendantsOf(id: string): string[] {
    return this.closure(id, (x) => this.dependentsOf(x));
  }

  /**
   * Pending steps now `ready`, and those to `skip` (transitively); absent from `statuses` means
   * pending. A path of a router that succeeded counts as succeeded when `routes` lists it, else as
   * skipped; before that, as its router.
   */
  advance(
    statuses: Readonly<Record<string, StepStatus>>,
    routes: TakenRoutes = {},
  ): { ready: string[]; skip: string[] } {
    const effective = new Map<string, StepStatus>();
    const stepStatus = (id: string): StepStatus => effective.get(id) ?? own(statuses, id) ?? 'pending';
    const statusOf = (need: string): StepStatus => needStatus(need, stepStatus, routes);
    const skip: string[] = [];
    for (const id of this.order) {
      if (stepStatus(id) !== 'pending') continue;
      const needs = this.needsOf(id).map(statusOf);
      const blocked = this.anyJoins.has(id)
        ? needs.some((s) => BLOCKING_ANY.has(s)) ||
          (needs.every((s) => TERMINAL.has(s)) && !needs.includes('succeeded'))
        : needs.some((s) => BLOCKING.has(s));
      if (blocked) {
        effective.set(id, 'skipped');
        skip.push(id);
      }
    }
    // An `any` join not skipped above has no failed need: it is ready once every need is settled.
    const ready = this.ids.filter((id) => {
      if (stepStatus(id) !== 'pending') return false;
      const needs = this.needsOf(id).map(statusOf);
      return this.anyJoins.has(id)
        ? needs.every((s) => TERMINAL.has(s))
        : needs.every((s) => s === 'succeeded');
    });
    const skipped = new Set(skip);
    return { ready, skip: this.ids.filter((id) => skipped.has(id)) };
  }

  /** Steps now ready, steps skipped, and the run's final status once nothing is left (else null). */
  settle(
    statuses: Readonly<Record<string, StepStatus>>,
    routes: TakenRoutes = {},
  ): {
    ready: string[];
    skip: string[];
    runStatus: FinishedRunStatus | null;
  } {
    const { ready, skip } = this.advance(statuses, routes);
    const after: Record<string, StepStatus> = { ...statuses };
    for (const id of skip) after[id] = 'skipped';
    return { ready, skip, runStatus: this.runStatus(after) };
  }

  /** The run's outcome once every step is finished, else null (docs/architecture.md); never `cancelled`. */
  runStatus(
    statuses: Readonly<Record<string, StepStatus>>,
    typeOf: (id: string) => StepType | undefined = (id) => this.types.get(id),
  ): FinishedRunStatus | null {
    const all = this.ids.map((id) => own(statuses, id) ?? 'pending');
    if (!all.every((s) => TERMINAL.has(s))) return null;
    if (all.includes('failed')) return 'failed';
    const actionSucceeded =
      this.ids.some((id) => own(statuses, id) === 'succeeded' && typeOf(id) === 'action') ||
      this.itemActionSucceeded(statuses);
    if (!actionSucceeded && all.includes('filtered')) return 'filtered';
    return 'succeeded';
  }

  /** Whether an action of a loop's items succeeded, among the item rows `statuses` holds. */
  private itemActionSucceeded(statuses: Readonly<Record<string, StepStatus>>): boolean {
    if (this.loops.size === 0) return false;
    return Object.entries(statuses).some(([id, status]) => {
      if (status !== 'succeeded' || !id.includes('[')) return false;
      const item = parseItemStepId(id);
      return item !== null && this.loops.get(item.loop)?.graph.types.get(item.step) === 'action';
    });
  }

  private ancestors(): Uint32Array[] {
    if (this.ancestorBits) return this.ancestorBits;
    const words = Math.ceil(this.ids.length / 32);
    const bits = this.ids.map(() => new Uint32Array(words));
    for (const id of this.order) {
      const mine = bits[this.indexOf.get(id)!];
      for (const need of this.stepsNeeded(id)) {
        const at = this.indexOf.get(need)!;
        const theirs = bits[at];
        for (let w = 0; w < words; w++) mine[w] |= theirs[w];
        mine[at >>> 5] |= 1 << (at & 31);
      }
    }
    this.ancestorBits = bits;
    return bits;
  }

  private known<T>(value: T | undefined, id: string): T {
    if (value === undefined) throw new Error(`unknown step '${id}'`);
    return value;
  }

  private closure(id: string, next: (id: string) => string[]): string[] {
    const seen = new Set<string>();
    const stack = next(id);
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (seen.has(current)) continue;
      seen.add(current);
      stack.push(...next(current));
    }
    return this.ids.filter((x) => seen.has(x));
  }

  /** Kahn's algorithm; validation already rejects needs on later steps, this is the safety net. */
  private topologicalOrder(steps: readonly GraphStep[]): string[] {
    const remaining = new Map(this.ids.map((id) => [id, this.stepsNeeded(id).length]));
    const order = this.ids.filter((id) => remaining.get(id) === 0);
    // `order` doubles as the queue: everything before `next` has been processed.
    for (let next = 0; next < order.length; next++) {
      const id = order[next];
      for (const dependent of this.dependents.get(id)!) {
        const left = remaining.get(dependent)! - 1;
        remaining.set(dependent, left);
        if (left === 0) order.push(dependent);
      }
    }
    if (order.length < this.ids.length) {
      const ordered = new Set(order);
      const cycle = this.findCycle(new Set(this.ids.filter((id) => !ordered.has(id))));
      const index = steps.findIndex((s) => s.id === cycle[0]);
      throw new StepGraphError(`needs form a cycle: ${cycle.join(' -> ')}`, index);
    }
    return order;
  }

  /** Every step left over by Kahn's algorithm still needs another left-over step, so walking needs must loop. */
  private findCycle(stuck: ReadonlySet<string>): string[] {
    const path: string[] = [];
    const position = new Map<string, number>();
    let current = [...stuck][0];
    while (!position.has(current)) {
      position.set(current, path.length);
      path.push(current);
      current = this.stepsNeeded(current).find((need) => stuck.has(need))!;
    }
    return [...path.slice(position.get(current)), current];
  }
}
