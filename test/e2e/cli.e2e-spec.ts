import { canonicalFlowJson, type FlowDefinition } from '@hookflow/flows';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli, type CliResult } from '../utils/cli-runner';
import { HookflowHarness } from '../utils/hookflow-harness';
import { SinkServer } from '../utils/sink-server';

/** The `hookflow` CLI, run in-process against the real API and worker. */
describe('hookflow CLI', () => {
  let hf: HookflowHarness;
  let sink: SinkServer;
  let work: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    sink = await SinkServer.start();
    hf = await HookflowHarness.start();
    const { port } = hf.api.getHttpServer().address() as AddressInfo;
    env = { HOOKFLOW_URL: `http://127.0.0.1:${port}`, HOOKFLOW_API_KEY: hf.apiKey };
    work = mkdtempSync(path.join(tmpdir(), 'hookflow-cli-e2e-'));
    mkdirSync(path.join(work, 'flows'));
  });

  afterAll(async () => {
    await hf?.close();
    await sink?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Runs the CLI in the temp work folder against the test server. */
  const cli = (argv: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> =>
    runCli(argv, { cwd: work, env: { ...env, ...extraEnv } });

  const flowDef = (slug: string, sinkPath: string, extra: Partial<FlowDefinition> = {}): FlowDefinition =>
    ({
      slug,
      name: `CLI test ${slug}`,
      trigger: { type: 'webhook' },
      steps: [
        { id: 'order', type: 'transform', expression: "{ 'id': id, 'total': $sum(items.price) }" },
        {
          id: 'notify',
          type: 'action',
          connector: 'http',
          with: { method: 'POST', url: `${sink.url}${sinkPath}`, json: '{{steps.order}}' },
          retry: { attempts: 1 },
        },
      ],
      ...extra,
    }) as FlowDefinition;

  /** Writes a flow file in its canonical form (what export returns) and returns the text. */
  const writeFlow = (file: string, def: FlowDefinition): string => {
    const text = canonicalFlowJson(def);
    writeFileSync(path.join(work, file), text);
    return text;
  };

  const getFlow = async (slug: string) =>
    (await hf.http().get(`/api/flows/${slug}`).set(hf.auth).expect(200)).body;

  describe('validate', () => {
    it("exits 0 on the repository's flows/ examples", async () => {
      const result = await runCli(['validate', 'flows'], { cwd: process.cwd() });
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^\d+ files, 0 invalid\n$/);
      expect(result.code).toBe(0);
    });

    it('exits 1 with file: /pointer: message lines for a broken file', async () => {
      const dir = path.join(work, 'broken');
      mkdirSync(dir);
      writeFileSync(
        path.join(dir, 'broken.flow.json'),
        JSON.stringify({
          slug: 'broken',
          trigger: { type: 'webhook' },
          steps: [{ id: 'x', type: 'transform', expression: "{ 'a': " }],
        }),
      );
      const result = await cli(['validate', 'broken']);
      expect(result.code).toBe(1);
      expect(result.stdout.split('\n')).toEqual([
        expect.stringMatching(
          /^broken\/broken\.flow\.json: \/steps\/0\/expression: is not valid JSONata: .+/,
        ),
        '1 file, 1 invalid',
        '',
      ]);
      rmSync(dir, { recursive: true });
    });
  });

  describe('test', () => {
    it('prints every step and sends nothing without --live, and sends the action with --live', async () => {
      writeFlow('local.flow.json', flowDef('cli-local', '/cli-local'));
      writeFileSync(
        path.join(work, 'order.json'),
        JSON.stringify({ id: 'A-7', items: [{ price: 5 }, { price: 7 }] }),
      );

      const dry = await cli(['test', 'local.flow.json', '--payload', 'order.json']);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('order  transform  succeeded');
      expect(dry.stdout).toContain('  output: {"id": "A-7", "total": 12}');
      expect(dry.stdout).toContain('notify  action  succeeded  (rendered, not sent)');
      expect(dry.stdout).toContain(`  request: POST ${sink.url}/cli-local`);
      expect(dry.stdout).toContain('    json: {"id": "A-7", "total": 12}');
      expect(sink.received('/cli-local')).toHaveLength(0);

      // The SSRF guard refuses the loopback sink until OUTBOUND_ALLOW opens it, and connects to nothing.
      const refused = await cli(['test', 'local.flow.json', '--payload', 'order.json', '--live']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain(
        '  error:  blocked: 127.0.0.1 is refused by the outbound guard: loopback',
      );
      expect(sink.received('/cli-local')).toHaveLength(0);

      const live = await cli(['test', 'local.flow.json', '--payload', 'order.json', '--live'], {
        OUTBOUND_ALLOW: '127.0.0.1/32',
      });
      expect(live.code).toBe(0);
      expect(live.stdout).toContain('notify  action  succeeded\n');
      expect(live.stdout).toMatch(
        / {2}output: \{\n {4}"status": 200,\n.*\n {4}"body": \{"ok": true\}\n {2}\}/s,
      );
      expect(live.stdout).toContain('run succeeded: 2 of 2 steps ran, 1 action sent');
      const [req] = await sink.waitForRequests('/cli-local', 1);
      expect(req.json).toEqual({ id: 'A-7', total: 12 });
      expect(sink.received('/cli-local')).toHaveLength(1);
      // Nothing was stored on the server: `test` runs in-process.
      await hf.http().get('/api/flows/cli-local').set(hf.auth).expect(404);
    });

    it('takes a raw XML or form body, parsed as ingress parses it, and refuses a malformed one', async () => {
      writeFlow('xml.flow.json', {
        slug: 'cli-xml',
        trigger: { type: 'webhook' },
        steps: [
          {
            id: 'shape',
            type: 'transform',
            expression: '{ "skus": [order.item."@_sku"], "note": order.note }',
          },
        ],
      } as FlowDefinition);
      writeFileSync(
        path.join(work, 'order.xml'),
        '<order><item sku="X">2</item><item sku="Y">1</item><note>door</note></order>',
      );
      const xml = await cli(['test', 'xml.flow.json', '--body-file', 'order.xml']);
      expect(xml.code).toBe(0);
      expect(xml.stdout).toContain('  output: {"skus": ["X", "Y"], "note": "door"}');

      writeFlow('form.flow.json', {
        slug: 'cli-form',
        trigger: { type: 'webhook' },
        steps: [{ id: 'shape', type: 'transform', expression: '{ "tags": $."tags[]", "name": name }' }],
      } as FlowDefinition);
      writeFileSync(path.join(work, 'signup.txt'), 'name=Ada&tags[]=a&tags[]=b');
      const form = await cli([
        'test',
        'form.flow.json',
        '--body-file',
        'signup.txt',
        '--content-type',
        'application/x-www-form-urlencoded',
      ]);
      expect(form.code).toBe(0);
      expect(form.stdout).toContain('  output: {"tags": ["a", "b"], "name": "Ada"}');

      writeFileSync(path.join(work, 'broken.xml'), '<order><item></order>');
      const broken = await cli(['test', 'xml.flow.json', '--body-file', 'broken.xml']);
      expect(broken.code).toBe(1);
      expect(broken.stderr).toMatch(/^hookflow: broken\.xml: body is not well-formed XML/);

      const both = await cli([
        'test',
        'xml.flow.json',
        '--body-file',
        'order.xml',
        '--payload',
        'order.json',
      ]);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('--payload and --body-file both give the body');
    });

    it('warns that a GET request has no body when given one, pointing at --query', async () => {
      writeFlow('get.flow.json', {
        slug: 'cli-get',
        trigger: { type: 'webhook', methods: ['GET'] },
        steps: [{ id: 'keep', type: 'filter', condition: '$exists($trigger.query.email)' }],
      } as FlowDefinition);
      writeFileSync(path.join(work, 'contact.json'), JSON.stringify({ email: 'a@example.com' }));
      const withBody = await cli(['test', 'get.flow.json', '--payload', 'contact.json']);
      expect(withBody.stderr).toContain('warning: a GET request has no body');
      expect(withBody.stderr).toContain('--query name=value');
      const withQuery = await cli(['test', 'get.flow.json', '--query', 'email=a@example.com']);
      expect(withQuery.code).toBe(0);
      expect(withQuery.stderr).not.toContain('warning');
      expect(withQuery.stdout).toContain('keep  filter  succeeded');
    });

    it('runs code steps in the sandbox, shows their logs and exits 1 when one fails', async () => {
      writeFlow('code.flow.json', {
        slug: 'cli-code',
        trigger: { type: 'webhook' },
        steps: [
          { id: 'calc', type: 'code', code: 'console.log("n", input.n);\nreturn { double: input.n * 2 }' },
          { id: 'oops', type: 'code', code: 'const x = null;\nreturn x.y' },
        ],
      } as FlowDefinition);
      writeFileSync(path.join(work, 'n.json'), JSON.stringify({ n: 21 }));
      // As a user runs it, in a process of its own: its exit code must survive stopping the sandbox's host.
      const result = await new Promise<CliResult>((resolve) => {
        const bin = path.resolve('bin/hookflow.js');
        execFile(
          process.execPath,
          [bin, 'test', 'code.flow.json', '--payload', 'n.json'],
          { cwd: work },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
      expect(result.stdout).toContain('calc  code  succeeded');
      expect(result.stdout).toContain('  output: {"double": 42}');
      expect(result.stdout).toContain('  log:    n 21');
      expect(result.stdout).toContain(
        "error:  code_error: TypeError: cannot read property 'y' of null (line 2, column 9)",
      );
      expect(result.code).toBe(1);
    });

    it('fails a step whose expression blows up in the sandbox, and exits', async () => {
      writeFlow('giant.flow.json', {
        slug: 'cli-giant',
        trigger: { type: 'webhook' },
        steps: [{ id: 'shape', type: 'transform', expression: '$length($pad("", 400000000, "x"))' }],
      } as FlowDefinition);
      const result = await cli(['test', 'giant.flow.json']);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('shape  transform  failed');
      // Memory runs out first, unless a loaded machine reaches the time budget before it.
      expect(result.stdout).toMatch(/error: {2}(expression_too_large|expression_timeout): /);
    });
  });

  describe('plan, apply and export', () => {
    let alphaText: string;
    let betaText: string;

    it('apply creates the flows of a folder', async () => {
      alphaText = writeFlow('flows/alpha.flow.json', flowDef('cli-alpha', '/cli-alpha'));
      betaText = writeFlow('flows/beta.flow.json', flowDef('cli-beta', '/cli-beta'));

      const plan = await cli(['plan']);
      expect(plan.code).toBe(0);
      expect(plan.stdout).toContain('+ created  cli-alpha  (flows/alpha.flow.json)');
      expect(plan.stdout).toContain('Plan: 2 to create, 0 to update, 0 unchanged, 0 to disable');
      await hf.http().get('/api/flows/cli-alpha').set(hf.auth).expect(404);

      const apply = await cli(['apply', 'flows']);
      expect(apply).toMatchObject({ code: 0, stderr: '' });
      expect(apply.stdout.split('\n')).toEqual([
        '+ created  cli-alpha  (flows/alpha.flow.json)',
        '+ created  cli-beta   (flows/beta.flow.json)',
        'Applied: 2 created, 0 updated, 0 unchanged, 0 disabled.',
        '',
      ]);
      const alpha = await getFlow('cli-alpha');
      expect(alpha).toMatchObject({ version: 1, enabled: true, source: 'flows/alpha.flow.json' });
    });

    it('plan then shows them unchanged', async () => {
      const plan = await cli(['plan', 'flows']);
      expect(plan.code).toBe(0);
      expect(plan.stdout.split('\n')).toEqual([
        '= unchanged  cli-alpha',
        '= unchanged  cli-beta',
        'Plan: 0 to create, 0 to update, 2 unchanged, 0 to disable (2 flows; dry run, nothing changed).',
        '',
      ]);
      expect(plan.stderr).toBe('');
    });

    it('export writes the canonical file byte for byte, to stdout or a file', async () => {
      const toStdout = await cli(['export', 'cli-alpha']);
      expect(toStdout).toEqual({ code: 0, stdout: alphaText, stderr: '' });
      const toFile = await cli(['export', 'cli-beta', '-o', 'beta-export.json']);
      expect(toFile).toEqual({ code: 0, stdout: 'exported cli-beta to beta-export.json\n', stderr: '' });
      expect(readFileSync(path.join(work, 'beta-export.json'), 'utf8')).toBe(betaText);
      const missing = await cli(['export', 'no-such-flow']);
      expect(missing).toMatchObject({ code: 1, stdout: '' });
      expect(missing.stderr).toContain('not found');
    });

    it('a changed file shows as updated with what changed, and apply makes a new version', async () => {
      const changed = flowDef('cli-beta', '/cli-beta-v2');
      writeFlow('flows/beta.flow.json', changed);
      const plan = await cli(['plan']);
      expect(plan.stdout).toContain("~ updated    cli-beta   v1 -> v2: step 'notify' changed (with.url)");
      expect(plan.stdout).toContain('= unchanged  cli-alpha');
      expect((await getFlow('cli-beta')).version).toBe(1);

      const dryApply = await cli(['apply', '--dry-run', '--json']);
      expect(JSON.parse(dryApply.stdout)).toMatchObject({ dryRun: true, updated: [{ slug: 'cli-beta' }] });
      expect((await getFlow('cli-beta')).version).toBe(1);

      const apply = await cli(['apply', '--json']);
      expect(apply.code).toBe(0);
      expect(JSON.parse(apply.stdout)).toEqual({
        dryRun: false,
        created: [],
        updated: [
          {
            slug: 'cli-beta',
            path: 'flows/beta.flow.json',
            fromVersion: 1,
            toVersion: 2,
            changes: ["step 'notify' changed (with.url)"],
          },
        ],
        unchanged: [{ slug: 'cli-alpha', path: 'flows/alpha.flow.json' }],
        disabled: [],
      });
      const beta = await getFlow('cli-beta');
      expect(beta.version).toBe(2);
      expect(beta.definition.steps[1].with.url).toBe(`${sink.url}/cli-beta-v2`);
    });

    it('--prune disables the flow whose file was removed', async () => {
      unlinkSync(path.join(work, 'flows/alpha.flow.json'));
      const withoutPrune = await cli(['apply']);
      expect(withoutPrune.stdout).not.toContain('disabled  cli-alpha');
      expect((await getFlow('cli-alpha')).enabled).toBe(true);

      const prune = await cli(['apply', '--prune']);
      expect(prune.code).toBe(0);
      expect(prune.stdout).toContain('- disabled   cli-alpha  (flows/alpha.flow.json is gone)');
      expect(prune.stdout).toContain('Applied: 0 created, 0 updated, 1 unchanged, 1 disabled.');
      expect((await getFlow('cli-alpha')).enabled).toBe(false);
    });

    it('refuses invalid files locally, sending nothing', async () => {
      const dir = path.join(work, 'bad-flows');
      mkdirSync(dir);
      writeFileSync(
        path.join(dir, 'bad.flow.json'),
        JSON.stringify({
          slug: 'cli-bad',
          trigger: { type: 'webhook' },
          steps: [{ id: 'x', type: 'filter' }],
        }),
      );
      const result = await cli(['apply', 'bad-flows']);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        'hookflow: 1 of 1 flow file is invalid; nothing was sent\n  bad-flows/bad.flow.json: /steps/0/condition: is required\n',
      );
      await hf.http().get('/api/flows/cli-bad').set(hf.auth).expect(404);
    });
  });

  describe('errors', () => {
    it('tells the user to set HOOKFLOW_API_KEY on 401', async () => {
      const noKey = await runCli(['runs', 'list'], { cwd: work, env: { HOOKFLOW_URL: env.HOOKFLOW_URL } });
      expect(noKey).toEqual({
        code: 1,
        stdout: '',
        stderr: `hookflow: ${env.HOOKFLOW_URL} needs an API key: set HOOKFLOW_API_KEY, pass --key, or save it once with hookflow login\n`,
      });
      const wrongKey = await cli(['runs', 'list', '--key', 'wrong-key-wrong-key']);
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toContain('refused the API key: set HOOKFLOW_API_KEY');
    });

    it('says when the server cannot be reached', async () => {
      const server = hf.api.getHttpServer().address() as AddressInfo;
      const closedPort = server.port === 1 ? 2 : 1;
      const result = await cli(['plan', 'flows', '--url', `http://127.0.0.1:${closedPort}`]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        new RegExp(`^hookflow: cannot reach Hookflow at http://127\\.0\\.0\\.1:${closedPort}: `),
      );
      // It says how to point the CLI elsewhere.
      expect(result.stderr).toContain('set HOOKFLOW_URL or pass --url, or save both once: hookflow login');
    });
  });

  describe('login', () => {
    const config = () => path.join(work, 'config', 'hookflow.json');
    // No HOOKFLOW_URL or HOOKFLOW_API_KEY: only what login saved.
    const bare = (argv: string[], cwd = work) => runCli(argv, { cwd, env: { HOOKFLOW_CONFIG: config() } });

    afterEach(() => rmSync(config(), { force: true }));

    it('checks and remembers the server and key for the commands that follow, and logout forgets them', async () => {
      const login = await bare(['login', '--url', env.HOOKFLOW_URL, '--key', hf.apiKey]);
      expect(login).toMatchObject({ code: 0, stdout: `logged in to ${env.HOOKFLOW_URL}\n` });
      expect(JSON.parse(readFileSync(config(), 'utf8'))).toEqual({ url: env.HOOKFLOW_URL, key: hf.apiKey });

      const list = await bare(['runs', 'list', '--limit', '1']);
      expect(list.code).toBe(0);

      expect(await bare(['logout'])).toMatchObject({ code: 0, stdout: `logged out: removed ${config()}\n` });
      // Back to the default server, without the key.
      expect((await bare(['runs', 'list'])).stderr).toContain('http://localhost:3000');
    });

    it('takes the key npm start wrote to .data/api-key in the folder it runs in', async () => {
      const folder = mkdtempSync(path.join(tmpdir(), 'hookflow-login-'));
      try {
        mkdirSync(path.join(folder, '.data'));
        writeFileSync(path.join(folder, '.data', 'api-key'), `${hf.apiKey}\n`);
        const login = await bare(['login', '--url', env.HOOKFLOW_URL], folder);
        expect(login.code).toBe(0);
        expect(login.stderr).toContain('the key came from .data/api-key');
        expect(JSON.parse(readFileSync(config(), 'utf8')).key).toBe(hf.apiKey);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });

    it('saves nothing for a key the server refuses, or without a key', async () => {
      const refused = await bare(['login', '--url', env.HOOKFLOW_URL, '--key', 'wrong-key-wrong-key']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('refused the API key');
      const none = await bare(['login', '--url', env.HOOKFLOW_URL]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no API key to log in with');
      expect(() => readFileSync(config())).toThrow();
    });
  });

  describe('runs', () => {
    let runId: string;

    it('list and show print a run', async () => {
      writeFlow('flows/runs.flow.json', flowDef('cli-runs', '/cli-runs'));
      expect((await cli(['apply'])).code).toBe(0);
      const hookPath = new URL((await getFlow('cli-runs')).triggerUrl).pathname;
      const accepted = await hf
        .http()
        .post(hookPath)
        .send({ id: 'R-1', items: [{ price: 3 }] })
        .expect(202);
      runId = accepted.body.runId;
      await hf.waitForRun(runId);

      const list = await cli(['runs', 'list', '--flow', 'cli-runs']);
      expect(list.code).toBe(0);
      const [header, row, ...rest] = list.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^RUN +FLOW +STATUS +CREATED +DURATION$/);
      expect(row).toMatch(
        new RegExp(`^${runId} +cli-runs +succeeded +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +\\S+$`),
      );
      expect(rest).toEqual([]);

      const json = await cli([
        'runs',
        'list',
        '--flow',
        'cli-runs',
        '--status',
        'succeeded',
        '--limit',
        '5',
        '--json',
      ]);
      expect(JSON.parse(json.stdout)).toEqual({
        items: [expect.objectContaining({ id: runId, flow: 'cli-runs', status: 'succeeded' })],
        nextCursor: null,
      });

      const show = await cli(['runs', 'show', runId]);
      expect(show.code).toBe(0);
      expect(show.stdout).toContain(`run ${runId}\n  flow     cli-runs v1\n  status   succeeded\n`);
      expect(show.stdout).toMatch(/\n {2}POST application\/json from 127\.0\.0\.1 at /);
      expect(show.stdout).toContain('  body  {"id":"R-1","items":[{"price":3}]}');
      expect(show.stdout).toMatch(/\n {2}order +succeeded +1 attempt /);
      expect(show.stdout).toMatch(/\n {2}notify +succeeded +1 attempt /);

      const missing = await cli(['runs', 'show', '00000000-0000-4000-8000-000000000000']);
      expect(missing).toMatchObject({ code: 1, stdout: '' });
      expect(missing.stderr).toContain('not found');
    });

    it('replay starts a new run from the same event', async () => {
      const replay = await cli(['runs', 'replay', runId, '--version', 'latest', '--json']);
      expect(replay.code).toBe(0);
      const { runId: newRunId } = JSON.parse(replay.stdout);
      expect(newRunId).not.toBe(runId);
      const run = await hf.waitForRun(newRunId);
      expect(run).toMatchObject({ status: 'succeeded', originRunId: runId });
      expect(sink.received('/cli-runs')).toHaveLength(2);
    });

    it('retry resumes a failed run; retrying a run that did not fail is an error', async () => {
      sink.script('/cli-retry', [400]);
      writeFlow('flows/retry.flow.json', flowDef('cli-retry', '/cli-retry'));
      expect((await cli(['apply'])).code).toBe(0);
      const hookPath = new URL((await getFlow('cli-retry')).triggerUrl).pathname;
      const accepted = await hf.http().post(hookPath).send({ id: 'F-1', items: [] }).expect(202);
      const failed = await hf.waitForRun(accepted.body.runId);
      expect(failed.status).toBe('failed');

      const show = await cli(['runs', 'show', failed.id]);
      expect(show.stdout).toMatch(/\n {2}notify +failed +1 attempt .*http_error/);
      expect(show.stdout).toMatch(/attempt 1: failed HTTP 400/);

      const retry = await cli(['runs', 'retry', failed.id]);
      expect(retry.code).toBe(0);
      expect(retry.stdout).toBe(`retrying run ${failed.id}: 1 step (notify)\n`);
      await expect(hf.waitForRun(failed.id)).resolves.toMatchObject({ status: 'succeeded' });

      const again = await cli(['runs', 'retry', failed.id]);
      expect(again).toMatchObject({ code: 1, stdout: '' });
      expect(again.stderr).toMatch(/^hookflow: /);
    });

    it('retry says when the flow changed since the run; --version latest runs its event on the current version', async () => {
      sink.script('/cli-latest', [400]);
      writeFlow('flows/latest.flow.json', flowDef('cli-latest', '/cli-latest'));
      expect((await cli(['apply'])).code).toBe(0);
      const hookPath = new URL((await getFlow('cli-latest')).triggerUrl).pathname;
      const accepted = await hf.http().post(hookPath).send({ id: 'L-1', items: [] }).expect(202);
      const failed = await hf.waitForRun(accepted.body.runId);
      expect(failed).toMatchObject({ status: 'failed', version: 1 });
      writeFlow('flows/latest.flow.json', flowDef('cli-latest', '/cli-latest', { name: 'fixed' }));
      expect((await cli(['apply'])).code).toBe(0);

      const retry = await cli(['runs', 'retry', failed.id]);
      expect(retry.code).toBe(0);
      expect(retry.stderr).toContain(
        `flow 'cli-latest' changed since this run: the retry runs its version 1, not 2. ` +
          `To run the event on version 2: hookflow runs retry ${failed.id} --version latest`,
      );
      await expect(hf.waitForRun(failed.id)).resolves.toMatchObject({ status: 'succeeded', version: 1 });

      const latest = await cli(['runs', 'retry', failed.id, '--version', 'latest', '--json']);
      expect(latest.code).toBe(0);
      const answer = JSON.parse(latest.stdout);
      expect(answer).toMatchObject({ originRunId: failed.id });
      await expect(hf.waitForRun(answer.runId)).resolves.toMatchObject({
        status: 'succeeded',
        version: 2,
        originRunId: failed.id,
      });
    });

    it('stats prints the figures of the runs above, per flow and destination', async () => {
      // The built CLI, as a user runs it: its run of cli-retry failed once at the sink, then succeeded on retry.
      const result = await new Promise<CliResult>((resolve) => {
        execFile(
          process.execPath,
          [path.resolve('bin/hookflow.js'), 'stats', '--flow', 'cli-retry', '--bucket', 'minute'],
          { cwd: work, env: { ...process.env, ...env } },
          (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }),
        );
      });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const lines = result.stdout.split('\n');
      expect(lines[0]).toMatch(/^window \S+ \S+ to \S+ \S+, by minute, flow cli-retry only$/);
      expect(lines[1]).toBe('runs   1: 0 queued, 0 running, 1 succeeded, 0 failed, 0 filtered, 0 cancelled');
      expect(result.stdout).toMatch(
        /\nFLOW +RUNS +FAILED +FAILURE RATE +P50 +P99\ncli-retry +1 +0 +0% +\S+ +\S+\n/,
      );
      const sinkHost = new URL(sink.url).host;
      expect(result.stdout).toMatch(
        new RegExp(`\\n${sinkHost.replace(/\./g, '\\.')} +2 +1 +50% +200 +\\S+ +\\S+\\n`),
      );
      expect(result.stdout).toMatch(
        new RegExp(`\\nlast errors\\n.*\\n {2}${sinkHost.replace(/\./g, '\\.')} +http_error: `),
      );

      const json = await cli(['stats', '--json', '--top', '1']);
      expect(json.code).toBe(0);
      const stats = JSON.parse(json.stdout);
      // cli-runs, cli-retry and cli-latest have runs (five, all succeeded by now); --top 1 lists one of them.
      expect(stats).toMatchObject({ bucket: 'hour', flowCount: 3, totals: { succeeded: 5, failed: 0 } });
      expect(stats.flows).toEqual([expect.objectContaining({ flow: expect.stringMatching(/^cli-/) })]);
      expect(stats.flows[0].series.length).toBeGreaterThanOrEqual(24);

      const bad = await cli(['stats', '--since', 'yesterday']);
      expect(bad).toMatchObject({ code: 1, stdout: '' });
      expect(bad.stderr).toContain('/since: must be an ISO 8601 time');
    });
  });
});
