// Master HA, end to end: the example chat cluster's `ha` environment (a leader and one standby of
// config/masterha.json) on a real ZooKeeper and nats-server this file starts and stops by pid,
// through the real CLI. Failover is watched on the bus: a new leader's first act is a signed
// `adopt` on each running server's `sys` subject, with its epoch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { SysCommand } from '../src/transport/wire.ts';
import { row, standbyPid, useHACluster } from './harness/ha.ts';
import { PinusClient } from './harness/pinus-client.ts';
import { eventually, runCli, waitForExit } from './harness/index.ts';
import type { NatsConnection } from '@nats-io/transport-node';

/** examples/chat's masterHAConfig `timeout`: how long a dead leader's session lives. */
const SESSION_TIMEOUT = 3_000;

/** Resolves with the first signed `adopt` of epoch above `above` seen on any server's `sys` subject, and when. */
function nextAdoption(nc: NatsConnection, above: number): Promise<{ epoch: number; at: number }> {
  return new Promise((resolve) => {
    const subscription = nc.subscribe(`${subjects('shaddock', 'chat').sys('*')}`, {
      callback: (_error, msg) => {
        const command = decode<SysCommand>(msg.data);
        if (command.command === 'adopt' && command.epoch > above) {
          subscription.unsubscribe();
          resolve({ epoch: command.epoch, at: performance.now() });
        }
      },
    });
  });
}

describe('master HA: a standby takes over the running cluster', () => {
  // Every master pid this file starts goes in `ha.started`, for cleanup by pid.
  const ha = useHACluster(1);

  test('shaddock list shows the leader with its epoch and the standby', async () => {
    const rows = await ha.cluster.list();
    const leader = row(rows, 'master-server-1');
    const standby = row(rows, 'master-server-2');
    assert.equal(leader.role, 'leading');
    assert.equal(leader.state, 'leading.running');
    assert.ok(typeof leader.epoch === 'number' && leader.epoch > 0, `epoch ${leader.epoch}`);
    assert.equal(standby.role, 'standby');
    assert.equal(standby.state, 'standby');
    assert.equal(standby.epoch, null);
    for (const r of rows.filter((r) => r.serverType !== 'master')) assert.equal(r.state, 'connected', r.id);
  });

  test('kill -9 of the leader: the standby leads within the session timeout + 1 s, no server restarts, a chat goes on', async () => {
    const before = await ha.cluster.list();
    const oldEpoch = row(before, 'master-server-1').epoch!;
    const port = row(before, 'connector-server-1').clientPort!;
    const alice = await PinusClient.connect('tcp', port);
    const bob = await PinusClient.connect('tcp', port);
    try {
      await alice.request('connector.entryHandler.enter', { username: 'alice', rid: 'ha-room' });
      await bob.request('connector.entryHandler.enter', { username: 'bob', rid: 'ha-room' });
      const adoption = nextAdoption(ha.bus, oldEpoch);
      const killedAt = performance.now();
      process.kill(row(before, 'master-server-1').pid!, 'SIGKILL');
      const { epoch, at } = await adoption;
      assert.ok(at - killedAt < SESSION_TIMEOUT + 1_000, `a new leader adopted the servers ${Math.round(at - killedAt)} ms after the kill`);
      assert.ok(epoch > oldEpoch, 'the epoch grew');
      // Mid-failover and after, the chat goes on over the same connections.
      const heard = bob.push('onChat', (body) => (body as { msg?: string }).msg === 'after the failover');
      assert.deepEqual(await alice.request('chat.chatHandler.send', { content: 'after the failover', target: '*' }), { code: 200 });
      assert.equal(((await heard) as { from: string }).from, 'alice');
      const rows = await eventually(async () => {
        const r = await ha.cluster.list().catch(() => undefined);
        return r && row(r, 'master-server-2').state === 'leading.running' ? r : undefined;
      }, 'master-server-2 leading.running');
      assert.equal(row(rows, 'master-server-2').epoch, epoch);
      for (const r of rows.filter((r) => r.serverType !== 'master')) {
        assert.equal(r.pid, row(before, r.id).pid, `${r.id} kept its process`);
        assert.equal(r.state, 'connected', r.id);
      }
    } finally {
      alice.close();
      bob.close();
    }
  });

  test('servers killed in the leaderless gap: the auto-restart one is restarted by the new leader, the other stays down', async () => {
    // master-server-1 comes back as the standby.
    const again = await runCli(['start', '-D', '--master', 'master-server-1', ...ha.cluster.args], { env: ha.env });
    assert.equal(again.code, 0, again.stderr);
    ha.started.add(standbyPid(again.stdout, 'master-server-1'));
    const before = await ha.cluster.list();
    assert.equal(row(before, 'master-server-1').role, 'standby');
    const leader = row(before, 'master-server-2');
    const adoption = nextAdoption(ha.bus, leader.epoch!);
    process.kill(leader.pid!, 'SIGKILL');
    const chat1 = row(before, 'chat-server-1').pid!;
    const chat2 = row(before, 'chat-server-2').pid!;
    process.kill(chat1, 'SIGKILL');
    process.kill(chat2, 'SIGKILL');
    await adoption;
    const rows = await eventually(async () => {
      const r = await ha.cluster.list().catch(() => undefined);
      return r && row(r, 'chat-server-1').state === 'connected' && row(r, 'master-server-1').role === 'leading' ? r : undefined;
    }, 'chat-server-1 restarted under master-server-1', 15_000);
    assert.notEqual(row(rows, 'chat-server-1').pid, chat1);
    const down = row(rows, 'chat-server-2');
    assert.equal(down.pid, null, 'chat-server-2 (not auto-restart) stays down');
    assert.match(down.state, /^(crashed|exited)$/);
    assert.equal(down.lastExit?.pid, chat2);
    for (const id of ['gate-server-1', 'connector-server-1', 'connector-server-2']) assert.equal(row(rows, id).pid, row(before, id).pid, `${id} kept its process`);
  });

  test('a graceful stop of the leader alone hands over in under 1 s, servers untouched; shaddock stop stops the standby too', async () => {
    // master-server-2 comes back as the standby.
    const again = await runCli(['start', '-D', '--master', 'master-server-2', ...ha.cluster.args], { env: ha.env });
    assert.equal(again.code, 0, again.stderr);
    const standby = standbyPid(again.stdout, 'master-server-2');
    ha.started.add(standby);
    const before = await ha.cluster.list();
    const leader = row(before, 'master-server-1');
    const adoption = nextAdoption(ha.bus, leader.epoch!);
    const stoppedAt = performance.now();
    process.kill(leader.pid!, 'SIGTERM');
    const { at } = await adoption;
    assert.ok(at - stoppedAt < 1_000, `handed over in ${Math.round(at - stoppedAt)} ms`);
    await waitForExit(leader.pid!);
    const rows = await eventually(async () => {
      const r = await ha.cluster.list().catch(() => undefined);
      return r && row(r, 'master-server-2').state === 'leading.running' ? r : undefined;
    }, 'master-server-2 leading.running');
    for (const id of ['gate-server-1', 'connector-server-1', 'connector-server-2', 'chat-server-1']) assert.equal(row(rows, id).pid, row(before, id).pid, `${id} kept its process`);
    // Now the whole cluster, with a standby running again: nothing is left.
    const third = await runCli(['start', '-D', '--master', 'master-server-1', ...ha.cluster.args], { env: ha.env });
    assert.equal(third.code, 0, third.stderr);
    const lastStandby = standbyPid(third.stdout, 'master-server-1');
    ha.started.add(lastStandby);
    const pids = (await ha.cluster.list()).flatMap((r) => (r.pid ? [r.pid] : []));
    assert.ok(pids.includes(lastStandby));
    const stopped = await runCli(['stop', ...ha.cluster.args], { env: ha.env });
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const pid of pids) await waitForExit(pid);
  });
});
