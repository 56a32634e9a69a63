import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_RESTART_POLICY, type ClusterConfig, type ServerEntry } from '../src/config/index.ts';
import { formatCpuList, IDENTITY_VARIABLES, serverCommand, serverIdentity, spawnServer, type SpawnServerOptions } from '../src/actors/master/spawn.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

const LINUX = process.platform === 'linux';

const server = (fields: Partial<ServerEntry> = {}): ServerEntry => ({
  id: 'chat-server-1',
  serverType: 'chat',
  host: '127.0.0.1',
  frontend: false,
  args: ['--max-old-space-size=256'],
  autoRestart: true,
  extra: {},
  ...fields,
});

const config: ClusterConfig = {
  env: 'development',
  dir: '/apps/chat',
  master: {
    id: 'master-server-1',
    host: '127.0.0.1',
    nats: { servers: ['nats://127.0.0.1:4333'] },
    adminToken: 'secret',
    prefix: 'shaddock',
    cluster: 'chat',
    heartbeatInterval: 1000,
    heartbeatTimeout: 3000,
    startTimeout: 30000,
    stopTimeout: 10000,
    rpcTimeout: 10000,
    stopHookTimeout: 10000,
    restart: { ...DEFAULT_RESTART_POLICY },
  },
  servers: [],
};

const options = (fields: Partial<SpawnServerOptions> = {}): SpawnServerOptions => ({
  entry: '/apps/chat/app.js',
  dir: '/apps/chat',
  env: 'development',
  config,
  ...fields,
});

// First in the file: the warning is given once per process, so no other test may have given it.
describe('a server with cpu that cannot be bound', () => {
  test('runs unbound, with one warning for the whole process', () => {
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    const first = serverCommand(server({ cpu: [0, 1] }), options({ taskset: null, warn }));
    const second = serverCommand(server({ id: 'chat-server-2', cpu: [0] }), options({ taskset: null, warn }));
    for (const command of [first, second]) {
      assert.equal(command.command, process.execPath);
      assert.deepEqual(command.args, ['--max-old-space-size=256', '/apps/chat/app.js']);
    }
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0] as string, /server chat-server-1 runs unbound \(cpu 0-1\)/);
  });
});

describe('formatCpuList', () => {
  test('writes consecutive CPUs as ranges', () => {
    const cases: Array<[number[], string]> = [
      [[0], '0'],
      [[3], '3'],
      [[0, 1], '0-1'],
      [[0, 2, 3], '0,2-3'],
      [[0, 2, 4], '0,2,4'],
      [[0, 1, 2, 5, 7, 8], '0-2,5,7-8'],
      [[10, 11, 12, 13], '10-13'],
    ];
    for (const [cpus, text] of cases) assert.equal(formatCpuList(cpus), text, JSON.stringify(cpus));
  });

  test('sorts and de-duplicates', () => {
    assert.equal(formatCpuList([3, 1, 2, 2]), '1-3');
    assert.equal(formatCpuList([5, 0]), '0,5');
  });

  test('rejects an empty list and non-indexes', () => {
    assert.throws(() => formatCpuList([]), RangeError);
    assert.throws(() => formatCpuList([-1]), RangeError);
    assert.throws(() => formatCpuList([0, 1.5]), RangeError);
  });
});

describe('serverCommand', () => {
  test('without cpu: node, the server args, the entry; identity in the environment', () => {
    const { command, args, env } = serverCommand(server(), options());
    assert.equal(command, process.execPath);
    assert.deepEqual(args, ['--max-old-space-size=256', '/apps/chat/app.js']);
    assert.equal(env['SHADDOCK_SERVER_ID'], 'chat-server-1');
    assert.equal(env['SHADDOCK_SERVER_TYPE'], 'chat');
    assert.equal(env['SHADDOCK_ENV'], 'development');
    assert.equal(env['SHADDOCK_DIR'], '/apps/chat');
    // The master's validated config travels too, without the admin token.
    const passed = JSON.parse(env['SHADDOCK_CONFIG'] as string) as ClusterConfig;
    assert.deepEqual(passed.master.nats, { servers: ['nats://127.0.0.1:4333'] });
    assert.equal(passed.master.adminToken, undefined);
    assert.equal(passed.master.cluster, 'chat');
    assert.deepEqual(JSON.parse(env['SHADDOCK_SERVER'] as string), server());
  });

  test('a TypeScript entry is run through tsx', () => {
    const { args } = serverCommand(server({ args: [] }), options({ entry: '/apps/chat/app.ts' }));
    assert.equal(args[0], '--import');
    assert.match(args[1] as string, /tsx/);
    assert.equal(args[2], '/apps/chat/app.ts');
  });

  test('with cpu: taskset -c <list>, then node and its arguments', () => {
    const { command, args, env } = serverCommand(server({ cpu: [0, 1] }), options({ taskset: '/usr/bin/taskset' }));
    assert.equal(command, '/usr/bin/taskset');
    assert.deepEqual(args, ['-c', '0-1', process.execPath, '--max-old-space-size=256', '/apps/chat/app.js']);
    assert.equal(env['SHADDOCK_SERVER_ID'], 'chat-server-1');

    const sparse = serverCommand(server({ cpu: [0, 2, 3], args: [] }), options({ taskset: '/usr/bin/taskset' }));
    assert.deepEqual(sparse.args, ['-c', '0,2-3', process.execPath, '/apps/chat/app.js']);
  });

  test('with cpu and the default lookup: taskset on Linux', { skip: !LINUX && 'Linux only' }, () => {
    const warnings: string[] = [];
    const { command, args } = serverCommand(server({ cpu: [0] }), options({ warn: (m) => warnings.push(m) }));
    assert.equal(path.basename(command), 'taskset', 'taskset is installed (util-linux)');
    assert.deepEqual(args.slice(0, 3), ['-c', '0', process.execPath]);
    assert.deepEqual(warnings, []);
  });
});

describe('serverCommand for a warm spare', () => {
  test("the server's command with the spare's script before the entry; the identity left out, for stdin", () => {
    const entry = server({ cpu: [0, 1] });
    const opts = options({ taskset: '/usr/bin/taskset', controlKey: 'k', epoch: 3, restarts: 2 });
    const direct = serverCommand(entry, opts);
    const spare = serverCommand(entry, opts, '/pkg/dist/actors/app/spare.js');
    assert.equal(spare.command, direct.command);
    assert.deepEqual(spare.args, ['-c', '0-1', process.execPath, '--max-old-space-size=256', '/pkg/dist/actors/app/spare.js', '/apps/chat/app.js']);
    for (const name of IDENTITY_VARIABLES) assert.equal(spare.env[name], undefined, name);
    // Identity added back, the spare's environment is the one the server would have been spawned with.
    assert.deepEqual({ ...spare.env, ...serverIdentity(entry, opts) }, direct.env);
    assert.deepEqual(Object.keys(serverIdentity(entry, opts)).sort(), [...IDENTITY_VARIABLES].sort());
  });

  test('the loader when the entry or the spare script is TypeScript', () => {
    const fromSources = serverCommand(server({ args: [] }), options(), '/pkg/src/actors/app/spare.ts');
    assert.equal(fromSources.args[0], '--import');
    assert.deepEqual(fromSources.args.slice(2), ['/pkg/src/actors/app/spare.ts', '/apps/chat/app.js']);
    const typescriptApp = serverCommand(server({ args: [] }), options({ entry: '/apps/chat/app.ts' }), '/pkg/dist/actors/app/spare.js');
    assert.equal(typescriptApp.args[0], '--import');
    const plain = serverCommand(server({ args: [] }), options(), '/pkg/dist/actors/app/spare.js');
    assert.deepEqual(plain.args, ['/pkg/dist/actors/app/spare.js', '/apps/chat/app.js']);
  });
});

describe('spawnServer', () => {
  test('a server with cpu 0 runs bound to CPU 0, under its own pid', async (t) => {
    if (!LINUX) {
      t.skip('CPU binding is Linux only');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shaddock-spawn-'));
    roots.push(dir);
    const entry = path.join(dir, 'report-cpus.mjs');
    fs.writeFileSync(
      entry,
      `import fs from 'node:fs';
const status = fs.readFileSync('/proc/self/status', 'utf8');
const cpus = /^Cpus_allowed_list:\\s*(\\S+)$/m.exec(status)?.[1];
fs.writeFileSync(process.env.SHADDOCK_DIR + '/out.json', JSON.stringify({ pid: process.pid, cpus, id: process.env.SHADDOCK_SERVER_ID }));
`,
    );
    const warnings: string[] = [];
    const child = spawnServer(server({ cpu: [0], args: [] }), {
      entry,
      dir,
      env: 'development',
      config,
      warn: (m) => warnings.push(m),
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    assert.equal(signal, null);
    assert.equal(code, 0);
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')) as { pid: number; cpus: string; id: string };
    assert.equal(out.cpus, '0');
    assert.equal(out.pid, child.pid, 'taskset execs node: the child pid is the server process');
    assert.equal(out.id, 'chat-server-1');
    assert.deepEqual(warnings, []);
  });
});
