import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type {
  CompiledFlow,
  FlowDefinition,
  IngressResponse,
  InProcessRunResult,
  InProcessStepResult,
  TriggerData,
  WebhookTriggerDef,
} from '@hookflow/flows';
// The module alone, not the package: the CLI loads the flows runtime only for the commands that run flows.
import { flowFileRef, readFlowFile } from '@hookflow/flows/files';
import { CliError, usage } from './cli-error';
import type { CommandHandler, Wire } from './command-context';
import { readJsonFile } from './flow-files';
import { formatDetail, formatJson, plural } from './output';
import { collect, parseHeaders, parseQuery } from './request-options';

interface TestOptions {
  payload?: string;
  bodyFile?: string;
  contentType?: string;
  query: string[];
  header: string[];
  method?: string;
  live?: boolean;
}

/** Where a live test reads the value of secret NAME: secrets live on the server, not in files. */
export const SECRET_ENV_PREFIX = 'HOOKFLOW_SECRET_';

function triggerMethod(definition: FlowDefinition, requested: string | undefined): string {
  const allowed: string[] = webhookTriggerOf(definition)?.methods ?? ['POST'];
  if (requested === undefined) return allowed[0] ?? 'POST';
  const method = requested.toUpperCase();
  if (!allowed.includes(method)) {
    throw new CliError(
      `the trigger of '${definition.slug}' accepts ${allowed.join(', ')}, not ${method}; a real ${method} request would get 405`,
    );
  }
  return method;
}

function secretsFromEnv(flow: CompiledFlow, env: Record<string, string | undefined>): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const name of flow.secretNames) {
    const value = env[`${SECRET_ENV_PREFIX}${name}`];
    if (value !== undefined) secrets[name] = value;
  }
  return secrets;
}

/** `POST https://…` and the other options of an http-like request, one a line. */
function formatRequest(request: unknown): string[] {
  if (
    request === null ||
    typeof request !== 'object' ||
    typeof (request as { url?: unknown }).url !== 'string'
  ) {
    return [`  request: ${formatJson(request, '    ')}`];
  }
  const { method, url, ...rest } = request as Record<string, unknown>;
  const lines = [`  request: ${typeof method === 'string' ? `${method} ` : ''}${String(url)}`];
  for (const [key, value] of Object.entries(rest)) {
    const head = `    ${key}: `;
    lines.push(head + formatJson(value, '    ', 100));
  }
  return lines;
}

function formatStep(step: InProcessStepResult, dryRun: boolean): string[] {
  const notSent =
    step.type === 'action' && dryRun && step.status === 'succeeded' ? '  (rendered, not sent)' : '';
  const lines = [`${step.id}  ${step.type}  ${step.status}${notSent}`];
  if (step.status === 'skipped') return lines;
  lines.push(`  input:  ${formatJson(step.input, '  ')}`);
  if (step.request !== undefined) lines.push(...formatRequest(step.request));
  // A dry-run action's output only repeats its request.
  if (!(step.type === 'action' && dryRun && step.request !== undefined)) {
    lines.push(`  output: ${formatJson(step.output, '  ')}`);
  }
  if (step.routes)
    lines.push(`  paths:  ${step.routes.length > 0 ? step.routes.join(', ') : '(none taken)'}`);
  // A log line is the author's text: control characters are shown, never obeyed.
  for (const line of step.logs ?? []) lines.push(`  log:    ${JSON.stringify(line).slice(1, -1)}`);
  if (step.error) lines.push(`  error:  ${step.error.code}: ${step.error.message}`);
  for (const item of step.items ?? []) {
    lines.push(`  item ${item.index}  ${item.status}`);
    for (const inner of item.steps) {
      const id = `${step.id}[${item.index}].${inner.id}`;
      // A value printed over several lines is one string: every line of it is indented.
      const own = formatStep({ ...inner, id }, dryRun).flatMap((text) => text.split('\n'));
      lines.push(...own.map((line) => `    ${line}`));
    }
  }
  return lines;
}

/** The steps of a run and of its loops' items. */
function allSteps(steps: InProcessStepResult[]): InProcessStepResult[] {
  return steps.flatMap((s) => [s, ...allSteps((s.items ?? []).flatMap((item) => item.steps))]);
}

/** What a flow's respond step would answer its webhook's sender; text is escaped, never obeyed. */
function formatResponse(response: IngressResponse | null): string[] {
  if (response === null) {
    return ["response: the trigger's default (the run does not reach its respond step)", ''];
  }
  const lines = [`response: ${response.status}`];
  for (const [name, value] of Object.entries(response.headers))
    lines.push(`  ${name}: ${JSON.stringify(value)}`);
  let body: string;
  try {
    body = /[/+]json\b/.test(response.headers['content-type'] ?? '')
      ? formatJson(JSON.parse(response.body), '  ')
      : JSON.stringify(response.body);
  } catch {
    body = JSON.stringify(response.body);
  }
  lines.push(`  body: ${body}`, '');
  return lines;
}

/** Every step with its input and output (and an action's rendered request), the response, then the verdict. */
export function formatTestRun(result: InProcessRunResult, dryRun: boolean): string[] {
  const lines: string[] = [];
  for (const step of result.steps) lines.push(...formatStep(step, dryRun), '');
  if (result.response !== undefined) lines.push(...formatResponse(result.response));
  const actions = allSteps(result.steps).filter(
    (s) => s.type === 'action' && s.status === 'succeeded',
  ).length;
  const ran = result.steps.filter((s) => s.status !== 'skipped').length;
  const what = dryRun
    ? `${plural(actions, 'action')} rendered, not sent`
    : `${plural(actions, 'action')} sent`;
  lines.push(`run ${result.status}: ${ran} of ${plural(result.steps.length, 'step')} ran, ${what}`);
  return lines;
}

export const testHandler: CommandHandler<[string], TestOptions> = async (ctx, file) => {
  const { options, io } = ctx;
  const ref = flowFileRef(path.resolve(io.cwd, file), io.cwd);
  const loaded = await readFlowFile(ref);
  if (!loaded.ok) throw new CliError(formatDetail({ file: ref.displayPath, path: '', ...loaded.error }));
  const {
    compileFlow,
    createConnectorRegistry,
    createOutboundAgent,
    ExpressionSandbox,
    runFlowInProcess,
    tickBody,
    timedMethodOf,
    validateFlow,
  } = await import('./flows-runtime');
  let dispatcher: ReturnType<typeof createOutboundAgent>;
  try {
    // The same SSRF guard as the worker; OUTBOUND_ALLOW opens exceptions (a local receiver: 127.0.0.1/32).
    dispatcher = createOutboundAgent({ allow: io.env.OUTBOUND_ALLOW ?? '' });
  } catch (err) {
    throw new CliError(`OUTBOUND_ALLOW: ${(err as Error).message}`);
  }
  // Expressions run in a child process, as on the server: a runaway one cannot hang the CLI.
  const expressions = new ExpressionSandbox({ processes: 1 });
  try {
    const connectors = createConnectorRegistry({ dispatcher });
    const validation = validateFlow(loaded.document, { connectors });
    if (!validation.valid) {
      throw new CliError(`${ref.displayPath} is not a valid flow`, {
        code: 'invalid_flow',
        details: validation.errors.map((e) => ({ file: ref.displayPath, ...e })),
      });
    }
    if (!ctx.json) {
      for (const w of validation.warnings)
        io.stderr.write(`warning: ${formatDetail({ file: ref.displayPath, ...w })}\n`);
    }
    const definition = validation.flow;
    const headers = parseHeaders(options.header);
    const given = await requestBody(options, headers, io.cwd, webhookTriggerOf(definition)?.xmlArrays);
    const now = Date.now();
    // A schedule's runs get the tick's times unless a payload stands in; a poll's, the polled item.
    const noPayload = options.payload === undefined && options.bodyFile === undefined;
    const body = definition.trigger.type === 'schedule' && noPayload ? tickBody(now, now) : given;
    const timedMethod = timedMethodOf(definition);
    if (timedMethod !== undefined && options.method !== undefined)
      throw usage(`--method: a ${definition.trigger.type} trigger's runs have no HTTP method`);
    const method = timedMethod ?? triggerMethod(definition, options.method);
    if (body !== null && method === 'GET' && !ctx.json) {
      io.stderr.write(
        'warning: a GET request has no body, and senders of GET webhooks put their values in the query: ' +
          'pass them with --query name=value (expressions read $trigger.query)\n',
      );
    }
    const trigger: TriggerData = {
      body,
      query: parseQuery(options.query),
      headers,
      method,
      receivedAt: new Date().toISOString(),
    };
    let flow: CompiledFlow;
    try {
      flow = compileFlow(definition);
    } catch (err) {
      throw new CliError(`${ref.displayPath}: ${(err as Error).message}`);
    }
    const dryRun = options.live !== true;
    const result = await runFlowInProcess(flow, trigger, {
      connectors,
      expressions,
      dryRun,
      secrets: dryRun ? undefined : secretsFromEnv(flow, io.env),
    });
    ctx.out.result({ flow: definition.slug, file: ref.displayPath, dryRun, ...result });
    ctx.out.note(
      `testing ${definition.slug} (${ref.displayPath}) ${dryRun ? 'as a dry run: actions are rendered, not sent (--live sends them)' : 'live: actions are sent'}\n`,
    );
    for (const line of formatTestRun(result, dryRun)) ctx.out.line(line);
    return result.status === 'failed' ? 1 : 0;
  } finally {
    await Promise.all([dispatcher.close(), expressions.close()]);
  }
};

export function registerTestCommand(program: Command, wire: Wire): void {
  program
    .command('test')
    .description('run a flow file locally on a payload and print every step; actions are rendered, not sent')
    .argument('<file>', 'the flow file')
    .option('--payload <file>', 'JSON file with the request body (default: no body)')
    .option('--body-file <file>', 'a raw request body (XML, a form, text), parsed as ingress parses it')
    .option('--content-type <type>', "the body's type (default: from --body-file's extension)")
    .option('--query <name=value>', 'a query parameter of the request (repeatable)', collect, [])
    .option('--header <name:value>', 'a header of the request (repeatable)', collect, [])
    .option('--method <method>', "the request's method (default: the trigger's first method)")
    .option('--live', `send the actions for real (secrets from ${SECRET_ENV_PREFIX}<NAME> variables)`)
    .addHelpText(
      'after',
      '\nNothing is stored and no server is needed. Exits 1 if the flow is invalid or the run failed.',
    )
    .action(wire(testHandler));
}

const TYPE_BY_EXTENSION: Record<string, string> = {
  '.json': 'application/json',
  '.xml': 'application/xml',
  '.txt': 'text/plain',
  '.form': 'application/x-www-form-urlencoded',
};

/** The request's body: a JSON `--payload`, or a raw `--body-file` parsed by its content type as ingress would. */
async function requestBody(
  options: TestOptions,
  headers: Record<string, string>,
  cwd: string,
  xmlArrays: string[] | undefined,
): Promise<unknown> {
  if (options.payload !== undefined && options.bodyFile !== undefined) {
    throw usage('--payload and --body-file both give the body: pass one');
  }
  if (options.bodyFile === undefined) {
    if (options.contentType !== undefined && options.payload === undefined) {
      throw usage('--content-type needs --body-file');
    }
    if (options.payload === undefined) return null;
    headers['content-type'] ??= options.contentType ?? 'application/json';
    return readJsonFile(options.payload, cwd);
  }
  const file = path.resolve(cwd, options.bodyFile);
  let raw: Buffer;
  try {
    raw = await fs.readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${options.bodyFile}: ${(err as Error).message}`);
  }
  const contentType =
    options.contentType ?? headers['content-type'] ?? TYPE_BY_EXTENSION[path.extname(file).toLowerCase()];
  if (!contentType) {
    throw usage(`--content-type is needed: the type of ${options.bodyFile} is not known by its extension`);
  }
  headers['content-type'] = contentType;
  // Loaded already with the rest of the runtime (see flows-runtime.ts).
  const { parseRequestBody, RequestBodyError } = await import('./flows-runtime');
  try {
    return parseRequestBody(raw, contentType, undefined, { xmlArrays });
  } catch (err) {
    // A sender would get 400 for it.
    if (err instanceof RequestBodyError) throw new CliError(`${options.bodyFile}: ${err.message}`);
    throw err;
  }
}

/** `webhookOf` of libs/flows, written here so that only the commands that run flows load it. */
function webhookTriggerOf(definition: FlowDefinition): WebhookTriggerDef | undefined {
  return definition.trigger.type === 'webhook' ? definition.trigger : undefined;
}
