import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ZooKeeperLeadership, ZooKeeperLeadershipConfigError, lockSequence, type ZooKeeperLeadershipOptions } from '../src/actors/master/zookeeper-leadership.ts';
import type { Candidate, LeaderRecord, LeadershipListener } from '../src/actors/master/leadership.ts';
import { isZooKeeperError, ZooKeeperConnection } from '../src/transport/zookeeper.ts';
import { fourLetterWord, startZookeeperEnsemble, type ZookeeperEnsemble } from './harness/index.ts';

const SESSION_TIMEOUT = 3_000;

type Told =
  | { kind: 'elected'; epoch: number; at: number }
  | { kind: 'standby'; leader: LeaderRecord | undefined; at: number }
  | { kind: 'suspended'; reason: string; at: number }
  | { kind: 'lost'; reason: string; at: number }
  | { kind: 'resumed'; at: number };

/** A listener that records what it is told, and lets a test await the next thing of a kind. */
class Recorder implements LeadershipListener {
  readonly told: Told[] = [];
  private waiters: { match: (t: Told) => boolean; resolve: (t: Told) => void }[] = [];

  constructor(readonly name: string) {}

  elected(epoch: number): void {
    this.push({ kind: 'elected', epoch, at: performance.now() });
  }
  standby(leader: LeaderRecord | undefined): void {
    this.push({ kind: 'standby', leader, at: performance.now() });
  }
  suspended(reason: string): void {
    this.push({ kind: 'suspended', reason, at: performance.now() });
  }
  resumed(): void {
    this.push({ kind: 'resumed', at: performance.now() });
  }
  lost(reason: string): void {
    this.push({ kind: 'lost', reason, at: performance.now() });
  }

  /** The first thing told from index `from` on that matches (already told, or when it comes). */
  next<K extends Told['kind']>(kind: K, from = 0, timeoutMs = 15_000, where: (t: Extract<Told, { kind: K }>) => boolean = () => true): Promise<Extract<Told, { kind: K }>> {
    const match = (t: Told): boolean => t.kind === kind && where(t as Extract<Told, { kind: K }>);
    const found = this.told.slice(from).find(match);
    if (found) return Promise.resolve(found as Extract<Told, { kind: K }>);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`${this.name}: no "${kind}" within ${timeoutMs} ms; told: ${JSON.stringify(this.told.map((t) => t.kind))}`));
      }, timeoutMs);
      const done = (t: Told): void => {
        clearTimeout(timer);
        resolve(t as Extract<Told, { kind: K }>);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  /** The latest standby/elected role. */
  role(): 'elected' | 'standby' | 'none' {
    for (let i = this.told.length - 1; i >= 0; i--) {
      const kind = this.told[i]!.kind;
      if (kind === 'elected' || kind === 'standby') return kind;
      if (kind === 'lost') return 'none';
    }
    return 'none';
  }

  private push(t: Told): void {
    this.told.push(t);
    for (const w of [...this.waiters]) {
      if (w.match(t)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(t);
      }
    }
  }
}

let pathCounter = 0;
function freshPath(): string {
  return `/shaddock/test-${process.pid}-${++pathCounter}/master`;
}

function candidate(id: string): Candidate {
  return { id, host: '127.0.0.1', port: 3000 + Number(id.replace(/\D/g, '') || 0), pid: process.pid };
}

/** Every leadership a test made, resigned after it. */
const made: ZooKeeperLeadership[] = [];
function leadership(servers: string, path: string, extra: Partial<ZooKeeperLeadershipOptions> = {}): ZooKeeperLeadership {
  const l = new ZooKeeperLeadership({ servers, path, sessionTimeout: SESSION_TIMEOUT, ...extra });
  made.push(l);
  return l;
}

async function resignAll(): Promise<void> {
  await Promise.all(made.splice(0).map((l) => l.resign()));
}

/** A plain client, for setting up and inspecting ZooKeeper around the election. */
async function rawClient(servers: string, auth?: string): Promise<ZooKeeperConnection> {
  const zk = ZooKeeperConnection.open({ servers, sessionTimeout: SESSION_TIMEOUT, ...(auth ? { auth } : {}) });
  await new Promise<void>((resolve) => zk.onState((s) => s === 'connected' && resolve()));
  return zk;
}

/** Campaigns `id` and waits for its first outcome. */
async function join(servers: string, path: string, id: string, extra: Partial<ZooKeeperLeadershipOptions> = {}) {
  const l = leadership(servers, path, extra);
  const r = new Recorder(id);
  l.campaign(candidate(id), r);
  await Promise.race([r.next('elected'), r.next('standby')]);
  return { l, r, self: candidate(id) };
}

describe('ZooKeeperLeadership: settings', () => {
  test('a bad setting is rejected with an error naming the field', () => {
    const good = { servers: '127.0.0.1:2181', path: '/shaddock/chat/master', sessionTimeout: 3000 };
    const cases: [Partial<ZooKeeperLeadershipOptions>, string][] = [
      [{ servers: '' }, 'servers'],
      [{ servers: 'localhost' }, 'servers'],
      [{ servers: '127.0.0.1:2181,h2:99999' }, 'servers'],
      [{ path: 'shaddock/master' }, 'path'],
      [{ path: '/shaddock/master/' }, 'path'],
      [{ sessionTimeout: 10 }, 'sessionTimeout'],
      [{ sessionTimeout: 2500.5 }, 'sessionTimeout'],
      [{ auth: 'nopassword' }, 'auth'],
    ];
    for (const [bad, field] of cases) {
      assert.throws(
        () => new ZooKeeperLeadership({ ...good, ...bad }),
        (e: unknown) => e instanceof ZooKeeperLeadershipConfigError && e.field === field && e.message.includes(field),
        JSON.stringify(bad),
      );
    }
    assert.doesNotThrow(() => new ZooKeeperLeadership({ ...good, servers: 'h1:1,h2:2,h3:3', auth: 'ha:secret' }));
  });

  test('lock sequence numbers are read as numbers', () => {
    assert.equal(lockSequence('n-abc-0000000009'), 9);
    assert.equal(lockSequence('n-abc-0000000010'), 10);
    assert.equal(lockSequence('control-key'), undefined);
    const sorted = ['n-b-0000000010', 'n-a-0000000011', 'n-c-0000000009'].sort((a, b) => lockSequence(a)! - lockSequence(b)!);
    assert.deepEqual(sorted, ['n-c-0000000009', 'n-b-0000000010', 'n-a-0000000011']);
  });
});

describe('ZooKeeperLeadership on one ZooKeeper server', () => {
  let zk: ZookeeperEnsemble;
  let servers = '';
  before(async () => {
    zk = await startZookeeperEnsemble(1);
    servers = zk.connectString;
  });
  after(async () => {
    await resignAll();
    await zk.stop();
  });

  test('of two candidates one is elected, the other is standby with the leader’s record', async () => {
    const path = freshPath();
    const a = await join(servers, path, 'master-1');
    const elected = await a.r.next('elected');
    const b = await join(servers, path, 'master-2');
    const standby = await b.r.next('standby');
    assert.deepEqual(standby.leader, { ...a.self, epoch: elected.epoch });
    assert.equal(b.r.told.filter((t) => t.kind === 'elected').length, 0);
    // The record is in <path>'s data, as JSON.
    const raw = await rawClient(servers);
    try {
      assert.deepEqual(JSON.parse((await raw.getData(path)).data.toString()), { ...a.self, epoch: elected.epoch });
    } finally {
      raw.close();
    }
    await resignAll();
  });

  test('resign → the standby is elected in under 1 s, and epochs grow from leader to leader', async () => {
    const path = freshPath();
    const a = await join(servers, path, 'master-1');
    const b = await join(servers, path, 'master-2');
    const c = await join(servers, path, 'master-3');
    const epochA = (await a.r.next('elected')).epoch;
    assert.equal(b.r.role(), 'standby');
    assert.equal(c.r.role(), 'standby');

    const t0 = performance.now();
    await a.l.resign();
    const electedB = await b.r.next('elected');
    assert.ok(electedB.at - t0 < 1_000, `handover took ${Math.round(electedB.at - t0)} ms`);
    assert.ok(electedB.epoch > epochA, `epoch ${electedB.epoch} after ${epochA}`);
    // The remaining standby learns the new leader's record.
    const cSees = await c.r.next('standby', 0, 5_000, (t) => t.leader?.id === 'master-2');
    assert.deepEqual(cSees.leader, { ...b.self, epoch: electedB.epoch });

    const t1 = performance.now();
    await b.l.resign();
    const electedC = await c.r.next('elected');
    assert.ok(electedC.at - t1 < 1_000, `handover took ${Math.round(electedC.at - t1)} ms`);
    assert.ok(electedC.epoch > electedB.epoch);
    // A resigned master is told nothing more.
    assert.deepEqual(a.r.told.map((t) => t.kind), ['elected']);
    await resignAll();
  });

  test('lock sequence numbers past 9 and 10: the lowest by number leads, and the next by number follows', async () => {
    const path = freshPath();
    const raw = await rawClient(servers);
    try {
      await raw.mkdirp(`${path}/lock`);
      // Nine dummy nodes take 0–8, so the candidates get 9, 10 and 11.
      for (let i = 0; i < 9; i++) await raw.remove(await raw.create(`${path}/lock/dummy-`, undefined, 'PERSISTENT_SEQUENTIAL'));
    } finally {
      raw.close();
    }
    const a = await join(servers, path, 'master-9');
    const b = await join(servers, path, 'master-10');
    const c = await join(servers, path, 'master-11');
    assert.equal(a.r.role(), 'elected');
    assert.equal(b.r.role(), 'standby');
    assert.equal(c.r.role(), 'standby');
    const check = await rawClient(servers);
    try {
      const seqs = (await check.getChildren(`${path}/lock`)).map((n) => lockSequence(n)).sort((x, y) => x! - y!);
      assert.deepEqual(seqs, [9, 10, 11]);
    } finally {
      check.close();
    }
    await a.l.resign();
    await b.r.next('elected');
    assert.equal(c.r.role(), 'standby');
    await resignAll();
  });

  test('the predecessor deleted between listing and watching: the standby still promotes', async () => {
    const path = freshPath();
    const a = await join(servers, path, 'master-1');
    assert.equal(a.r.role(), 'elected');
    const hooked: string[] = [];
    const b = leadership(servers, path, {
      beforeWatch: async (predecessor) => {
        hooked.push(predecessor);
        // The leader goes exactly in between: no watch can tell the standby any more.
        if (hooked.length === 1) await a.l.resign();
      },
    });
    const rb = new Recorder('master-2');
    const t0 = performance.now();
    b.campaign(candidate('master-2'), rb);
    const elected = await rb.next('elected', 0, 5_000);
    assert.equal(hooked.length, 1);
    assert.match(hooked[0]!, new RegExp(`^${path}/lock/n-`));
    assert.ok(elected.at - t0 < 1_000, `took ${Math.round(elected.at - t0)} ms`);
    assert.equal(rb.told.filter((t) => t.kind === 'standby').length, 0);
    await resignAll();
  });

  test('controlKey is shared: both candidates get the key the first one stored', async () => {
    const path = freshPath();
    const a = leadership(servers, path);
    const b = leadership(servers, path);
    const [ka, kb] = await Promise.all([a.controlKey(() => 'key-from-a'), b.controlKey(() => 'key-from-b')]);
    assert.equal(ka, kb);
    assert.ok(ka === 'key-from-a' || ka === 'key-from-b');
    // Asked again later (e.g. by a new leader), the stored key is kept.
    const c = leadership(servers, path);
    assert.equal(await c.controlKey(() => 'key-from-c'), ka);
    await resignAll();
  });

  test('with auth, the election’s nodes are unusable without the credentials, their parents stay open', async () => {
    const path = freshPath();
    const a = leadership(servers, path, { auth: 'ha:secret' });
    const key = await a.controlKey(() => 'secret-key');
    const b = leadership(servers, path, { auth: 'ha:secret' });
    assert.equal(await b.controlKey(() => 'other'), key);
    const ra = new Recorder('master-1');
    a.campaign(candidate('master-1'), ra);
    await ra.next('elected');
    const anonymous = await rawClient(servers);
    try {
      await assert.rejects(anonymous.getData(`${path}/control-key`), (e: unknown) => isZooKeeperError(e, 'NO_AUTH'));
      await assert.rejects(anonymous.getData(path), (e: unknown) => isZooKeeperError(e, 'NO_AUTH'));
      await assert.rejects(anonymous.create(`${path}/lock/n-intruder-`, undefined, 'EPHEMERAL_SEQUENTIAL'), (e: unknown) => isZooKeeperError(e, 'NO_AUTH'));
      // The parents above the election's node stay open: other clusters may live beside it.
      const parent = path.slice(0, path.lastIndexOf('/'));
      assert.equal(await anonymous.create(`${parent}/beside`, undefined, 'PERSISTENT'), `${parent}/beside`);
    } finally {
      anonymous.close();
    }
    await resignAll();
  });
});

describe('ZooKeeperLeadership when ZooKeeper stops', () => {
  let zk: ZookeeperEnsemble;
  before(async () => {
    zk = await startZookeeperEnsemble(1);
  });
  after(async () => {
    await resignAll();
    await zk.stop();
  });

  test('ZooKeeper entirely stopped → the leader is suspended, then lost within the session timeout; back → exactly one leads, without waiting for the old sessions to expire', async () => {
    const servers = zk.connectString;
    const path = freshPath();
    const a = await join(servers, path, 'master-1');
    const b = await join(servers, path, 'master-2');
    assert.equal(a.r.role(), 'elected');
    assert.equal(b.r.role(), 'standby');
    const mark = a.r.told.length;
    const markB = b.r.told.length;

    const t0 = performance.now();
    await zk.members[0]!.stop();
    const suspended = await a.r.next('suspended', mark, 5_000);
    assert.ok(suspended.at - t0 < 1_000, `suspended after ${Math.round(suspended.at - t0)} ms`);
    const lost = await a.r.next('lost', mark, 5_000);
    assert.ok(lost.at - t0 <= SESSION_TIMEOUT, `lost after ${Math.round(lost.at - t0)} ms`);
    assert.ok(lost.at >= suspended.at);
    await b.r.next('lost', markB, 5_000);
    // While ZooKeeper is down nobody is elected again.
    assert.equal(a.r.told.slice(mark).filter((t) => t.kind === 'elected').length, 0);
    assert.equal(b.r.told.slice(markB).filter((t) => t.kind === 'elected').length, 0);

    const afterA = a.r.told.length;
    const afterB = b.r.told.length;
    await zk.members[0]!.restart();
    const back = performance.now();
    // The old sessions' nodes expire on the restarted server; then one of the two leads.
    const first = await Promise.race([
      a.r.next('elected', afterA, 20_000).then(() => ({ leader: a, other: b, from: afterB })),
      b.r.next('elected', afterB, 20_000).then(() => ({ leader: b, other: a, from: afterA })),
    ]);
    const elected = first.leader.r.told.slice(first.leader === a ? afterA : afterB).find((t) => t.kind === 'elected')!;
    // Sooner than the old sessions expire on the restarted server (a session timeout after it
    // started): each master removed the lock node of the session it had given up.
    assert.ok(elected.at - back < SESSION_TIMEOUT / 2, `elected ${Math.round(elected.at - back)} ms after ZooKeeper was back`);
    const standby = await first.other.r.next('standby', first.from, 10_000, (t) => t.leader?.id === first.leader.self.id);
    assert.equal(standby.leader?.id, first.leader.self.id);
    assert.equal(first.other.r.told.slice(first.from).filter((t) => t.kind === 'elected').length, 0);
    assert.equal(first.leader.r.role(), 'elected');
    assert.equal(first.other.r.role(), 'standby');
    await resignAll();
  });
  test('ZooKeeper frozen (SIGSTOP: the client sees nothing, as in a partition) → suspended, then lost within the session timeout; SIGCONT → exactly one leads', async () => {
    const servers = zk.connectString;
    const path = freshPath();
    const a = await join(servers, path, 'master-1');
    const b = await join(servers, path, 'master-2');
    assert.equal(a.r.role(), 'elected');
    const mark = a.r.told.length;
    const markB = b.r.told.length;
    const pid = zk.members[0]!.pid!;
    const t0 = performance.now();
    process.kill(pid, 'SIGSTOP');
    try {
      const suspended = await a.r.next('suspended', mark, 5_000);
      assert.match(suspended.reason, /did not answer/);
      assert.ok(suspended.at - t0 <= (SESSION_TIMEOUT * 2) / 3 + 250, `suspended after ${Math.round(suspended.at - t0)} ms`);
      const lost = await a.r.next('lost', mark, 5_000);
      assert.ok(lost.at - t0 <= SESSION_TIMEOUT + 250, `lost after ${Math.round(lost.at - t0)} ms`);
      assert.equal(b.r.told.slice(markB).filter((t) => t.kind === 'elected').length, 0);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const afterA = a.r.told.length;
    const afterB = b.r.told.length;
    const first = await Promise.race([
      a.r.next('elected', afterA, 20_000).then(() => ({ leader: a, other: b, from: afterB })),
      b.r.next('elected', afterB, 20_000).then(() => ({ leader: b, other: a, from: afterA })),
    ]);
    await first.other.r.next('standby', first.from, 10_000, (t) => t.leader?.id === first.leader.self.id);
    assert.equal(first.other.r.told.slice(first.from).filter((t) => t.kind === 'elected').length, 0);
    assert.equal(first.leader.r.role(), 'elected');
    await resignAll();
  });
});

describe('ZooKeeperLeadership on a 3-server ensemble', () => {
  let ensemble: ZookeeperEnsemble;
  before(async () => {
    ensemble = await startZookeeperEnsemble(3);
  });
  after(async () => {
    await resignAll();
    await ensemble.stop();
  });

  test('one of two candidates leads; resign hands over in under 1 s', async () => {
    const path = freshPath();
    const a = await join(ensemble.connectString, path, 'master-1');
    const b = await join(ensemble.connectString, path, 'master-2');
    const epochA = (await a.r.next('elected')).epoch;
    assert.deepEqual((await b.r.next('standby')).leader, { ...a.self, epoch: epochA });
    const t0 = performance.now();
    await a.l.resign();
    const elected = await b.r.next('elected');
    assert.ok(elected.at - t0 < 1_000, `handover took ${Math.round(elected.at - t0)} ms`);
    assert.ok(elected.epoch > epochA);
    await resignAll();
  });

  test('one ensemble member killed (the ensemble’s own leader) → no leader change; it rejoins on restart', async () => {
    const path = freshPath();
    const a = await join(ensemble.connectString, path, 'master-1');
    const b = await join(ensemble.connectString, path, 'master-2');
    assert.equal(a.r.role(), 'elected');
    const markA = a.r.told.length;
    const markB = b.r.told.length;

    let zkLeader: (typeof ensemble.members)[number] | undefined;
    for (const m of ensemble.members) if (/^Mode: leader/m.test(await fourLetterWord(m.port, 'srvr'))) zkLeader = m;
    assert.ok(zkLeader, 'the ensemble has a leader');
    await zkLeader.stop();

    // Every client loses its server for a moment (the followers drop them while electing): the
    // masters may be suspended and resumed, but not lost, and the leader stays the same.
    const c = await join(ensemble.connectString, path, 'master-3');
    assert.equal(c.r.role(), 'standby');
    assert.equal((await c.r.next('standby')).leader?.id, 'master-1');
    for (const [r, mark] of [[a.r, markA], [b.r, markB]] as const) {
      const suspendedAt = r.told.findIndex((t, i) => i >= mark && t.kind === 'suspended');
      if (suspendedAt >= 0) await r.next('resumed', suspendedAt, SESSION_TIMEOUT);
      const since = r.told.slice(mark).map((t) => t.kind);
      assert.ok(since.every((k) => k === 'suspended' || k === 'resumed'), `${r.name}: ${since.join(',')}`);
      if (since.length > 0) assert.equal(since.at(-1), 'resumed', r.name);
    }
    assert.equal(a.r.role(), 'elected');
    assert.equal(b.r.role(), 'standby');

    await zkLeader.restart();
    assert.match(await fourLetterWord(zkLeader.port, 'srvr'), /^Mode: (leader|follower)/m);
    await resignAll();
  });
});
