import { parseItemStepId } from '../graph/loop-items';
import { StepGraph, StepGraphError, needStatus, own, stepOfNeed } from '../graph/step-graph';
import type {
  ActionStepDef,
  CodeStepDef,
  DelayStepDef,
  FilterStepDef,
  FlowDefinition,
  ForeachStepDef,
  RespondStepDef,
  RouterStepDef,
  TransformStepDef,
} from '../model/flow-definition';
import type { RunContext } from '../model/run-context';
import type { StepStatus } from '../model/step-status';
import { parseDuration } from '../retry/duration';
import { resolveRetryPolicy, resolveTimeoutMs, type RetryPolicy } from '../retry/retry-policy';
import {
  RESPOND_TEMPLATE_OPTIONS,
  TemplateError,
  WITH_TEMPLATE_OPTIONS,
  compileTemplateTree,
  respondTemplateOf,
  type CompiledTemplateTree,
} from '../template/template';
import { compileExpression, type CompiledExpression } from '../transform/expression';
import { SECRET_NAME_PATTERN } from '../validation/flow.schema';
import { DEFAULT_LOOP_MAX_ITEMS } from '../validation/flow-limits';

interface CompiledStepBase {
  id: string;
  /** Secrets this step's templates use. */
  secretNames: string[];
  retryPolicy: RetryPolicy;
  timeoutMs: number;
}

export type CompiledStep =
  | (CompiledStepBase & { type: 'transform'; def: TransformStepDef; expression: CompiledExpression })
  | (CompiledStepBase & { type: 'filter'; def: FilterStepDef; condition: CompiledExpression })
  | (CompiledStepBase & {
      type: 'action';
      def: ActionStepDef;
      with: CompiledTemplateTree;
      /** The secret named by `with.sign.secret`, whose value executeStep puts in its place. */
      signSecretName?: string;
    })
  | (CompiledStepBase & { type: 'code'; def: CodeStepDef })
  | (CompiledStepBase & {
      type: 'router';
      def: RouterStepDef;
      /** In order; a path without `when` is the fallback. */
      paths: { name: string; when?: CompiledExpression }[];
    })
  | (CompiledStepBase & {
      type: 'foreach';
      def: ForeachStepDef;
      items: CompiledExpression;
      maxItems: number;
      /** The loop's own steps, compiled as a flow of their own. */
      loop: CompiledFlow;
    })
  | (CompiledStepBase & {
      type: 'respond';
      def: RespondStepDef;
      /** `{ headers, json }` or `{ headers, body }`, compiled once. */
      answer: CompiledTemplateTree;
    })
  | (CompiledStepBase & {
      type: 'delay';
      def: DelayStepDef;
      /** Either a fixed wait or an expression giving the resume time. */
      forMs?: number;
      until?: CompiledExpression;
    });

/** A flow version ready to run: every expression and template compiled once. Immutable. */
export interface CompiledFlow {
  readonly definition: FlowDefinition;
  readonly graph: StepGraph;
  /** Throws on an unknown id; a loop item's row id (`each[3].post`) gives the loop's step. */
  step(id: string): CompiledStep;
  retryPolicy(id: string): RetryPolicy;
  timeoutMs(id: string): number;
  /** Every secret any template of the flow uses, sorted. */
  readonly secretNames: string[];
  /** The id of the flow's respond step (never one of a loop's), if it has one. */
  readonly respondStep: string | undefined;
}

/** A definition that does not compile; callers are expected to have run `validateFlow` first. */
export class InvalidFlowError extends Error {
  constructor(
    message: string,
    /** JSON pointer of the problem in the definition. */
    readonly path: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'InvalidFlowError';
  }
}

const SECRET_NAME = new RegExp(SECRET_NAME_PATTERN);

/** `with.sign.secret` is a name, not a template: loaded with the step's secrets, resolved at call time. */
function signSecretOf(def: ActionStepDef, withPointer: string): string | undefined {
  const sign = (def.with as Record<string, unknown>).sign;
  if (sign === undefined || sign === null || typeof sign !== 'object') return undefined;
  const name = (sign as Record<string, unknown>).secret;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || !SECRET_NAME.test(name)) {
    throw new InvalidFlowError(
      'must name a secret in the secret store, e.g. "SHIP_WHSEC"',
      `${withPointer}/sign/secret`,
    );
  }
  return name;
}

function compileStep(
  def: FlowDefinition['steps'][number],
  index: number,
  flow: FlowDefinition,
): CompiledStep {
  const at = (field: string) => `/steps/${index}/${field}`;
  let retryPolicy: RetryPolicy;
  let timeoutMs: number;
  try {
    retryPolicy = resolveRetryPolicy(def);
  } catch (err) {
    throw new InvalidFlowError((err as Error).message, at('retry'));
  }
  try {
    timeoutMs = resolveTimeoutMs(def);
  } catch (err) {
    throw new InvalidFlowError((err as Error).message, at('timeout'));
  }
  const base = { id: def.id, retryPolicy, timeoutMs };
  switch (def.type) {
    case 'transform':
    case 'filter': {
      const field = def.type === 'transform' ? 'expression' : 'condition';
      const source = def.type === 'transform' ? def.expression : def.condition;
      let compiled: CompiledExpression;
      try {
        compiled = compileExpression(source);
      } catch (err) {
        throw new InvalidFlowError((err as Error).message, at(field));
      }
      return def.type === 'transform'
        ? { ...base, type: 'transform', def, secretNames: [], expression: compiled }
        : { ...base, type: 'filter', def, secretNames: [], condition: compiled };
    }
    case 'action': {
      try {
        const tree = compileTemplateTree(def.with, WITH_TEMPLATE_OPTIONS);
        const signSecretName = signSecretOf(def, at('with'));
        if (signSecretName === undefined) {
          return { ...base, type: 'action', def, secretNames: tree.secretNames, with: tree };
        }
        const secretNames = [...new Set([...tree.secretNames, signSecretName])].sort();
        return { ...base, type: 'action', def, secretNames, with: tree, signSecretName };
      } catch (err) {
        const pointer = err instanceof TemplateError ? err.pointer : '';
        throw new InvalidFlowError((err as Error).message, `${at('with')}${pointer}`);
      }
    }
    case 'code':
      // Syntax errors surface at the first run, with their line and column (a dry run shows them).
      return { ...base, type: 'code', def, secretNames: [] };
    case 'router': {
      const paths = def.paths.map((path, j) => {
        if (path.when === undefined) return { name: path.name };
        try {
          return { name: path.name, when: compileExpression(path.when) };
        } catch (err) {
          throw new InvalidFlowError((err as Error).message, at(`paths/${j}/when`));
        }
      });
      return { ...base, type: 'router', def, secretNames: [], paths };
    }
    case 'foreach': {
      let items: CompiledExpression;
      try {
        items = compileExpression(def.items);
      } catch (err) {
        throw new InvalidFlowError((err as Error).message, at('items'));
      }
      let loop: CompiledFlow;
      try {
        loop = compileFlow({ slug: flow.slug, trigger: flow.trigger, steps: def.steps });
      } catch (err) {
        if (!(err instanceof InvalidFlowError)) throw err;
        throw new InvalidFlowError(err.message.slice(err.path.length + 2), `/steps/${index}${err.path}`);
      }
      const maxItems = def.maxItems ?? DEFAULT_LOOP_MAX_ITEMS;
      return { ...base, type: 'foreach', def, secretNames: loop.secretNames, items, maxItems, loop };
    }
    case 'respond':
      try {
        const answer = compileTemplateTree(respondTemplateOf(def), RESPOND_TEMPLATE_OPTIONS);
        return { ...base, type: 'respond', def, secretNames: answer.secretNames, answer };
      } catch (err) {
        const pointer = err instanceof TemplateError ? err.pointer : '';
        throw new InvalidFlowError((err as Error).message, `/steps/${index}${pointer}`);
      }
    case 'delay': {
      if (def.until !== undefined) {
        try {
          return { ...base, type: 'delay', def, secretNames: [], until: compileExpression(def.until) };
        } catch (err) {
          throw new InvalidFlowError((err as Error).message, at('until'));
        }
      }
      try {
        return { ...base, type: 'delay', def, secretNames: [], forMs: parseDuration(def.for ?? 0) };
      } catch (err) {
        throw new InvalidFlowError((err as Error).message, at('for'));
      }
    }
    default:
      throw new InvalidFlowError(`unknown step type '${(def as { type: unknown }).type}'`, at('type'));
  }
}

/** Compiles a (validated) flow definition. Throws `InvalidFlowError` on the first problem. */
export function compileFlow(def: FlowDefinition): CompiledFlow {
  let graph: StepGraph;
  try {
    graph = new StepGraph(def.steps);
  } catch (err) {
    if (err instanceof StepGraphError) throw new InvalidFlowError(err.message, `/steps/${err.stepIndex}`);
    throw err;
  }
  const steps = new Map(def.steps.map((s, i) => [s.id, compileStep(s, i, def)]));
  const step = (id: string): CompiledStep => {
    const found = steps.get(id);
    if (found) return found;
    const item = parseItemStepId(id);
    const loop = item && steps.get(item.loop);
    if (loop?.type === 'foreach') return loop.loop.step(item!.step);
    throw new Error(`flow '${def.slug}' has no step '${id}'`);
  };
  const secretNames = [...new Set([...steps.values()].flatMap((s) => s.secretNames))].sort();
  return {
    definition: def,
    graph,
    step,
    retryPolicy: (id) => step(id).retryPolicy,
    timeoutMs: (id) => step(id).timeoutMs,
    secretNames,
    respondStep: def.steps.find((s) => s.type === 'respond')?.id,
  };
}

/** The flow a step runs in and its id there: a loop item's step runs in its loop's own steps. */
export function scopeOf(flow: CompiledFlow, stepId: string): { flow: CompiledFlow; stepId: string } {
  const item = parseItemStepId(stepId);
  if (!item) return { flow, stepId };
  const loop = flow.step(item.loop);
  if (loop.type !== 'foreach')
    throw new Error(`step '${item.loop}' of flow '${flow.definition.slug}' is not a loop`);
  return { flow: loop.loop, stepId: item.step };
}

/**
 * A step's input: the trigger's body (in a loop, the item), its one need's output, or
 * `{ [needId]: output }` for a join. A loop item's step may be named by its row id or, in its
 * loop's own flow, by its id there.
 */
export function stepInput(flow: CompiledFlow, stepId: string, ctx: RunContext): unknown {
  if (parseItemStepId(stepId)) {
    const scope = scopeOf(flow, stepId);
    return stepInput(scope.flow, scope.stepId, ctx);
  }
  const needs = flow.graph.needsOf(stepId);
  if (needs.length === 0) return ctx.item ? ctx.item.value : (ctx.trigger.body ?? null);
  // A router's path gives the router's output (its input).
  const outputOf = (need: string) => own(ctx.steps, stepOfNeed(need));
  if (needs.length === 1) return outputOf(needs[0]) ?? null;
  if (flow.graph.joinOf(stepId) === 'any') {
    // Only the branches that ran through: a filtered need keeps an output (its input), a skipped one has
    // none. Without statuses, a step with an output counts as succeeded.
    const stepStatus = (id: string): StepStatus =>
      !Object.hasOwn(ctx.steps, id) ? 'skipped' : ((ctx.statuses && own(ctx.statuses, id)) ?? 'succeeded');
    const ran = needs.filter((need) => needStatus(need, stepStatus, ctx.routes) === 'succeeded');
    return Object.fromEntries(ran.map((need) => [need, outputOf(need)]));
  }
  return Object.fromEntries(needs.map((need) => [need, outputOf(need) ?? null]));
}
