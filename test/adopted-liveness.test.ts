// Death of adopted servers (processes this master did not spawn, e.g. after a failover): told by
// the pid check where it can see the process end, a zombie counting as ended, and by heartbeats
// where it cannot (the server runs on another host). Supervision on a simulated clock.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { SupervisedServer } from '../src/actors/master/supervised-server.ts';
import { announced, boundCpus, restartsFromEnv } from '../src/actors/server/announced.ts';
import { isAlive } from '../src/actors/runtime/watch.ts';
import { SimulatedClock } from '../src/clock.ts';
import type { ChildSpec } from '../src/config/child-spec.ts';
import type { ServerEntry } from '../src/config/types.ts';
import { createLogger } from '../src/logger.ts';
import type { ServerInfo } from '../src/transport/wire.ts';

process.env.SHADDOCK_LOG_LEVEL ??= 'silent';

const entry: ServerEntry = { id: 'adopted-server-1', serverType: 'chat', host: '10.0.0.9', frontend: false, args: [], autoRestart: true, extra: {} };
const policy = { restart: 'permanent' as const, initialDelay: 400, factor: 2, maxDelay: 10_000, resetAfter: 30_000, maxRestarts: 5, period: 60_000 };
const HEARTBEAT_TIMEOUT = 3_000;
const spec: ChildSpec = { id: entry.id, restart: 'permanent', policy, startTimeout: 5_000, heartbeatTimeout: HEARTBEAT_TIMEOUT, shutdownTimeout: 2_000, stopGroup: 'backend' };
/** Above any Linux pid_max: no local process has it, so a signal to it harms nothing. */
const REMOTE_PID = 4_194_400;

function info(pid: number): ServerInfo {
  return { id: entry.id, serverType: 'chat', host: entry.host, frontend: false, pid, state: 'running', remotes: {}, startedAt: 0, rss: 0 };
}

/** A supervised server adopting a process at `pid`, on a simulated clock; spawns are counted, not run. */
function adopting(pid: number, processAlive?: (pid: number) => boolean, restartsBefore = 0) {
  const clock = new SimulatedClock();
  const spawned: ChildProcess[] = [];
  /** `restarts` as each spawn reads it (what the new process is told in SHADDOCK_RESTARTS). */
  const toldRestarts: number[] = [];
  const server = new SupervisedServer(
    entry,
    spec,
    {
      spawn: (s) => {
        toldRestarts.push(s.restarts);
        const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        spawned.push(child);
        return child;
      },
      requestStop: () => {},
      logger: createLogger('adopted-test'),
      changed: () => {},
      ...(processAlive ? { processAlive } : {}),
    },
    clock,
    restartsBefore,
  );
  server.start(info(pid));
  return { clock, server, spawned, toldRestarts };
}

describe('death of an adopted server', () => {
  test('a zombie (ended, not reaped by its paused parent) is not alive', async () => {
    // `sh` starts `sleep 0` and becomes `sleep 30`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      assert.ok(zombie > 0);
      // It ends at once; until then it is alive. The first check after it ended is the answer.
      for (let i = 0; i < 200 && isAlive(zombie); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(isAlive(zombie), false, 'a zombie counts as ended');
      // …though it still exists for a signal 0.
      assert.doesNotThrow(() => process.kill(zombie, 0));
      assert.equal(isAlive(parent.pid!), true, 'a live process is alive');
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('on another host (the pid check always says alive): silent past the heartbeat timeout, killed, and taken as gone after twice the timeout, then restarted', async () => {
    const { clock, server, spawned } = adopting(REMOTE_PID, () => true);
    try {
      assert.equal(server.state, 'connected');
      assert.equal(server.pid, REMOTE_PID);
      server.heartbeat(REMOTE_PID);
      clock.advance(HEARTBEAT_TIMEOUT);
      // Silent: unreachable, killed as hung (the signal reaches nothing); the pid check sees it alive.
      assert.equal(server.state, 'killing');
      clock.advance(HEARTBEAT_TIMEOUT - 300);
      assert.equal(server.state, 'killing', 'not yet twice the heartbeat timeout since the last answer');
      clock.advance(300);
      assert.equal(server.state, 'restarting', 'taken as gone by its silence');
      assert.equal(server.row(clock.wall(), undefined).lastExit?.pid, REMOTE_PID);
      clock.advance(policy.initialDelay);
      assert.equal(spawned.length, 1, 'restarted once');
    } finally {
      server.release();
      for (const child of spawned) child.kill('SIGKILL');
    }
  });

  test('on another host, a server that keeps answering is never taken as gone', async () => {
    const { clock, server, spawned } = adopting(REMOTE_PID, () => true);
    try {
      for (let t = 0; t < 10 * HEARTBEAT_TIMEOUT; t += 1_000) {
        server.heartbeat(REMOTE_PID);
        clock.advance(1_000);
      }
      assert.equal(server.state, 'connected');
      assert.equal(spawned.length, 0);
    } finally {
      server.release();
    }
  });
});

describe('what a server announces of its supervision', () => {
  test('restarts from SHADDOCK_RESTARTS, and the CPUs it is bound to when its entry has cpu', () => {
    assert.equal(restartsFromEnv('3'), 3);
    assert.equal(restartsFromEnv(undefined), undefined);
    assert.equal(restartsFromEnv('-1'), undefined);
    assert.equal(restartsFromEnv('x'), undefined);
    const bound: ServerEntry = { ...entry, cpu: [1] };
    assert.equal(boundCpus(bound, () => 'Name:\tnode\nCpus_allowed:\t2\nCpus_allowed_list:\t1\n'), '1');
    assert.equal(boundCpus(entry, () => 'Cpus_allowed_list:\t0-1\n'), undefined, 'an unbound server announces nothing');
    assert.equal(boundCpus(bound, () => { throw new Error('no /proc'); }), undefined);
    assert.deepEqual(announced(entry, { SHADDOCK_RESTARTS: '2' }), { restarts: 2 });
    assert.deepEqual(announced(entry, {}), {});
  });

  test('an adopted server counts on from the restarts it announced, and shows the CPUs it announced', () => {
    const { clock, server, spawned, toldRestarts } = adopting(REMOTE_PID, () => true, 4);
    try {
      const row = server.row(clock.wall(), { ...info(REMOTE_PID), restarts: 4, cpu: '1' });
      assert.equal(row.restarts, 4);
      assert.equal(row.cpu, '1');
      assert.equal(server.restarts, 4);
      // Gone (silent), restarted: the fifth.
      clock.advance(3 * HEARTBEAT_TIMEOUT + policy.initialDelay);
      assert.equal(spawned.length, 1);
      assert.deepEqual(toldRestarts, [5], 'the new process is told the count including its own restart');
      assert.equal(server.restarts, 5);
    } finally {
      server.release();
      for (const child of spawned) child.kill('SIGKILL');
    }
  });
});
