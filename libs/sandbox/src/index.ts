export { ExpressionSandbox, KILL_GRACE_MS, defaultHostScript } from './expression-sandbox';
export type { ExpressionSandboxOptions } from './expression-sandbox';
