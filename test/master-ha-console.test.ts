// Master HA and what watches it: the example chat cluster's `ha` environment (leader
// master-server-1, standby master-server-2) on a real ZooKeeper and nats-server, both masters
// given the same console port (SHADDOCK_CONSOLE_PORT, a free one), as two masters of one machine
// would be. `shaddock inspect master` shows the leader's ZooKeeper session machine; the web
// console (plain fetch, the admin token as Bearer) moves to the standby when the leader is
// killed, and back on a graceful hand-over.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { watch } from '../src/actors/inspect/watcher.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { ServerRow } from '../src/transport/wire.ts';
import { chatDir, row, standbyPid, useHACluster } from './harness/ha.ts';
import { startInspect } from './harness/inspect-cli.ts';
import { eventually, freePort, runCli, waitForExit } from './harness/index.ts';

/** The servers of examples/chat's `ha` environment. */
const SERVERS = ['gate-server-1', 'connector-server-1', 'connector-server-2', 'chat-server-1', 'chat-server-2'];

interface ClusterView {
  rows: ServerRow[];
}

describe('master HA: the ZooKeeper session in the inspector, the console after a failover', () => {
  let consolePort = 0;
  const ha = useHACluster(1, {
    env: async () => {
      consolePort = await freePort();
      return { SHADDOCK_CONSOLE_PORT: String(consolePort) };
    },
  });
  /** An address on the console's port (whichever master serves it). */
  const at = (path: string): string => `http://127.0.0.1:${consolePort}${path}`;

  /** `/api/cluster` of whichever master serves the console port now, with the run file's admin token; undefined while none does. */
  async function clusterView(): Promise<ClusterView | undefined> {
    const token = readRunFile(chatDir, 'ha')?.adminToken;
    if (!token) return undefined;
    try {
      const response = await fetch(at('/api/cluster'), { headers: { authorization: `Bearer ${token}` } });
      return response.ok ? ((await response.json()) as ClusterView) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Waits until the console on the port is served by `leader`, leading.running, with every server connected. */
  async function consoleLedBy(leader: string, timeout = 20_000): Promise<ClusterView> {
    return eventually(async () => {
      const view = await clusterView();
      if (!view) return undefined;
      const masters = view.rows.filter((r) => r.serverType === 'master');
      const leading = masters.filter((r) => r.role === 'leading');
      if (leading.length !== 1 || leading[0]!.id !== leader || leading[0]!.state !== 'leading.running') return undefined;
      return SERVERS.every((id) => view.rows.find((r) => r.id === id)?.state === 'connected') ? view : undefined;
    }, `the console on port ${consolePort} served by ${leader}, every server connected`, timeout);
  }

  test('shaddock inspect master --json: the leader\'s zkSession machine probing ZooKeeper and hearing back', async (t) => {
    const inspect = await startInspect(['master', '--json', ...ha.cluster.args]);
    t.after(() => void (inspect.child.exitCode === null && inspect.child.kill('SIGKILL')));
    const zk = () => inspect.lines.filter((line) => line.machine === 'zkSession');
    // examples/chat's session timeout is 3 s: a probe every second, answered at once.
    const heard = await eventually(async () => {
      const lines = zk();
      const probing = lines.findIndex((line) => line.state === 'connected.probing');
      return probing >= 0 ? lines.slice(probing + 1).find((line) => line.state === 'connected.listening') : undefined;
    }, 'a zkSession probe and its answer in the stream', 15_000);
    assert.equal(heard.event, 'HEARD');
    assert.equal(heard.actor, 'master-server-1');
    assert.equal(heard.server, 'master-server-1');
    const probing = zk().find((line) => line.state === 'connected.probing')!;
    assert.match(probing.event, /^xstate\.after\.third\./);
    inspect.child.kill('SIGINT');
    assert.equal(await inspect.exited, 0);

    // The standby's own session, in its snapshot and in full (it shares its id with its master machine).
    const standby = await watch(ha.bus, subjects('shaddock', 'chat'), 'master-server-2', { ttlMs: 2_000 }, () => undefined);
    try {
      const states = new Map(standby.snapshot.actors.map((actor) => [`${actor.machine} ${actor.actor}`, actor.state]));
      assert.equal(states.get('master master-server-2'), 'standby');
      assert.match(states.get('zkSession master-server-2') ?? '', /^connected\./);
      const detail = await standby.setDetail('zkSession/master-server-2');
      assert.equal(detail.detail?.machine, 'zkSession');
      assert.equal((detail.detail?.context as { sessionTimeout?: number }).sessionTimeout, 3_000);
    } finally {
      await standby.close();
    }
  });

  test('kill -9 of the leader: the standby serves the console on the same port, every server listed, itself leading', async () => {
    const before = await consoleLedBy('master-server-1');
    assert.equal(readRunFile(chatDir, 'ha')?.console, at('/'));
    assert.equal(row(before.rows, 'master-server-2').role, 'standby');
    const token = readRunFile(chatDir, 'ha')!.adminToken;
    const page = await fetch(at('/'), { headers: { authorization: `Bearer ${token}` } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);

    const leaderPid = row(before.rows, 'master-server-1').pid!;
    process.kill(leaderPid, 'SIGKILL');
    await waitForExit(leaderPid);
    const after = await consoleLedBy('master-server-2');
    for (const id of SERVERS) assert.equal(row(after.rows, id).pid, row(before.rows, id).pid, `${id} kept its process`);
    assert.equal(after.rows.find((r) => r.id === 'master-server-1'), undefined, 'the dead master is not listed');
    const runFile = readRunFile(chatDir, 'ha')!;
    assert.equal(runFile.masterId, 'master-server-2');
    assert.equal(runFile.console, at('/'));
    // The admin token is the cluster's (from the control key in ZooKeeper): the same one signs in.
    assert.equal(runFile.adminToken, token);
    const signIn = await fetch(at(`/?token=${token}`), { redirect: 'manual' });
    assert.equal(signIn.status, 303);
    assert.equal((await fetch(at('/api/cluster'))).status, 401);
  });

  test('a graceful stop of the leader: the standby it hands over to serves the console on the same port', async () => {
    const again = await runCli(['start', '-D', '--master', 'master-server-1', ...ha.cluster.args], { env: ha.env });
    assert.equal(again.code, 0, again.stderr);
    ha.started.add(standbyPid(again.stdout, 'master-server-1'));
    const before = await consoleLedBy('master-server-2');
    assert.equal(row(before.rows, 'master-server-1').role, 'standby');
    const leaderPid = row(before.rows, 'master-server-2').pid!;
    process.kill(leaderPid, 'SIGTERM');
    await waitForExit(leaderPid);
    await consoleLedBy('master-server-1');
  });
});
