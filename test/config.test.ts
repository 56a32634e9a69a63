import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONFIG_DEFAULTS, ConfigError, loadConfig, parseServerEntry, type ClusterConfig, type ServerEntry } from '../src/config/index.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

/** Writes an app dir; a string is written as is (for broken JSON), anything else as JSON; `undefined` leaves the file out. */
function makeApp(master: unknown, servers: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shaddock-config-'));
  roots.push(dir);
  fs.mkdirSync(path.join(dir, 'config'));
  const write = (name: string, content: unknown) => {
    if (content === undefined) return;
    const text = typeof content === 'string' ? content : JSON.stringify(content, null, 2);
    fs.writeFileSync(path.join(dir, 'config', name), text);
  };
  write('master.json', master);
  write('servers.json', servers);
  return dir;
}

const MASTER = { development: { id: 'master-server-1', host: '127.0.0.1', port: 3005 } };

/** chatofpomelo's servers.json, as that demo ships it (plus cpu / auto-restart on chat). */
const CHAT_SERVERS = {
  development: {
    connector: [
      { id: 'connector-server-1', host: '127.0.0.1', port: 4050, clientPort: 3050, frontend: true },
      { id: 'connector-server-2', host: '127.0.0.1', port: 4051, clientPort: 3051, frontend: true },
    ],
    chat: [
      { id: 'chat-server-1', host: '127.0.0.1', port: 6050, 'auto-restart': 'true', cpu: 0 },
      { id: 'chat-server-2', host: '127.0.0.1', port: 6051, 'auto-restart': 'true', cpu: 0 },
    ],
    gate: [{ id: 'gate-server-1', host: '127.0.0.1', clientPort: 3014, frontend: true }],
  },
};

/** servers.json for the development env with the given types. */
const serversWith = (types: Record<string, unknown>) => ({ development: types });
const chat = (...entries: unknown[]) => serversWith({ chat: entries });

interface ExpectedError {
  file: string;
  env?: string;
  serverId?: string;
  serverType?: string;
  serverIndex?: number;
  field?: string;
  message: string | RegExp;
}

async function assertConfigError(promise: Promise<ClusterConfig>, expected: ExpectedError): Promise<ConfigError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.name, 'ConfigError');
  assert.deepEqual(
    {
      file: caught.file,
      env: caught.env,
      serverId: caught.serverId,
      serverType: caught.serverType,
      serverIndex: caught.serverIndex,
      field: caught.field,
    },
    {
      file: expected.file,
      env: expected.env ?? 'development',
      serverId: expected.serverId,
      serverType: expected.serverType,
      serverIndex: expected.serverIndex,
      field: expected.field,
    },
  );
  if (typeof expected.message === 'string') assert.equal(caught.message, expected.message);
  else assert.match(caught.message, expected.message);
  assert.ok(!caught.message.includes('\n'), 'message is one line');
  return caught;
}

const NO_ENV = { environment: {} };
const CPUS = os.cpus().length;

// ---------------------------------------------------------------------------------------------
// A valid configuration

describe('a valid chatofpomelo configuration', () => {
  test('loads with every default applied, servers in file order', async () => {
    const dir = makeApp(MASTER, CHAT_SERVERS);
    const relative = path.relative(process.cwd(), dir);
    const config = await loadConfig({ dir: relative, ...NO_ENV });

    assert.equal(config.env, 'development');
    assert.equal(config.dir, dir, 'dir comes back absolute');
    assert.equal(config.master.nats, undefined, 'no NATS configured: the runtime embeds a broker');
    assert.equal(config.master.adminToken, undefined);
    assert.deepEqual(config.master, {
      id: 'master-server-1',
      host: '127.0.0.1',
      port: 3005,
      prefix: 'shaddock',
      cluster: 'default',
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
      startTimeout: 30000,
      stopTimeout: 10000,
      rpcTimeout: 10000,
      stopHookTimeout: 10000,
      restart: { initialDelay: 100, factor: 2, maxDelay: 15000, resetAfter: 30000, maxRestarts: 5, period: 60000 },
    });

    const connector = (n: number): ServerEntry => ({
      id: `connector-server-${n}`,
      serverType: 'connector',
      host: '127.0.0.1',
      port: 4049 + n,
      clientPort: 3049 + n,
      frontend: true,
      args: [],
      autoRestart: false,
      extra: {},
    });
    const chatServer = (n: number): ServerEntry => ({
      id: `chat-server-${n}`,
      serverType: 'chat',
      host: '127.0.0.1',
      port: 6049 + n,
      frontend: false,
      args: [],
      cpu: [0],
      autoRestart: true,
      extra: {},
    });
    assert.deepEqual(config.servers, [
      connector(1),
      connector(2),
      chatServer(1),
      chatServer(2),
      {
        id: 'gate-server-1',
        serverType: 'gate',
        host: '127.0.0.1',
        clientPort: 3014,
        frontend: true,
        args: [],
        autoRestart: false,
        extra: {},
      },
    ]);
  });

  test('reads only the requested environment', async () => {
    const dir = makeApp(
      { ...MASTER, production: { id: 'master-prod', host: '10.0.0.1', prefix: 'game', cluster: 'eu-1' } },
      {
        ...CHAT_SERVERS,
        production: { gate: [{ id: 'gate-prod', host: '10.0.0.2', clientPort: 443, frontend: 'true' }] },
        broken: 'not even an object',
      },
    );
    const config = await loadConfig({ dir, env: 'production', ...NO_ENV });
    assert.equal(config.env, 'production');
    assert.equal(config.master.id, 'master-prod');
    assert.equal(config.master.host, '10.0.0.1');
    assert.equal(config.master.prefix, 'game');
    assert.equal(config.master.cluster, 'eu-1');
    assert.deepEqual(
      config.servers.map((s) => [s.id, s.host, s.clientPort, s.frontend]),
      [['gate-prod', '10.0.0.2', 443, true]],
    );
  });

  test('normalises Pomelo field forms and keeps unknown fields in extra', async () => {
    const dir = makeApp(
      MASTER,
      serversWith({
        connector: [
          {
            id: 'connector-1',
            clientHost: 'game.example.com',
            clientPort: 3050,
            frontend: 'true',
            'max-connections': 500,
            'auto-restart': false,
            args: ' --inspect=9229   --max-old-space-size=512 ',
            weight: 3,
            zone: { name: 'eu', ids: [1, 2] },
          },
        ],
        area: [{ id: 'area_2', frontend: 'false', 'auto-restart': true, args: ['--trace-gc'] }],
      }),
    );
    const [connector, area] = (await loadConfig({ dir, ...NO_ENV })).servers;
    assert.deepEqual(connector, {
      id: 'connector-1',
      serverType: 'connector',
      host: '127.0.0.1',
      clientHost: 'game.example.com',
      clientPort: 3050,
      frontend: true,
      args: ['--inspect=9229', '--max-old-space-size=512'],
      autoRestart: false,
      maxConnections: 500,
      extra: { weight: 3, zone: { name: 'eu', ids: [1, 2] } },
    });
    assert.deepEqual(area, {
      id: 'area_2',
      serverType: 'area',
      host: '127.0.0.1',
      frontend: false,
      args: ['--trace-gc'],
      autoRestart: true,
      extra: {},
    });
  });

  test('master.json: own settings, derived heartbeat timeout, unknown fields ignored', async () => {
    const dir = makeApp(
      {
        development: {
          id: 'master-server-1',
          heartbeatInterval: 500,
          startTimeout: 5000,
          stopTimeout: 2000,
          rpcTimeout: 1500,
          adminToken: 'file-token',
          nats: { servers: ['nats://a:4222', 'nats://b:4222,nats://c:4222'], user: 'u', pass: 'p', name: 'chat' },
          zookeeper: { servers: 'zk:2181' },
        },
      },
      chat(),
    );
    const { master, servers } = await loadConfig({ dir, ...NO_ENV });
    assert.deepEqual(master, {
      id: 'master-server-1',
      host: '127.0.0.1',
      prefix: 'shaddock',
      cluster: 'default',
      heartbeatInterval: 500,
      heartbeatTimeout: 1500,
      startTimeout: 5000,
      stopTimeout: 2000,
      rpcTimeout: 1500,
      stopHookTimeout: 10000,
      restart: { initialDelay: 100, factor: 2, maxDelay: 15000, resetAfter: 30000, maxRestarts: 5, period: 60000 },
      adminToken: 'file-token',
      nats: { servers: ['nats://a:4222', 'nats://b:4222', 'nats://c:4222'], user: 'u', pass: 'p', name: 'chat' },
    });
    assert.deepEqual(servers, [], 'a type with no entries contributes no servers');
  });

  test('master.json: restart policy and stop-hook timeout override the defaults field by field', async () => {
    const dir = makeApp(
      { development: { id: 'm', stopHookTimeout: 2500, restart: { initialDelay: 20, factor: 1.5, maxRestarts: 3 } } },
      chat(),
    );
    const { master } = await loadConfig({ dir, ...NO_ENV });
    assert.equal(master.stopHookTimeout, 2500);
    assert.deepEqual(master.restart, { initialDelay: 20, factor: 1.5, maxDelay: 15000, resetAfter: 30000, maxRestarts: 3, period: 60000 });

    const full = { initialDelay: 10, factor: 1, maxDelay: 10, resetAfter: 500, maxRestarts: 1, period: 1000 };
    const all = await loadConfig({ dir: makeApp({ development: { id: 'm', restart: full } }, chat()), ...NO_ENV });
    assert.deepEqual(all.master.restart, full);
  });

  test('the default restart policy is not shared between loads', async () => {
    const dir = makeApp(MASTER, chat());
    const first = await loadConfig({ dir, ...NO_ENV });
    first.master.restart.maxRestarts = 99;
    const second = await loadConfig({ dir, ...NO_ENV });
    assert.equal(second.master.restart.maxRestarts, 5);
    assert.equal(CONFIG_DEFAULTS.restart.maxRestarts, 5);
    assert.equal(CONFIG_DEFAULTS.stopHookTimeout, 10000);
  });
});

// ---------------------------------------------------------------------------------------------
// servers.json errors

describe('servers.json errors', () => {
  test('duplicate id across types names the type that had it first', async () => {
    const dir = makeApp(
      MASTER,
      serversWith({
        connector: [{ id: 'chat-server-1', clientPort: 3050, frontend: true }],
        chat: [{ id: 'chat-server-1' }],
      }),
    );
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'chat-server-1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'id',
      message:
        'config/servers.json [development] server "chat-server-1": field "id": duplicate server id (also used by a "connector" server)',
    });
  });

  test('a server may not reuse the master id', async () => {
    const dir = makeApp(MASTER, chat({ id: 'master-server-1' }));
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'master-server-1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'id',
      message:
        'config/servers.json [development] server "master-server-1": field "id": duplicate server id (also used by the master)',
    });
  });

  test('clientPort "abc"', async () => {
    const dir = makeApp(MASTER, chat({ id: 'chat-server-1', clientPort: 'abc' }));
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'chat-server-1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'clientPort',
      message:
        'config/servers.json [development] server "chat-server-1": field "clientPort": expected an integer port (0-65535; 0 = any free port), got "abc"',
    });
  });

  test('ports out of range or fractional', async () => {
    for (const [value, got] of [[0, '0'], [65536, '65536'], [80.5, '80.5']] as const) {
      const dir = makeApp(MASTER, chat({ id: 'chat-server-1', port: value }));
      await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
        file: 'config/servers.json',
        serverId: 'chat-server-1',
        serverType: 'chat',
        serverIndex: 0,
        field: 'port',
        message: `config/servers.json [development] server "chat-server-1": field "port": expected an integer port (1-65535), got ${got}`,
      });
    }
  });

  test('a frontend without clientPort', async () => {
    const dir = makeApp(
      MASTER,
      serversWith({ connector: [{ id: 'connector-server-1', host: '127.0.0.1', port: 4050, frontend: true }] }),
    );
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'connector-server-1',
      serverType: 'connector',
      serverIndex: 0,
      field: 'clientPort',
      message:
        'config/servers.json [development] server "connector-server-1": field "clientPort": required for a frontend server',
    });
  });

  test('a missing id names the type and the entry position', async () => {
    const dir = makeApp(MASTER, chat({ id: 'chat-server-1' }, { host: '127.0.0.1', port: 6051 }));
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverType: 'chat',
      serverIndex: 1,
      field: 'id',
      message: 'config/servers.json [development] server #2 of type "chat": field "id": required',
    });
  });

  test('an id that is not a NATS subject token', async () => {
    const dir = makeApp(MASTER, chat({ id: 'chat.server 1' }));
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'chat.server 1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'id',
      message:
        'config/servers.json [development] server "chat.server 1": field "id": expected letters, digits, "_" or "-" only (server ids become NATS subject tokens), got "chat.server 1"',
    });
  });

  test('a server type that is not a NATS subject token', async () => {
    const dir = makeApp(MASTER, serversWith({ 'chat.room': [{ id: 'chat-1' }] }));
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverType: 'chat.room',
      message:
        'config/servers.json [development] server type "chat.room": server type names may use letters, digits, "_" or "-" only (they become NATS subject tokens)',
    });
  });

  test('a type whose value is not an array, and an entry that is not an object', async () => {
    await assertConfigError(loadConfig({ dir: makeApp(MASTER, serversWith({ chat: { id: 'chat-1' } })), ...NO_ENV }), {
      file: 'config/servers.json',
      serverType: 'chat',
      message: 'config/servers.json [development] server type "chat": expected an array of server entries, got {"id":"chat-1"}',
    });
    await assertConfigError(loadConfig({ dir: makeApp(MASTER, chat({ id: 'chat-1' }, 'chat-2')), ...NO_ENV }), {
      file: 'config/servers.json',
      serverType: 'chat',
      serverIndex: 1,
      message: 'config/servers.json [development] server #2 of type "chat": expected a server entry object, got "chat-2"',
    });
  });

  test('wrong types for known fields', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['frontend', 'yes', 'expected true or false, got "yes"'],
      ['auto-restart', 1, 'expected true or false, got 1'],
      ['args', ['--inspect', 9229], 'expected a string or an array of strings, got ["--inspect",9229]'],
      ['max-connections', 0, 'expected a positive integer, got 0'],
      ['host', 42, 'expected a non-empty string, got 42'],
    ];
    for (const [field, value, problem] of cases) {
      const dir = makeApp(MASTER, chat({ id: 'chat-1', [field]: value }));
      await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
        file: 'config/servers.json',
        serverId: 'chat-1',
        serverType: 'chat',
        serverIndex: 0,
        field,
        message: `config/servers.json [development] server "chat-1": field ${JSON.stringify(field)}: ${problem}`,
      });
    }
  });

  test('a cpu this machine does not have', async () => {
    const dir = makeApp(MASTER, chat({ id: 'chat-server-1', cpu: [0, CPUS + 3, CPUS] }));
    const err = await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'chat-server-1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'cpu',
      message: new RegExp(`^config/servers\\.json \\[development\\] server "chat-server-1": field "cpu": this machine has no CPU ${CPUS} \\(it has ${CPUS} CPUs?: 0(-${CPUS - 1})?\\)$`),
    });
    assert.equal(err.problem, `this machine has no CPU ${CPUS} (it has ${CPUS} ${CPUS === 1 ? 'CPU: 0' : `CPUs: 0-${CPUS - 1}`})`);
  });
});

describe('warm-spare', () => {
  test('on an auto-restart server: warmSpare true; "false" or absent: no field', async () => {
    const dir = makeApp(
      MASTER,
      chat(
        { id: 'chat-1', 'auto-restart': true, 'warm-spare': true },
        { id: 'chat-2', restart: 'transient', 'warm-spare': 'true' },
        { id: 'chat-3', 'auto-restart': true, 'warm-spare': 'false' },
        { id: 'chat-4', 'auto-restart': true },
      ),
    );
    const { servers } = await loadConfig({ dir, ...NO_ENV });
    assert.deepEqual(
      servers.map((server) => [server.id, server.warmSpare]),
      [
        ['chat-1', true],
        ['chat-2', true],
        ['chat-3', undefined],
        ['chat-4', undefined],
      ],
    );
  });

  test('on a server that is not auto-restarted: a ConfigError naming the field', async () => {
    const message = 'needs "auto-restart": true (or "restart": "permanent" or "transient"): a warm spare only serves restarts';
    for (const entry of [{ id: 'chat-1', 'warm-spare': true }, { id: 'chat-1', 'auto-restart': false, 'warm-spare': true }, { id: 'chat-1', restart: 'temporary', 'warm-spare': true }]) {
      await assertConfigError(loadConfig({ dir: makeApp(MASTER, chat(entry)), ...NO_ENV }), {
        file: 'config/servers.json',
        serverId: 'chat-1',
        serverType: 'chat',
        serverIndex: 0,
        field: 'warm-spare',
        message: `config/servers.json [development] server "chat-1": field "warm-spare": ${message}`,
      });
    }
    await assertConfigError(loadConfig({ dir: makeApp(MASTER, chat({ id: 'chat-1', 'auto-restart': true, 'warm-spare': 1 })), ...NO_ENV }), {
      file: 'config/servers.json',
      serverId: 'chat-1',
      serverType: 'chat',
      serverIndex: 0,
      field: 'warm-spare',
      message: 'config/servers.json [development] server "chat-1": field "warm-spare": expected true or false, got 1',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// cpu forms

describe('cpu forms', () => {
  const loadCpu = async (cpu: unknown) => {
    const dir = makeApp(MASTER, chat({ id: 'chat-1', cpu }));
    const [server] = (await loadConfig({ dir, ...NO_ENV })).servers;
    return server?.cpu;
  };

  test('a number, a string, a one-CPU range and an array all become a sorted list', async () => {
    assert.deepEqual(await loadCpu(0), [0]);
    assert.deepEqual(await loadCpu('0'), [0]);
    assert.deepEqual(await loadCpu(' 0 - 0 '), [0]);
    assert.deepEqual(await loadCpu([0, 0]), [0]);
  });

  test('ranges and lists are expanded, sorted and de-duplicated', { skip: CPUS < 2 && 'needs 2 CPUs' }, async () => {
    assert.deepEqual(await loadCpu('0-1'), [0, 1]);
    assert.deepEqual(await loadCpu('1,0'), [0, 1]);
    assert.deepEqual(await loadCpu('1, 0-1'), [0, 1]);
    assert.deepEqual(await loadCpu([1, 0, 1]), [0, 1]);
  });

  test('"0,2-3" is CPUs 0, 2 and 3 (or names the first one missing here)', async () => {
    if (CPUS >= 4) {
      assert.deepEqual(await loadCpu('0,2-3'), [0, 2, 3]);
    } else {
      await assert.rejects(loadCpu('0,2-3'), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.field, 'cpu');
        assert.match(err.problem, new RegExp(`^this machine has no CPU ${Math.max(2, CPUS)} `));
        return true;
      });
    }
  });

  test('a huge range is rejected without being expanded', async () => {
    await assert.rejects(loadCpu('0-4000000000'), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.field, 'cpu');
      assert.match(err.problem, new RegExp(`^this machine has no CPU ${CPUS} `));
      return true;
    });
  });

  test('malformed values are rejected on field "cpu"', async () => {
    const forms = 'expected a CPU index, a list such as "0,2-3", or an array of CPU indexes, got';
    const cases: Array<[unknown, string]> = [
      ['1-0', '"1-0"'],
      ['a', '"a"'],
      ['', '""'],
      ['0,,1', '"0,,1"'],
      [-1, '-1'],
      [0.5, '0.5'],
      [[0, '1'], '[0,"1"]'],
      [[], '[]'],
      [true, 'true'],
    ];
    for (const [cpu, got] of cases) {
      await assert.rejects(loadCpu(cpu), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.field, 'cpu');
        assert.equal(err.problem, `${forms} ${got}`, `cpu ${JSON.stringify(cpu)}`);
        return true;
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// master.json errors

describe('master.json errors', () => {
  test('a missing id', async () => {
    const dir = makeApp({ development: { host: '127.0.0.1', port: 3005 } }, CHAT_SERVERS);
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/master.json',
      field: 'id',
      message: 'config/master.json [development]: field "id": required',
    });
  });

  test('a prefix that is not a NATS subject token', async () => {
    const dir = makeApp({ development: { id: 'master-server-1', prefix: 'my.app' } }, CHAT_SERVERS);
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/master.json',
      serverId: 'master-server-1',
      field: 'prefix',
      message:
        'config/master.json [development] server "master-server-1": field "prefix": expected letters, digits, "_" or "-" only (it becomes the first token of every NATS subject), got "my.app"',
    });
  });

  test('timing fields must be positive integers, and the heartbeat timeout longer than the interval', async () => {
    await assertConfigError(
      loadConfig({ dir: makeApp({ development: { id: 'm', heartbeatInterval: 0 } }, CHAT_SERVERS), ...NO_ENV }),
      {
        file: 'config/master.json',
        serverId: 'm',
        field: 'heartbeatInterval',
        message:
          'config/master.json [development] server "m": field "heartbeatInterval": expected a positive integer number of milliseconds, got 0',
      },
    );
    await assertConfigError(
      loadConfig({ dir: makeApp({ development: { id: 'm', heartbeatInterval: 2000, heartbeatTimeout: 2000 } }, CHAT_SERVERS), ...NO_ENV }),
      {
        file: 'config/master.json',
        serverId: 'm',
        field: 'heartbeatTimeout',
        message:
          'config/master.json [development] server "m": field "heartbeatTimeout": must be greater than heartbeatInterval (2000 ms), got 2000',
      },
    );
  });

  test('restart fields are validated one by one and named restart.<field>', async () => {
    const cases: Array<[unknown, string, string]> = [
      [{ maxDelay: 0 }, 'restart.maxDelay', 'expected a positive integer number of milliseconds, got 0'],
      [{ initialDelay: 12.5 }, 'restart.initialDelay', 'expected a positive integer number of milliseconds, got 12.5'],
      [{ resetAfter: '30s' }, 'restart.resetAfter', 'expected a positive integer number of milliseconds, got "30s"'],
      [{ period: -1 }, 'restart.period', 'expected a positive integer number of milliseconds, got -1'],
      [{ factor: 0.5 }, 'restart.factor', 'expected a number of at least 1, got 0.5'],
      [{ factor: '2' }, 'restart.factor', 'expected a number of at least 1, got "2"'],
      [{ maxRestarts: 0 }, 'restart.maxRestarts', 'expected a positive integer, got 0'],
      [{ maxRestart: 3 }, 'restart.maxRestart', 'unknown field (known: initialDelay, factor, maxDelay, resetAfter, maxRestarts, period)'],
      [{ initialDelay: 500, maxDelay: 200 }, 'restart.maxDelay', 'must be at least initialDelay (500 ms), got 200'],
      [{ initialDelay: 20000 }, 'restart.maxDelay', 'must be at least initialDelay (20000 ms), got 15000 (the default)'],
      [
        5,
        'restart',
        'expected an object { initialDelay?, factor?, maxDelay?, resetAfter?, maxRestarts?, period? }, got 5',
      ],
    ];
    for (const [restart, field, problem] of cases) {
      await assertConfigError(loadConfig({ dir: makeApp({ development: { id: 'm', restart } }, CHAT_SERVERS), ...NO_ENV }), {
        file: 'config/master.json',
        serverId: 'm',
        field,
        message: `config/master.json [development] server "m": field ${JSON.stringify(field)}: ${problem}`,
      });
    }
    await assertConfigError(loadConfig({ dir: makeApp({ development: { id: 'm', stopHookTimeout: 0 } }, CHAT_SERVERS), ...NO_ENV }), {
      file: 'config/master.json',
      serverId: 'm',
      field: 'stopHookTimeout',
      message: 'config/master.json [development] server "m": field "stopHookTimeout": expected a positive integer number of milliseconds, got 0',
    });
  });

  test('a malformed nats setting names the nested field', async () => {
    const dir = makeApp({ development: { id: 'm', nats: { servers: 'nats://a:4222', token: 7 } } }, CHAT_SERVERS);
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/master.json',
      serverId: 'm',
      field: 'nats.token',
      message: 'config/master.json [development] server "m": field "nats.token": expected a non-empty string, got 7',
    });
  });

  test('an environment entry that is not an object', async () => {
    const dir = makeApp({ development: null }, CHAT_SERVERS);
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/master.json',
      message: 'config/master.json [development]: expected an object with at least an "id", got null',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// File-level errors

describe('file-level errors', () => {
  test('bad JSON reports line and column (V8 gives the position)', async () => {
    const text = '{\n  "development": {\n    id: "master-server-1"\n  }\n}\n';
    const err = await assertConfigError(loadConfig({ dir: makeApp(text, CHAT_SERVERS), ...NO_ENV }), {
      file: 'config/master.json',
      message: /^config\/master\.json: invalid JSON at line 3 column 5: Expected property name or '}'$/,
    });
    assert.ok(err.cause instanceof SyntaxError, 'the parser error is kept as the cause');
  });

  test('bad JSON reports line and column (position found by the loader)', async () => {
    const unexpectedToken = '{\n  "development": {\n    "id": master\n  }\n}\n';
    await assertConfigError(loadConfig({ dir: makeApp(unexpectedToken, CHAT_SERVERS), ...NO_ENV }), {
      file: 'config/master.json',
      message: /^config\/master\.json: invalid JSON at line 3 column 11: Unexpected token 'm'$/,
    });
    const trailingComma = '{"development": {"chat": [\n  {"id": "chat-1"},\n]}}';
    await assertConfigError(loadConfig({ dir: makeApp(MASTER, trailingComma), ...NO_ENV }), {
      file: 'config/servers.json',
      message: /^config\/servers\.json: invalid JSON at line 3 column 1: Unexpected token '\]'$/,
    });
    const truncated = '{\n  "development": {\n';
    await assertConfigError(loadConfig({ dir: makeApp(truncated, CHAT_SERVERS), ...NO_ENV }), {
      file: 'config/master.json',
      message: /^config\/master\.json: invalid JSON at line 3 column 1: /,
    });
  });

  test('a byte-order mark is not a JSON error', async () => {
    const config = await loadConfig({ dir: makeApp(`\uFEFF${JSON.stringify(MASTER)}`, CHAT_SERVERS), ...NO_ENV });
    assert.equal(config.master.id, 'master-server-1');
  });

  test('a missing environment lists the ones found', async () => {
    const dir = makeApp(
      { ...MASTER, production: { id: 'master-prod' } },
      { development: CHAT_SERVERS.development, test: {} },
    );
    await assertConfigError(loadConfig({ dir, env: 'production', ...NO_ENV }), {
      file: 'config/servers.json',
      env: 'production',
      message: 'config/servers.json: no environment "production" (found: development, test)',
    });
  });

  test('an environment is looked up as an own key only', async () => {
    const dir = makeApp(MASTER, CHAT_SERVERS);
    await assertConfigError(loadConfig({ dir, env: 'constructor', ...NO_ENV }), {
      file: 'config/master.json',
      env: 'constructor',
      message: 'config/master.json: no environment "constructor" (found: development)',
    });
  });

  test('a missing file gives its absolute path', async () => {
    const dir = makeApp(MASTER, undefined);
    await assertConfigError(loadConfig({ dir, ...NO_ENV }), {
      file: 'config/servers.json',
      message: `config/servers.json: file not found (${path.join(dir, 'config', 'servers.json')})`,
    });
  });

  test('a top level that is not an object', async () => {
    await assertConfigError(loadConfig({ dir: makeApp(MASTER, '[]'), ...NO_ENV }), {
      file: 'config/servers.json',
      message: 'config/servers.json: expected an object keyed by environment (e.g. {"development": {...}}), got []',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Overrides

describe('NATS and admin token precedence', () => {
  const masterWithNats = {
    development: { id: 'master-server-1', nats: { servers: 'nats://file:4222', token: 'file-secret' }, adminToken: 'file-token' },
  };

  test('master.json nats when nothing overrides it', async () => {
    const config = await loadConfig({ dir: makeApp(masterWithNats, CHAT_SERVERS), environment: {} });
    assert.deepEqual(config.master.nats, { servers: ['nats://file:4222'], token: 'file-secret' });
  });

  test('SHADDOCK_NATS_URL beats master.json, replacing its settings', async () => {
    const config = await loadConfig({
      dir: makeApp(masterWithNats, CHAT_SERVERS),
      environment: { SHADDOCK_NATS_URL: 'nats://env-1:4222, nats://env-2:4222' },
    });
    assert.deepEqual(config.master.nats, { servers: ['nats://env-1:4222', 'nats://env-2:4222'] });
  });

  test('options.natsUrl beats SHADDOCK_NATS_URL', async () => {
    const config = await loadConfig({
      dir: makeApp(masterWithNats, CHAT_SERVERS),
      natsUrl: 'nats://option:4222',
      environment: { SHADDOCK_NATS_URL: 'nats://env:4222' },
    });
    assert.deepEqual(config.master.nats, { servers: ['nats://option:4222'] });
  });

  test('an empty override counts as unset', async () => {
    const config = await loadConfig({
      dir: makeApp(masterWithNats, CHAT_SERVERS),
      natsUrl: '',
      environment: { SHADDOCK_NATS_URL: ' ' },
    });
    assert.deepEqual(config.master.nats, { servers: ['nats://file:4222'], token: 'file-secret' });
  });

  test('no NATS anywhere leaves it undefined (embedded broker)', async () => {
    const config = await loadConfig({ dir: makeApp(MASTER, CHAT_SERVERS), environment: { OTHER: 'x' } });
    assert.equal(config.master.nats, undefined);
    assert.ok(!('nats' in config.master));
  });

  test('a nats string in master.json may list several URLs', async () => {
    const dir = makeApp({ development: { id: 'm', nats: 'nats://a:4222,nats://b:4222' } }, CHAT_SERVERS);
    const config = await loadConfig({ dir, environment: {} });
    assert.deepEqual(config.master.nats, { servers: ['nats://a:4222', 'nats://b:4222'] });
  });

  test('SHADDOCK_ADMIN_TOKEN beats master.json adminToken', async () => {
    const dir = makeApp(masterWithNats, CHAT_SERVERS);
    assert.equal((await loadConfig({ dir, environment: {} })).master.adminToken, 'file-token');
    assert.equal((await loadConfig({ dir, environment: { SHADDOCK_ADMIN_TOKEN: 'env-token' } })).master.adminToken, 'env-token');
    assert.equal((await loadConfig({ dir, environment: { SHADDOCK_ADMIN_TOKEN: '' } })).master.adminToken, 'file-token');
  });

  test('environment defaults to process.env', async () => {
    const saved = { nats: process.env['SHADDOCK_NATS_URL'], token: process.env['SHADDOCK_ADMIN_TOKEN'] };
    process.env['SHADDOCK_NATS_URL'] = 'nats://process-env:4222';
    process.env['SHADDOCK_ADMIN_TOKEN'] = 'process-token';
    try {
      const config = await loadConfig({ dir: makeApp(MASTER, CHAT_SERVERS) });
      assert.deepEqual(config.master.nats, { servers: ['nats://process-env:4222'] });
      assert.equal(config.master.adminToken, 'process-token');
    } finally {
      for (const [key, value] of [['SHADDOCK_NATS_URL', saved.nats], ['SHADDOCK_ADMIN_TOKEN', saved.token]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Entries added at runtime (the admin `add` command)

describe('parseServerEntry', () => {
  const loaded = async () => loadConfig({ dir: makeApp(MASTER, CHAT_SERVERS), environment: {} });

  test('validates and normalises like servers.json, taking the type from serverType', async () => {
    const config = await loaded();
    assert.deepEqual(
      parseServerEntry({ id: 'chat-server-3', serverType: 'chat', port: 6052, 'auto-restart': 'true', room: 'lobby' }, config),
      {
        id: 'chat-server-3',
        serverType: 'chat',
        host: '127.0.0.1',
        port: 6052,
        frontend: false,
        args: [],
        autoRestart: true,
        extra: { room: 'lobby' },
      },
    );
  });

  test('errors name the add command, the server and the field', async () => {
    const config = await loaded();
    const cases: Array<[Record<string, unknown>, Partial<ConfigError>, string]> = [
      [
        { id: 'connector-server-3', serverType: 'connector', frontend: true },
        { serverId: 'connector-server-3', serverType: 'connector', field: 'clientPort' },
        'add command [development] server "connector-server-3": field "clientPort": required for a frontend server',
      ],
      [
        { id: 'chat-server-1', serverType: 'chat' },
        { serverId: 'chat-server-1', serverType: 'chat', field: 'id' },
        'add command [development] server "chat-server-1": field "id": duplicate server id (also used by a "chat" server)',
      ],
      [
        { id: 'chat-server-9' },
        { serverId: 'chat-server-9', serverType: undefined, field: 'serverType' },
        'add command [development] server "chat-server-9": field "serverType": required',
      ],
    ];
    for (const [raw, fields, message] of cases) {
      assert.throws(
        () => parseServerEntry(raw, config),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.file, 'add command');
          assert.equal(err.serverId, fields.serverId);
          assert.equal(err.serverType, fields.serverType);
          assert.equal(err.field, fields.field);
          assert.equal(err.message, message);
          return true;
        },
      );
    }
  });
});
