export {
  DEFAULT_HOST_MEMORY_MB,
  ExpressionSandbox,
  IN_PROCESS_LEASH_MS,
  KILL_GRACE_MS,
} from './expression-sandbox';
export type { ExpressionSandboxOptions } from './expression-sandbox';
export { expressionSandboxProvider } from './sandbox.provider';
export type { SandboxSettings } from './sandbox.provider';
