import { withDeferredDateTimeFormat } from './deferred-date-format';

// First in the apps' main, before Nest loads: its loggers' date formatters cost 5 MB each process,
// and Hookflow logs through pino (docs/operations.md, Sizing).
// eslint-disable-next-line @typescript-eslint/no-require-imports
withDeferredDateTimeFormat(() => require('@nestjs/common'));
