/** `{{#each}}` passes one render may make: budgets keep nested loops from holding a worker or its heap. */
export const MAX_RENDER_ITERATIONS = 100_000;
/** Characters of text helpers and templates may produce in one render (16 Mi). */
export const MAX_RENDER_CHARS = 16 * 1024 * 1024;

/** Thrown past a limit; the renderer names the template it happened in. */
export class RenderBudgetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RenderBudgetError';
  }
}

// Rendering is synchronous: the render in progress is the only one.
let current: { iterations: number; chars: number } | undefined;

/** Runs one render under a fresh budget. */
export function withRenderBudget<T>(render: () => T): T {
  const outer = current;
  current = { iterations: 0, chars: 0 };
  try {
    return render();
  } finally {
    current = outer;
  }
}

/** Counts text produced by a helper or a template; returns it. */
export function spendText<T>(text: T): T {
  if (current && typeof text === 'string' && (current.chars += text.length) > MAX_RENDER_CHARS) {
    throw new RenderBudgetError(`renders more than ${MAX_RENDER_CHARS} characters of text`);
  }
  return text;
}

/** Counts one pass of a `{{#each}}` body. */
export function spendIteration(): void {
  if (current && ++current.iterations > MAX_RENDER_ITERATIONS) {
    throw new RenderBudgetError(`repeats {{#each}} more than ${MAX_RENDER_ITERATIONS} times in one render`);
  }
}
