import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../test/utils/cli-runner';
import { CliError } from './cli-error';
import { parseHeaders, parseQuery } from './request-options';
import { formatTestRun } from './test.command';

describe('test: request parts from the command line', () => {
  it('parses --query pairs, repeated names becoming arrays', () => {
    expect(parseQuery(['email=a@x.com', 'list=a', 'list=b', 'list=c', 'eq=a=b', 'empty='])).toEqual({
      email: 'a@x.com',
      list: ['a', 'b', 'c'],
      eq: 'a=b',
      empty: '',
    });
    expect(() => parseQuery(['novalue'])).toThrow(new CliError("--query expects name=value, got 'novalue'"));
  });

  it('parses --header pairs with lowercased names', () => {
    expect(parseHeaders(['X-Token: abc', 'Accept:a', 'accept: b', 'Url: http://x:1'])).toEqual({
      'x-token': 'abc',
      accept: 'a, b',
      url: 'http://x:1',
    });
    expect(() => parseHeaders(['bad'])).toThrow(CliError);
  });
});

describe('formatTestRun', () => {
  it('prints each step, the rendered request of a dry-run action and the verdict', () => {
    const lines = formatTestRun(
      {
        status: 'filtered',
        steps: [
          { id: 'order', type: 'transform', status: 'succeeded', input: { a: 1 }, output: { b: 2 } },
          { id: 'big', type: 'filter', status: 'filtered', input: { b: 2 }, output: { b: 2 } },
          { id: 'send', type: 'action', status: 'skipped', input: null, output: null },
        ],
      },
      true,
    );
    expect(lines).toEqual([
      'order  transform  succeeded',
      '  input:  {"a": 1}',
      '  output: {"b": 2}',
      '',
      'big  filter  filtered',
      '  input:  {"b": 2}',
      '  output: {"b": 2}',
      '',
      'send  action  skipped',
      '',
      'run filtered: 2 of 3 steps ran, 0 actions rendered, not sent',
    ]);
    expect(
      formatTestRun(
        {
          status: 'succeeded',
          steps: [
            {
              id: 'send',
              type: 'action',
              status: 'succeeded',
              input: {},
              output: { dryRun: true },
              request: { method: 'POST', url: 'https://x.test/a', json: { n: 1 } },
            },
          ],
        },
        true,
      ),
    ).toEqual([
      'send  action  succeeded  (rendered, not sent)',
      '  input:  {}',
      '  request: POST https://x.test/a',
      '    json: {"n": 1}',
      '',
      'run succeeded: 1 of 1 step ran, 1 action rendered, not sent',
    ]);
  });

  it("prints what a respond step would answer, escaped, or that the sender gets the trigger's default", () => {
    const reply = {
      id: 'reply',
      type: 'respond' as const,
      status: 'succeeded' as const,
      input: {},
      output: {},
    };
    const json = formatTestRun(
      {
        status: 'succeeded',
        steps: [reply],
        response: {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: '{"text":"hi \\u001b[31m"}',
        },
      },
      true,
    );
    expect(json.slice(4)).toEqual([
      'response: 200',
      '  content-type: "application/json; charset=utf-8"',
      '  body: {"text": "hi \\u001b[31m"}',
      '',
      'run succeeded: 1 of 1 step ran, 0 actions rendered, not sent',
    ]);
    const text = formatTestRun(
      {
        status: 'succeeded',
        steps: [reply],
        response: { status: 400, headers: { 'content-type': 'text/plain' }, body: 'no\u001b[2J' },
      },
      true,
    );
    expect(text.slice(4, 7)).toEqual([
      'response: 400',
      '  content-type: "text/plain"',
      '  body: "no\\u001b[2J"',
    ]);
    const none = formatTestRun(
      { status: 'filtered', steps: [{ ...reply, status: 'skipped' }], response: null },
      true,
    );
    expect(none[2]).toBe("response: the trigger's default (the run does not reach its respond step)");
  });

  it("prints a router's paths taken, or that it took none", () => {
    const router = (routes: string[]) =>
      formatTestRun(
        {
          status: routes.length > 0 ? 'succeeded' : 'filtered',
          steps: [
            {
              id: 'route',
              type: 'router',
              status: routes.length > 0 ? 'succeeded' : 'filtered',
              input: {},
              output: {},
              routes,
            },
          ],
        },
        true,
      )[3];
    expect(router(['big', 'vip'])).toBe('  paths:  big, vip');
    expect(router([])).toBe('  paths:  (none taken)');
  });

  it("prints each item of a loop with its steps under it, and counts the items' actions", () => {
    const post = (n: number) => ({
      id: 'post',
      type: 'action' as const,
      status: 'succeeded' as const,
      input: { n },
      output: { dryRun: true, request: { method: 'POST', url: `https://x.test/${n}` } },
      request: { method: 'POST', url: `https://x.test/${n}` },
    });
    const lines = formatTestRun(
      {
        status: 'succeeded',
        steps: [
          {
            id: 'each',
            type: 'foreach',
            status: 'succeeded',
            input: { lines: [{ n: 0 }, { n: 1 }] },
            output: [null, null],
            items: [0, 1].map((index) => ({ index, status: 'succeeded' as const, steps: [post(index)] })),
          },
        ],
      },
      true,
    );
    expect(lines).toEqual([
      'each  foreach  succeeded',
      '  input:  {"lines": [{"n": 0}, {"n": 1}]}',
      '  output: [null, null]',
      '  item 0  succeeded',
      '    each[0].post  action  succeeded  (rendered, not sent)',
      '      input:  {"n": 0}',
      '      request: POST https://x.test/0',
      '  item 1  succeeded',
      '    each[1].post  action  succeeded  (rendered, not sent)',
      '      input:  {"n": 1}',
      '      request: POST https://x.test/1',
      '',
      'run succeeded: 1 of 1 step ran, 2 actions rendered, not sent',
    ]);
  });
});

describe('hookflow test (dry run, in-process)', () => {
  let root: string;

  beforeAll(() => {
    root = mkdtempSync(path.join(tmpdir(), 'hookflow-cli-test-'));
    writeFileSync(
      path.join(root, 'divide.flow.json'),
      JSON.stringify({
        slug: 'divide',
        trigger: { type: 'webhook', methods: ['POST'] },
        steps: [
          { id: 'check', type: 'transform', expression: "$assert(n > 0, 'n must be positive')" },
          {
            id: 'send',
            type: 'action',
            connector: 'http',
            with: { method: 'POST', url: 'https://x.test/{{trigger.body.n}}' },
          },
        ],
      }),
    );
    writeFileSync(
      path.join(root, 'invalid.flow.json'),
      JSON.stringify({ slug: 'Bad Slug', trigger: {}, steps: [] }),
    );
    writeFileSync(path.join(root, 'ok.json'), '{"n": 2}');
    writeFileSync(path.join(root, 'zero.json'), '{"n": 0}');
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('runs the example order fan-out on its sample payload and renders the three requests', async () => {
    const result = await runCli([
      'test',
      'flows/order-fanout.flow.json',
      '--payload',
      'flows/samples/order-fanout.json',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('as a dry run: actions are rendered, not sent');
    expect(result.stdout).toContain('order  transform  succeeded');
    expect(result.stdout).toContain('request: POST https://billing.example.com/orders/ord_1001/invoice');
    expect(result.stdout).toContain('request: PUT https://inventory.example.com/reservations/ord_1001');
    expect(result.stdout).toMatch(/run succeeded: 4 of 4 steps ran, 3 actions rendered, not sent\n$/);
  });

  it('prints JSON only with --json', async () => {
    const result = await runCli(['test', 'divide.flow.json', '--payload', 'ok.json', '--json'], {
      cwd: root,
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({
      flow: 'divide',
      file: 'divide.flow.json',
      dryRun: true,
      status: 'succeeded',
      steps: [
        { id: 'check', type: 'transform', status: 'succeeded', input: { n: 2 }, output: null },
        {
          id: 'send',
          type: 'action',
          status: 'succeeded',
          input: null,
          output: { dryRun: true, request: { method: 'POST', url: 'https://x.test/2' } },
          request: { method: 'POST', url: 'https://x.test/2' },
        },
      ],
    });
  });

  it('exits 1 when the run fails, showing the error', async () => {
    const result = await runCli(['test', 'divide.flow.json', '--payload', 'zero.json'], { cwd: root });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('  error:  transform_error: n must be positive');
    expect(result.stdout).toContain('send  action  skipped');
    expect(result.stdout).toContain('run failed: 1 of 2 steps ran');
  });

  it('exits 1 for an invalid flow, listing the problems', async () => {
    const result = await runCli(['test', 'invalid.flow.json'], { cwd: root });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^hookflow: invalid\.flow\.json is not a valid flow\n {2}invalid\.flow\.json: \/slug: /,
    );
  });

  it('refuses a method the trigger does not accept, and a missing payload file', async () => {
    await expect(
      runCli(['test', 'divide.flow.json', '--method', 'get'], { cwd: root }),
    ).resolves.toMatchObject({
      code: 1,
      stderr: "hookflow: the trigger of 'divide' accepts POST, not GET; a real GET request would get 405\n",
    });
    await expect(
      runCli(['test', 'divide.flow.json', '--payload', 'nope.json'], { cwd: root }),
    ).resolves.toMatchObject({
      code: 1,
      stderr: 'hookflow: nope.json: no such file\n',
    });
  });
});
