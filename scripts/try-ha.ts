// `npm run try:ha`: master HA on one machine in one command. Starts a ZooKeeper and a nats-server
// on free loopback ports, the examples/chat `ha` cluster (leader master-server-1) and its standby
// (master-server-2, from masterha.json), prints which pid to kill and how to watch, and on Ctrl-C
// stops the cluster, the standby, ZooKeeper and nats-server. Nothing listens beyond 127.0.0.1.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { decode, encode } from '../src/transport/codec.ts';
import { subjects } from '../src/transport/subjects.ts';
import type { MasterInfo } from '../src/transport/wire.ts';
import { freePort } from '../test/harness/ports.ts';
import { fourLetterWord, zookeeperClasspath } from '../test/harness/services.ts';

const root = join(import.meta.dirname, '..');
const appDir = join(root, 'examples', 'chat');
const cli = join(root, 'bin', 'shaddock.js');
const ENV = 'ha';

/** A service this script started in a process group of its own (so Ctrl-C reaches only this script, which stops it last). */
interface Service {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function waitExit(pid: number, signal: NodeJS.Signals): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const started = Date.now();
    const timer = setInterval(() => {
      try {
        process.kill(pid, 0);
        if (Date.now() - started > 5_000) process.kill(pid, 'SIGKILL');
      } catch {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
}

/** A standalone ZooKeeper on a free loopback port, its data in a temp dir removed on stop. */
async function startZooKeeper(): Promise<Service> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shaddock-try-ha-zk-'));
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, [`tickTime=500`, `dataDir=${join(dir, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', ''].join('\n'));
  const java = process.env.SHADDOCK_JAVA || 'java';
  const child = spawn(java, ['-Xmx256m', '-Djava.net.preferIPv4Stack=true', '-cp', zookeeperClasspath(), 'org.apache.zookeeper.server.ZooKeeperServerMain', cfg], { cwd: dir, stdio: 'ignore', detached: true });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ZooKeeper with ${java}`);
  const stop = async (): Promise<void> => {
    await waitExit(pid, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 30_000; ; ) {
    if (child.exitCode !== null) throw new Error(`ZooKeeper exited (${child.exitCode}) while starting`);
    const mode = await fourLetterWord(port, 'srvr').catch(() => '');
    if (/^Mode: /m.test(mode)) return { url: `127.0.0.1:${port}`, pid, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error('ZooKeeper did not serve within 30 s');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Runs the shaddock CLI on the example with this script's services; resolves with its exit code. */
function shaddock(args: string[], zk: Service, nats: Service, inherit = true): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args, '-d', appDir, '-e', ENV, '--nats', nats.url], {
      env: { ...process.env, SHADDOCK_ZK: zk.url },
      stdio: inherit ? 'inherit' : 'ignore',
    });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

async function main(): Promise<void> {
  say('master HA, locally: starting ZooKeeper and nats-server on free loopback ports…');
  const [zk, broker] = await Promise.all([startZooKeeper(), startEmbeddedNats({ ownProcessGroup: true })]);
  const nats: Service = { url: broker.url, pid: broker.pid, stop: () => broker.stop() };
  say(`  ZooKeeper   ${zk.url} (pid ${zk.pid})`);
  say(`  nats-server ${nats.url} (pid ${nats.pid})`);
  let stopping = false;
  const stopAll = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      say('\nstopping the cluster and its standbys (shaddock stop), then ZooKeeper and nats-server…');
      await shaddock(['stop'], zk, nats);
      await Promise.all([zk.stop(), nats.stop()]);
      say('all stopped.');
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  if ((await shaddock(['start', '-D'], zk, nats)) !== 0) return stopAll(1);
  if ((await shaddock(['masterha'], zk, nats)) !== 0) return stopAll(1);
  await shaddock(['list'], zk, nats);

  // Who leads, from the masters themselves.
  const nc = await connect({ servers: nats.url });
  const found: MasterInfo[] = [];
  for await (const msg of await nc.requestMany(subjects('shaddock', 'chat').masters, encode({}), { strategy: 'stall', stall: 150, maxWait: 1_000 })) found.push(decode<MasterInfo>(msg.data));
  await nc.close();
  const leader = found.find((m) => m.role === 'leading');
  const list = `node bin/shaddock.js list -d examples/chat -e ${ENV} --nats ${nats.url}`;
  say();
  if (leader) say(`the leading master is ${leader.id}, pid ${leader.pid} (epoch ${leader.epoch}). Kill it:\n\n  kill -9 ${leader.pid}\n`);
  else say('no master leads yet: see the list above.\n');
  say('and watch the standby take over, with the same server pids (within the 3 s session timeout):\n');
  say(`  watch -n 1 ${list}`);
  say(`  tail -f examples/chat/logs/shaddock-${ENV}.log`);
  say();
  say(`start the killed master again as the standby:\n\n  SHADDOCK_ZK=${zk.url} node bin/shaddock.js start -D --master ${leader?.id ?? 'master-server-1'} -d examples/chat -e ${ENV} --nats ${nats.url}\n`);
  say('Ctrl-C stops everything.');
  // Stay until Ctrl-C.
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`try:ha failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
