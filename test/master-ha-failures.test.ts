// Master HA when things fail, master by master: the example chat cluster's `ha` environment (a
// leader and one standby) on a real ZooKeeper (one node, and a 3-node ensemble) and nats-server
// this file starts and stops by pid. What the masters are doing is read from `<base>.masters`;
// which processes run a server id is read from /proc (each server carries SHADDOCK_SERVER_ID and,
// from its master, this test's SHADDOCK_ZK).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readRunFile } from '../src/actors/master/run-file.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { MasterInfo, ServerInfo, ServerRow, SysCommand } from '../src/transport/wire.ts';
import { eventually, fourLetterWord, isAlive, repoRoot, runCli, startCluster, startNats, startZookeeperEnsemble, waitForExit, type RunningService, type TestCluster, type ZookeeperEnsemble } from './harness/index.ts';

const chatDir = join(repoRoot, 'examples/chat');
/** examples/chat's masterHAConfig `timeout`. */
const SESSION_TIMEOUT = 3_000;
const base = subjects('shaddock', 'chat');

/** Every master of the cluster that answers on `<base>.masters`, in id order. */
async function masters(bus: NatsConnection): Promise<MasterInfo[]> {
  const found: MasterInfo[] = [];
  try {
    for await (const msg of await bus.requestMany(base.masters, encode({}), { strategy: 'stall', stall: 150, maxWait: 1_000 })) found.push(decode<MasterInfo>(msg.data));
  } catch {
    // no responders
  }
  return found.sort((a, b) => a.id.localeCompare(b.id));
}

/** Pids of live processes running server `id` for this test's cluster (the environment marks them). */
function serverProcesses(id: string, zk: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`SHADDOCK_SERVER_ID=${id}`) && env.includes(`SHADDOCK_ZK=${zk}`)) {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (!/\) [ZX] /.test(stat)) pids.push(Number(entry));
      }
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/** Records every heartbeat pid per server id, with when it was first heard. */
function heartbeatLog(bus: NatsConnection): { firstHeard(id: string, pid: number): number | undefined; pids(id: string): number[]; next(id: string, match: (info: ServerInfo) => boolean, timeout?: number): Promise<ServerInfo>; stop(): void } {
  const heard = new Map<string, Map<number, number>>();
  let waiters: { id: string; match: (info: ServerInfo) => boolean; resolve: (info: ServerInfo) => void }[] = [];
  const subscription = bus.subscribe(base.heartbeat, {
    callback: (_error, msg) => {
      const info = decode<ServerInfo>(msg.data);
      const pids = heard.get(info.id) ?? new Map<number, number>();
      heard.set(info.id, pids);
      if (!pids.has(info.pid)) pids.set(info.pid, performance.now());
      for (const w of waiters.filter((w) => w.id === info.id && w.match(info))) {
        waiters = waiters.filter((x) => x !== w);
        w.resolve(info);
      }
    },
  });
  return {
    firstHeard: (id, pid) => heard.get(id)?.get(pid),
    pids: (id) => [...(heard.get(id)?.keys() ?? [])],
    next: (id, match, timeout = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w.resolve !== done);
          reject(new Error(`no matching heartbeat of ${id} within ${timeout} ms; heard pids ${[...(heard.get(id)?.keys() ?? [])].join(', ')}`));
        }, timeout);
        const done = (info: ServerInfo): void => {
          clearTimeout(timer);
          resolve(info);
        };
        waiters.push({ id, match, resolve: done });
      }),
    stop: () => subscription.unsubscribe(),
  };
}

type Signed = Exclude<SysCommand, { command: 'ping' }>;

/** Every signed command (stop, adopt; not the liveness pings) seen on a server's `sys` subject. */
function sysLog(bus: NatsConnection): { commands: Signed[]; stop(): void } {
  const commands: Signed[] = [];
  const subscription = bus.subscribe(base.sys('*'), {
    callback: (_error, msg) => {
      const command = decode<SysCommand>(msg.data);
      if (command.command !== 'ping') commands.push(command);
    },
  });
  return { commands, stop: () => subscription.unsubscribe() };
}

function row(rows: ServerRow[], id: string): ServerRow {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `no row ${id}`);
  return found;
}

function standbyPid(stdout: string, id: string): number {
  const match = new RegExp(`master ${id} pid (\\d+): standby`).exec(stdout);
  assert.ok(match, `no standby line for ${id} in: ${stdout}`);
  return Number(match[1]);
}

/** The one leading master once exactly one leads (leading.running) and every other is standby. */
function oneLeader(bus: NatsConnection, count = 2, timeout = 20_000): Promise<MasterInfo> {
  return eventually(async () => {
    const all = await masters(bus);
    const leading = all.filter((m) => m.role === 'leading');
    if (all.length !== count || leading.length !== 1 || leading[0]!.state !== 'leading.running') return undefined;
    return all.every((m) => m === leading[0] || m.state === 'standby') ? leading[0] : undefined;
  }, `exactly one of ${count} masters leading, the rest standby`, timeout);
}

/**
 * A ZooKeeper ensemble of `size` members and a chat cluster with masterHA on it (leader
 * master-server-1, standby master-server-2), for the calling describe block.
 */
function useHACluster(size: number): { readonly zk: ZookeeperEnsemble; readonly cluster: TestCluster; readonly bus: NatsConnection; readonly env: NodeJS.ProcessEnv; readonly started: Set<number> } {
  let zk: ZookeeperEnsemble | undefined;
  let nats: RunningService | undefined;
  let bus: NatsConnection | undefined;
  let cluster: TestCluster | undefined;
  const env: NodeJS.ProcessEnv = {};
  const started = new Set<number>();
  before(async () => {
    [zk, nats] = await Promise.all([startZookeeperEnsemble(size), startNats()]);
    bus = await connect({ servers: nats.url });
    env.SHADDOCK_ZK = zk.connectString;
    cluster = await startCluster(chatDir, 'ha', nats.url, { env });
    started.add(readRunFile(chatDir, 'ha')!.masterPid);
    const standby = await runCli(['masterha', ...cluster.args], { env });
    assert.equal(standby.code, 0, standby.stderr);
    started.add(standbyPid(standby.stdout, 'master-server-2'));
  });
  after(async () => {
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    for (const pid of started) if (isAlive(pid)) process.kill(pid, 'SIGCONT');
    await cluster?.destroy();
    for (const pid of started) await waitForExit(pid);
    await bus?.close();
    await Promise.all([nats?.stop(), zk?.stop()]);
  });
  return {
    get zk() {
      return zk!;
    },
    get cluster() {
      return cluster!;
    },
    get bus() {
      return bus!;
    },
    env,
    started,
  };
}

describe('master HA failures on one ZooKeeper server', () => {
  const ha = useHACluster(1);

  test('two masters with masterHA, an auto-restart server crashes: it is restarted exactly once', async () => {
    const leader = await oneLeader(ha.bus);
    assert.equal(leader.id, 'master-server-1');
    const rows = await ha.cluster.list();
    const old = row(rows, 'chat-server-1').pid!;
    const beats = heartbeatLog(ha.bus);
    try {
      const back = beats.next('chat-server-1', (info) => info.pid !== old && info.state === 'running');
      process.kill(old, 'SIGKILL');
      const restarted = await back;
      // One more round of heartbeats from the restarted one: time for a second copy to show up.
      await beats.next('chat-server-1', (info) => info.pid === restarted.pid && performance.now() - beats.firstHeard('chat-server-1', restarted.pid)! > 1_000);
      assert.deepEqual(serverProcesses('chat-server-1', ha.zk.connectString), [restarted.pid], 'one process runs chat-server-1');
      assert.deepEqual(beats.pids('chat-server-1'), [restarted.pid], 'no other copy beat');
    } finally {
      beats.stop();
    }
  });

  test('ZooKeeper down: the leader is suspended and restarts nothing; back: exactly one master leads and restarts the crashed server', async () => {
    const before = await ha.cluster.list();
    const leader = await oneLeader(ha.bus);
    const victim = row(before, 'chat-server-1').pid!;
    const beats = heartbeatLog(ha.bus);
    const sys = sysLog(ha.bus);
    try {
      await ha.zk.members[0]!.stop();
      await eventually(async () => ((await masters(ha.bus)).find((m) => m.id === leader.id)?.role === 'standby' ? true : undefined), 'the leader no longer leading', 10_000);
      const commandsWhenDown = sys.commands.length;
      // The leader's own child dies while nobody can lead: nobody restarts it.
      process.kill(victim, 'SIGKILL');
      await waitForExit(victim);
      // Until every master has given its session up (lost within the session timeout), none leads.
      await eventually(async () => ((await masters(ha.bus)).every((m) => m.state === 'electing' || m.state === 'connecting') ? true : undefined), 'every master electing', SESSION_TIMEOUT + 5_000);
      assert.deepEqual(serverProcesses('chat-server-1', ha.zk.connectString), [], 'chat-server-1 was restarted while ZooKeeper was down');
      assert.equal(sys.commands.length, commandsWhenDown, `commands sent while ZooKeeper was down: ${JSON.stringify(sys.commands.slice(commandsWhenDown))}`);
      for (const r of before.filter((r) => r.serverType !== 'master' && r.id !== 'chat-server-1')) assert.ok(isAlive(r.pid!), `${r.id} kept serving`);
      const backAt = performance.now();
      await ha.zk.members[0]!.restart();
      const newLeader = await oneLeader(ha.bus);
      const restarted = await beats.next('chat-server-1', (info) => info.state === 'running');
      assert.ok(beats.firstHeard('chat-server-1', restarted.pid)! > backAt, 'restarted only after ZooKeeper came back');
      assert.deepEqual(serverProcesses('chat-server-1', ha.zk.connectString), [restarted.pid]);
      assert.ok(newLeader.epoch! > leader.epoch!, 'a new term');
      const rows = await ha.cluster.list();
      for (const r of before.filter((r) => r.serverType !== 'master' && r.id !== 'chat-server-1')) assert.equal(row(rows, r.id).pid, r.pid, `${r.id} kept its process`);
    } finally {
      beats.stop();
      sys.stop();
    }
  });

  test('the leader paused (SIGSTOP) past its session: the standby takes over; on SIGCONT the old one spawns nothing, is obeyed in nothing, and steps down', async () => {
    const leader = await oneLeader(ha.bus);
    const before = await ha.cluster.list();
    const beats = heartbeatLog(ha.bus);
    const sys = sysLog(ha.bus);
    try {
      process.kill(leader.pid, 'SIGSTOP');
      const successor = await eventually(async () => (await masters(ha.bus)).find((m) => m.pid !== leader.pid && m.state === 'leading.running'), 'the standby leading', SESSION_TIMEOUT + 10_000);
      assert.ok(successor.epoch! > leader.epoch!);
      // An auto-restart server (a child of whichever master spawned it) dies while the old leader sleeps.
      const adopted = row(await ha.cluster.list(), 'chat-server-1');
      const victim = adopted.pid!;
      // Learned from the server, not from the successor's memory: the same count and binding as under the old leader.
      assert.equal(adopted.restarts, row(before, 'chat-server-1').restarts);
      assert.equal(adopted.cpu, row(before, 'chat-server-1').cpu);
      const back = beats.next('chat-server-1', (info) => info.pid !== victim && info.state === 'running');
      process.kill(victim, 'SIGKILL');
      const restarted = await back;
      process.kill(leader.pid, 'SIGCONT');
      await eventually(async () => ((await masters(ha.bus)).find((m) => m.pid === leader.pid)?.state === 'standby' ? true : undefined), 'the old leader standby', 15_000);
      assert.equal((await oneLeader(ha.bus)).pid, successor.pid, 'the successor still leads');
      // One more heartbeat round after it stepped down.
      const settled = performance.now();
      await beats.next('chat-server-1', () => performance.now() - settled > 1_000);
      assert.deepEqual(serverProcesses('chat-server-1', ha.zk.connectString), [restarted.pid], 'exactly one chat-server-1 (the old leader spawned none)');
      const old = sys.commands.filter((c) => c.epoch <= leader.epoch!);
      const rows = await ha.cluster.list();
      assert.equal(row(rows, 'chat-server-1').restarts, adopted.restarts + 1, 'the restart counted on from the announced count');
      for (const r of before.filter((r) => r.serverType !== 'master' && r.id !== 'chat-server-1')) {
        assert.equal(row(rows, r.id).pid, r.pid, `${r.id} kept its process (commands of the old term: ${JSON.stringify(old.map((c) => c.command))})`);
        assert.equal(row(rows, r.id).state, 'connected', r.id);
      }
    } finally {
      if (isAlive(leader.pid)) process.kill(leader.pid, 'SIGCONT');
      beats.stop();
      sys.stop();
    }
  });
});

describe('master HA on a 3-server ZooKeeper ensemble', () => {
  const ha = useHACluster(3);

  /** Client connections each member serves (its `cons`, less the asking one). */
  async function connections(): Promise<number[]> {
    return Promise.all(ha.zk.members.map(async (m) => (m.pid === undefined ? 0 : (await fourLetterWord(m.port, 'cons').catch(() => '')).split('\n').filter((l) => /^\s*\/127\.0\.0\.1:\d+\[\d\]/.test(l)).length - 1)));
  }

  test('the member the leader is connected to is killed: the cluster keeps its leader and its term', async () => {
    const leader = await oneLeader(ha.bus);
    const sys = sysLog(ha.bus);
    try {
      const counts = await eventually(async () => {
        const c = await connections();
        return c.reduce((a, b) => a + b, 0) >= 2 ? c : undefined;
      }, 'both masters connected to the ensemble');
      // The busiest member: it serves at least one master (both, when they share it).
      const busiest = counts.indexOf(Math.max(...counts));
      await ha.zk.members[busiest]!.stop();
      // Both masters' sessions move to the other members.
      await eventually(async () => ((await connections()).reduce((a, b) => a + b, 0) >= 2 ? true : undefined), 'both masters reconnected to the two members left', SESSION_TIMEOUT + 5_000);
      const now = await oneLeader(ha.bus);
      assert.equal(now.pid, leader.pid, 'the same master leads');
      assert.equal(now.epoch, leader.epoch, 'in the same term');
      assert.deepEqual(sys.commands.filter((c) => c.epoch !== leader.epoch), [], 'no command of another term');
    } finally {
      sys.stop();
    }
  });
});
