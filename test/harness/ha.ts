// A master HA cluster for a test file: examples/chat's `ha` environment (leader master-server-1,
// standby master-server-2 of masterha.json) on a real ZooKeeper and nats-server started for the
// calling describe block and stopped by pid after it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { readRunFile } from '../../src/actors/master/run-file.ts';
import type { ServerRow } from '../../src/transport/wire.ts';
import { isAlive, repoRoot, runCli, startCluster, waitForExit, type TestCluster } from './cluster.ts';
import { startNats, startZookeeperEnsemble, type RunningService, type ZookeeperEnsemble } from './services.ts';

export const chatDir = join(repoRoot, 'examples/chat');

export function row(rows: ServerRow[], id: string): ServerRow {
  const found = rows.find((r) => r.id === id);
  assert.ok(found, `no row ${id}`);
  return found;
}

export function standbyPid(stdout: string, id: string): number {
  const match = new RegExp(`master ${id} pid (\\d+): standby`).exec(stdout);
  assert.ok(match, `no standby line for ${id} in: ${stdout}`);
  return Number(match[1]);
}

/**
 * A ZooKeeper ensemble of `size` members and a chat cluster with masterHA on it (leader
 * master-server-1, standby master-server-2), for the calling describe block. `options.env`, when
 * given, adds to the environment of both masters (called once, before they start).
 */
export function useHACluster(size: number, options: { env?: () => Promise<NodeJS.ProcessEnv> } = {}): { readonly zk: ZookeeperEnsemble; readonly cluster: TestCluster; readonly bus: NatsConnection; readonly env: NodeJS.ProcessEnv; readonly started: Set<number> } {
  let zk: ZookeeperEnsemble | undefined;
  let nats: RunningService | undefined;
  let bus: NatsConnection | undefined;
  let cluster: TestCluster | undefined;
  const env: NodeJS.ProcessEnv = {};
  const started = new Set<number>();
  before(async () => {
    [zk, nats] = await Promise.all([startZookeeperEnsemble(size), startNats()]);
    bus = await connect({ servers: nats.url });
    Object.assign(env, await options.env?.());
    env.SHADDOCK_ZK = zk.connectString;
    cluster = await startCluster(chatDir, 'ha', nats.url, { env });
    started.add(readRunFile(chatDir, 'ha')!.masterPid);
    // The standby leads after a failover: its console then takes a free port too (unless the test set one).
    const standby = await runCli(['masterha', ...cluster.args], { env: { SHADDOCK_CONSOLE_PORT: '0', ...env } });
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

