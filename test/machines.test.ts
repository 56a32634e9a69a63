import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { lifecycleMachine, type LifecycleInput } from '../src/machines/lifecycle.ts';
import { LeadImmediately, leadershipEvents, type Candidate, type Leadership, type LeadershipListener } from '../src/actors/master/leadership.ts';
import { masterMachine, type MasterContext } from '../src/machines/master.ts';
import { serverMachine } from '../src/machines/server.ts';
import { stateName } from '../src/machines/state-name.ts';

const timing = { startTimeout: 5_000, heartbeatTimeout: 3_000, stopTimeout: 2_000 };

/** A server machine whose effects only record what they were asked to do. */
function serverUnderTest() {
  const clock = new SimulatedClock();
  const effects: string[] = [];
  const machine = serverMachine.provide({
    actions: {
      spawn: () => void effects.push('spawn'),
      requestStop: () => void effects.push('requestStop'),
      kill: () => void effects.push('kill'),
    },
  });
  const actor = createActor(machine, { clock, input: { id: 'chat-server-1', serverType: 'chat', timing } });
  actor.start();
  const state = (): string => stateName(actor.getSnapshot().value);
  return { clock, effects, actor, state };
}

describe('server machine (the master’s view of one server)', () => {
  test('pending → starting → connected on the first heartbeat, spawning once', () => {
    const { actor, effects, state } = serverUnderTest();
    assert.equal(state(), 'pending');
    actor.send({ type: 'START', at: 1 });
    assert.equal(state(), 'starting');
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    assert.equal(state(), 'connected');
    assert.deepEqual(effects, ['spawn']);
    assert.equal(actor.getSnapshot().context.pid, 42);
    assert.equal(actor.getSnapshot().context.connectedAt, 10);
  });

  test('GONE (a process heard from, ended while no master led) → crashed, spawning nothing; a heartbeat from that pid is not adopted', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'GONE', pid: 77, at: 5 });
    assert.equal(state(), 'crashed');
    assert.deepEqual(actor.getSnapshot().context.lastExit, { pid: 77, code: null, signal: null, at: 5 });
    assert.deepEqual(effects, []);
    actor.send({ type: 'START', at: 6 });
    assert.equal(state(), 'starting');
    assert.deepEqual(effects, ['spawn']);
  });

  test('a heartbeat from another pid does not count', () => {
    const { actor, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'HEARTBEAT', pid: 41, at: 10 });
    assert.equal(state(), 'starting');
  });

  test('no heartbeat within startTimeout → unreachable; a late heartbeat → connected', () => {
    const { actor, clock, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    clock.increment(timing.startTimeout - 1);
    assert.equal(state(), 'starting');
    clock.increment(1);
    assert.equal(state(), 'unreachable');
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    assert.equal(state(), 'connected');
  });

  test('heartbeats keep it connected; silence for heartbeatTimeout makes it unreachable', () => {
    const { actor, clock, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    for (let i = 0; i < 5; i++) {
      clock.increment(timing.heartbeatTimeout - 100);
      actor.send({ type: 'HEARTBEAT', pid: 42, at: 20 });
      assert.equal(state(), 'connected');
    }
    clock.increment(timing.heartbeatTimeout);
    assert.equal(state(), 'unreachable');
  });

  test('exit code 0 → exited; non-zero or a signal → crashed, with the exit recorded', () => {
    for (const [code, signal, expected] of [
      [0, null, 'exited'],
      [1, null, 'crashed'],
      [null, 'SIGKILL', 'crashed'],
    ] as const) {
      const { actor, state } = serverUnderTest();
      actor.send({ type: 'START', at: 1 });
      actor.send({ type: 'SPAWNED', pid: 42 });
      actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
      actor.send({ type: 'EXITED', code, signal, at: 99 });
      assert.equal(state(), expected);
      assert.deepEqual(actor.getSnapshot().context.lastExit, { pid: 42, code, signal, at: 99 });
      assert.equal(actor.getSnapshot().context.pid, undefined);
    }
  });

  test('STOP asks for a graceful stop and ends stopped when the process exits', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    actor.send({ type: 'STOP' });
    assert.equal(state(), 'stopping');
    actor.send({ type: 'EXITED', code: 0, signal: null, at: 50 });
    assert.equal(state(), 'stopped');
    assert.deepEqual(effects, ['spawn', 'requestStop']);
  });

  test('a stop that takes longer than stopTimeout kills the process', () => {
    const { actor, clock, effects, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'STOP' });
    clock.increment(timing.stopTimeout - 1);
    assert.deepEqual(effects, ['spawn', 'requestStop']);
    clock.increment(1);
    assert.equal(state(), 'killing');
    assert.deepEqual(effects, ['spawn', 'requestStop', 'kill']);
    actor.send({ type: 'EXITED', code: null, signal: 'SIGKILL', at: 60 });
    assert.equal(state(), 'stopped');
  });

  test('KILL kills at once; a heartbeat while stopping is ignored', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'KILL' });
    assert.equal(state(), 'killing');
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    assert.equal(state(), 'killing');
    assert.deepEqual(effects, ['spawn', 'kill']);
  });

  test('a server that never started stops without any effect', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'STOP' });
    assert.equal(state(), 'stopped');
    assert.deepEqual(effects, []);
  });

  test('a heartbeat from a server that is down adopts it, but not from the process that just ended', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWNED', pid: 42 });
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 10 });
    actor.send({ type: 'STOP' });
    actor.send({ type: 'EXITED', code: 0, signal: null, at: 50 });
    assert.equal(state(), 'stopped');
    assert.equal(actor.getSnapshot().context.lastExit?.pid, 42);
    actor.send({ type: 'HEARTBEAT', pid: 42, at: 60 });
    assert.equal(state(), 'stopped', 'a late heartbeat of the stopped process changes nothing');
    actor.send({ type: 'HEARTBEAT', pid: 77, at: 70 });
    assert.equal(state(), 'connected');
    assert.equal(actor.getSnapshot().context.pid, 77);
    assert.equal(actor.getSnapshot().context.connectedAt, 70);
    assert.deepEqual(effects, ['spawn', 'requestStop'], 'adopting spawns nothing');
  });

  test('a crashed server can be started again, spawning a new process', () => {
    const { actor, effects, state } = serverUnderTest();
    actor.send({ type: 'START', at: 1 });
    actor.send({ type: 'SPAWN_FAILED', error: 'ENOENT' });
    assert.equal(state(), 'crashed');
    assert.equal(actor.getSnapshot().context.error, 'ENOENT');
    actor.send({ type: 'START', at: 2 });
    assert.equal(state(), 'starting');
    assert.equal(actor.getSnapshot().context.error, undefined);
    assert.deepEqual(effects, ['spawn', 'spawn']);
  });
});

/** A lifecycle whose steps are controlled by the test: each resolves when the test says so. */
function lifecycleUnderTest(options: { failBoot?: boolean; failHooks?: boolean; drainForever?: boolean } = {}) {
  const clock = new SimulatedClock();
  const steps: string[] = [];
  const step = (name: string, fail = false, never = false) =>
    fromPromise<void, LifecycleInput>(async () => {
      steps.push(name);
      if (never) await new Promise(() => {});
      if (fail) throw new Error(`${name} broke`);
    });
  const machine = lifecycleMachine.provide({
    actors: {
      boot: step('boot', options.failBoot),
      start: step('start'),
      drain: step('drain', false, options.drainForever),
      runStopHooks: step('runStopHooks', options.failHooks),
      stopComponents: step('stopComponents'),
    },
  });
  const actor = createActor(machine, { clock, input: { serverId: 'chat-server-1', drainTimeout: 1_000 } });
  const seen: string[] = [];
  actor.subscribe((snapshot) => {
    const name = stateName(snapshot.value);
    if (seen.at(-1) !== name) seen.push(name);
  });
  actor.start();
  return { actor, clock, steps, seen };
}

describe('lifecycle machine (a server process’s view of itself)', () => {
  test('boots, starts, runs; STOP drains, runs hooks, stops components, ends stopped', async () => {
    const { actor, steps, seen } = lifecycleUnderTest();
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.status === 'done');
    assert.deepEqual(steps, ['boot', 'start', 'drain', 'runStopHooks', 'stopComponents']);
    assert.deepEqual(seen, ['booting', 'starting', 'running', 'draining', 'stopping.hooks', 'stopping.components', 'stopped']);
  });

  test('a stop asked for while booting is honoured once booting settles, without serving', async () => {
    const { actor, steps } = lifecycleUnderTest();
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.status === 'done');
    assert.deepEqual(steps, ['boot', 'runStopHooks', 'stopComponents']);
  });

  test('a failing hook does not stop the stop; the error is kept', async () => {
    const { actor, steps } = lifecycleUnderTest({ failHooks: true });
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'STOP' });
    const done = await waitFor(actor, (s) => s.status === 'done');
    assert.ok(done.matches('stopped'));
    assert.equal(done.context.error, 'runStopHooks broke');
    assert.equal(steps.at(-1), 'stopComponents');
  });

  test('draining that never finishes is cut off after drainTimeout', async () => {
    const { actor, clock } = lifecycleUnderTest({ drainForever: true });
    await waitFor(actor, (s) => s.matches('running'));
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.matches('draining'));
    clock.increment(999);
    assert.ok(actor.getSnapshot().matches('draining'));
    clock.increment(1);
    await waitFor(actor, (s) => s.status === 'done');
  });

  test('a boot failure ends in failed after closing what was opened', async () => {
    const { actor, steps } = lifecycleUnderTest({ failBoot: true });
    const failed = await waitFor(actor, (s) => s.status === 'done');
    assert.ok(failed.matches('failed'));
    assert.equal(failed.context.error, 'boot broke');
    assert.deepEqual(steps, ['boot', 'stopComponents']);
  });
});

/**
 * A leadership for master HA that the test drives: it answers STANDBY to the campaign, then
 * ELECTED or LEADERSHIP_LOST when the test says.
 */
class ScriptedLeadership implements Leadership {
  private listener: LeadershipListener | undefined;
  campaigns = 0;

  /** `silent`: answers nothing until told, so the master stays `electing`. */
  constructor(private readonly silent = false) {}

  campaign(_self: Candidate, listener: LeadershipListener): void {
    this.listener = listener;
    this.campaigns++;
    if (!this.silent) queueMicrotask(() => listener.standby(undefined));
  }

  elect = (epoch = 1): void => this.listener?.elected(epoch);
  lose = (reason: string): void => this.listener?.lost(reason);
  suspend = (reason: string): void => this.listener?.suspended(reason);
  resume = (): void => this.listener?.resumed();
  standby = (): void => this.listener?.standby(undefined);
  resign = async (): Promise<void> => {};
  controlKey = async (fresh: () => string): Promise<string> => fresh();
}

interface MasterTestOptions {
  connect?: () => Promise<void>;
  /** The clock the runtime would read for ELECTED's `at`. */
  now?: () => number;
  /** With HA: a leadership that answers nothing until told. */
  silent?: boolean;
}

function masterUnderTest(ha: boolean, { connect = async () => {}, now = () => Date.now(), silent = false }: MasterTestOptions = {}) {
  const announced: string[] = [];
  const scripted = new ScriptedLeadership(silent);
  const leadership = ha ? scripted : new LeadImmediately();
  const machine = masterMachine.provide({
    actors: {
      connect: fromPromise<void, MasterContext>(connect),
      adoptServers: fromPromise<void, MasterContext>(async () => void announced.push('adoptServers')),
      stopServers: fromPromise<void, MasterContext>(async () => void announced.push('stopServers')),
    },
    actions: {
      campaign: () => leadership.campaign({ id: 'master-server-1', host: '127.0.0.1', port: 0, pid: process.pid }, leadershipEvents((event) => actor.send(event), now)),
      announceAllStarted: () => void announced.push('allStarted'),
      release: () => void announced.push('release'),
    },
  });
  const actor = createActor(machine, { input: { masterId: 'master-server-1' } });
  const states: string[] = [];
  actor.subscribe((snapshot) => {
    const state = stateName(snapshot.value);
    if (states.at(-1) !== state) states.push(state);
  });
  actor.start();
  return { actor, announced, scripted, states };
}

describe('master machine', () => {
  test('without HA it leads at once, starts servers, and announces when all started', async () => {
    const { actor, announced } = masterUnderTest(false);
    await waitFor(actor, (s) => s.matches({ leading: 'adopting' }));
    actor.send({ type: 'ALL_STARTED' });
    assert.equal(stateName(actor.getSnapshot().value), 'leading.running');
    assert.deepEqual(announced, ['adoptServers', 'allStarted']);
    assert.ok(actor.getSnapshot().context.leadingSince);
  });

  test('with HA it waits in standby until elected, and steps down when leadership is lost', async () => {
    const { actor, announced, scripted } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    assert.deepEqual(announced, []);
    scripted.elect();
    assert.ok(actor.getSnapshot().matches('leading'));
    scripted.lose('session expired');
    assert.ok(actor.getSnapshot().matches('electing'), 'it waits for the new campaign');
    assert.equal(actor.getSnapshot().context.reason, 'session expired');
    scripted.standby();
    assert.ok(actor.getSnapshot().matches('standby'));
    assert.deepEqual(announced, ['adoptServers', 'release']);
  });

  test('a suspended leader releases its servers at once, and adopts them afresh when resumed, in the same term', async () => {
    const { actor, announced, scripted, states } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    scripted.elect(41);
    await waitFor(actor, () => announced.length === 1);
    actor.send({ type: 'ALL_STARTED' });
    scripted.suspend('ZooKeeper connection lost');
    assert.ok(actor.getSnapshot().matches('suspended'));
    assert.equal(actor.getSnapshot().context.reason, 'ZooKeeper connection lost');
    assert.deepEqual(announced, ['adoptServers', 'allStarted', 'release'], 'released on entering suspended, before anything else');
    // Nothing a leader does while suspended: no ALL_STARTED taken, no second release.
    actor.send({ type: 'ALL_STARTED' });
    assert.ok(actor.getSnapshot().matches('suspended'));
    scripted.resume();
    assert.equal(stateName(actor.getSnapshot().value), 'leading.adopting');
    assert.equal(actor.getSnapshot().context.epoch, 41, 'the same term');
    await waitFor(actor, () => announced.length === 4);
    assert.deepEqual(announced, ['adoptServers', 'allStarted', 'release', 'adoptServers']);
    assert.deepEqual(states, ['connecting', 'electing', 'standby', 'leading.adopting', 'leading.running', 'suspended', 'leading.adopting']);
  });

  test('a suspension that ends in loss goes electing without a second release, then leads a new term', async () => {
    const { actor, announced, scripted } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    scripted.elect(5);
    scripted.suspend('ZooKeeper connection lost');
    scripted.lose('session not confirmed within 2/3 of its timeout');
    assert.ok(actor.getSnapshot().matches('electing'));
    assert.equal(announced.filter((a) => a === 'release').length, 1);
    scripted.elect(9);
    assert.equal(stateName(actor.getSnapshot().value), 'leading.adopting');
    assert.equal(actor.getSnapshot().context.epoch, 9);
  });

  test('a standby whose session is lost waits electing again; suspension and resumption of a standby change nothing', async () => {
    const { actor, announced, scripted } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    scripted.suspend('ZooKeeper connection lost');
    assert.ok(actor.getSnapshot().matches('standby'));
    scripted.resume();
    assert.ok(actor.getSnapshot().matches('standby'));
    scripted.lose('session expired');
    assert.ok(actor.getSnapshot().matches('electing'));
    assert.deepEqual(announced, [], 'a standby has nothing to release');
  });

  test('STOP while suspended stops without adopting again', async () => {
    const { actor, announced, scripted } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    scripted.elect();
    scripted.suspend('ZooKeeper connection lost');
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.status === 'done');
    scripted.resume();
    assert.ok(actor.getSnapshot().matches('stopped'));
    assert.deepEqual(announced.filter((a) => a !== 'adoptServers'), ['release', 'stopServers']);
  });

  test('STOP from any state stops servers and ends stopped; a second STOP changes nothing', async () => {
    const { actor, announced } = masterUnderTest(false);
    await waitFor(actor, (s) => s.matches('leading'));
    actor.send({ type: 'STOP' });
    actor.send({ type: 'STOP' });
    await waitFor(actor, (s) => s.status === 'done');
    assert.ok(actor.getSnapshot().matches('stopped'));
    assert.deepEqual(announced, ['adoptServers', 'stopServers']);
  });

  test('a connection failure ends in failed with the reason', async () => {
    const { actor } = masterUnderTest(false, {
      connect: async () => {
        throw new Error('cannot connect to NATS at nats://127.0.0.1:1');
      },
    });
    const done = await waitFor(actor, (s) => s.status === 'done');
    assert.ok(done.matches('failed'));
    assert.match(done.context.error ?? '', /cannot connect/);
  });

  test('with the immediate leadership it goes electing → leading at once, leading since the runtime’s clock', async () => {
    const { actor, states } = masterUnderTest(false, { now: () => 42 });
    await waitFor(actor, (s) => s.matches('leading'));
    assert.deepEqual(states, ['connecting', 'electing', 'leading.adopting']);
    assert.equal(actor.getSnapshot().context.leadingSince, 42);
  });

  test('STANDBY → standby → ELECTED → leading, leading since the event’s time', async () => {
    const { actor, announced, states } = masterUnderTest(true);
    await waitFor(actor, (s) => s.matches('standby'));
    assert.deepEqual(states, ['connecting', 'electing', 'standby']);
    assert.equal(actor.getSnapshot().context.leadingSince, undefined);
    actor.send({ type: 'ELECTED', at: 1_234, epoch: 7 });
    assert.equal(stateName(actor.getSnapshot().value), 'leading.adopting');
    assert.equal(actor.getSnapshot().context.leadingSince, 1_234);
    await waitFor(actor, () => announced.length > 0);
    assert.deepEqual(announced, ['adoptServers']);
  });

  test('lost leadership steps down to standby, and a later election leads again', async () => {
    let now = 10;
    const { actor, announced, scripted } = masterUnderTest(true, { now: () => now });
    await waitFor(actor, (s) => s.matches('standby'));
    scripted.elect();
    assert.equal(actor.getSnapshot().context.leadingSince, 10);
    scripted.lose('ZooKeeper session expired');
    assert.ok(actor.getSnapshot().matches('electing'));
    now = 20;
    scripted.elect();
    assert.equal(stateName(actor.getSnapshot().value), 'leading.adopting');
    assert.equal(actor.getSnapshot().context.leadingSince, 20);
    // One campaign for the master's whole life: the election itself reports each change.
    assert.equal(scripted.campaigns, 1);
    await waitFor(actor, () => announced.length === 3);
    assert.deepEqual(announced, ['adoptServers', 'release', 'adoptServers']);
  });

  for (const [waiting, silent] of [['electing', true], ['standby', false]] as const) {
    test(`STOP in ${waiting} stops, and a late election changes nothing`, async () => {
      const { actor, announced, scripted, states } = masterUnderTest(true, { silent });
      await waitFor(actor, (s) => s.matches(waiting));
      actor.send({ type: 'STOP' });
      await waitFor(actor, (s) => s.status === 'done');
      scripted.elect();
      assert.ok(actor.getSnapshot().matches('stopped'));
      assert.deepEqual(states, ['connecting', 'electing', ...(silent ? [] : ['standby']), 'stopping', 'stopped']);
      assert.deepEqual(announced, ['stopServers']);
    });
  }
});
