import { Logger, type Provider } from '@nestjs/common';
import { ExpressionSandbox, type ExpressionSandboxOptions } from './expression-sandbox';

/** What an app's configuration says of its sandbox (EXPRESSION_PROCESSES, EXPRESSION_MEMORY_MB). */
export interface SandboxSettings {
  expressionProcesses: number;
  expressionMemoryMb: number;
}

/** An app's ExpressionSandbox, warning through Nest's logger; Nest ends its hosts when the app closes. */
export function expressionSandboxProvider(
  settings: SandboxSettings,
  options: Partial<ExpressionSandboxOptions> = {},
): Provider {
  return {
    provide: ExpressionSandbox,
    useFactory: () => {
      const logger = new Logger(ExpressionSandbox.name);
      return new ExpressionSandbox({
        processes: settings.expressionProcesses,
        memoryMb: settings.expressionMemoryMb,
        warn: (entry) => logger.warn(entry),
        ...options,
      });
    },
  };
}
