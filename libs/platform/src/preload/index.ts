import { withDeferredDateTimeFormat } from './deferred-date-format';

// Imported first by the API's and the worker's main, before anything else loads Nest.
// @nestjs/common builds date formatters for its own loggers as it loads, which costs each process
// 5 MB of resident ICU data, while Hookflow's logs go through pino; deferred, a formatter is built
// only if one of Nest's loggers ever prints.
// eslint-disable-next-line @typescript-eslint/no-require-imports
withDeferredDateTimeFormat(() => require('@nestjs/common'));
