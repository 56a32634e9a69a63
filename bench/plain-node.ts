// A brief side-by-side of one JavaScript server process (test/fixtures/embed-app, server echo-1)
// started three ways: plain node on the compiled package (dist/), the same under `--import tsx`,
// and the sources through tsx (how every server ran before the package was compiled). For each:
// the median time from spawn to the server's "lifecycle running" log line (the part of a restart
// after the backoff), and the median RSS of the idle server 3 s after that. The server starts as
// the master starts one (the environment of src/actors/master/spawn.ts's serverCommand, with the
// validated config handed over), so it neither reads nor validates the config files itself.
//
//   npm run build && node --import tsx bench/plain-node.ts      (BENCH_RUNS, default 5)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';
import { serverCommand } from '../src/actors/master/spawn.ts';
import { loadConfig } from '../src/config/lazy.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const app = `${root}test/fixtures/embed-app`;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const tsx = import.meta.resolve('tsx');

interface Mode { name: string; args: string[]; script: string; ready: string }
const SERVER = { script: `${app}/app.js`, ready: '"msg":"lifecycle running"' };
const plainDist: Mode = { name: 'plain node, dist', args: [], ...SERVER };
// The baseline of the idle-RSS goal: a bare node process connected to NATS (apps/bare-nats.mjs).
const bare: Mode = { name: 'bare node + nats.js (baseline)', args: [], script: `${root}bench/apps/bare-nats.mjs`, ready: 'bare ready' };
const modes: Mode[] = [
  plainDist,
  { name: 'node --import tsx, dist', args: ['--import', tsx], ...SERVER },
  { name: 'node --import tsx, sources', args: ['--conditions=shaddock-source', '--import', tsx], ...SERVER },
  bare,
];

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/** echo-1's environment as the master gives it, on this NATS. */
async function serverEnv(natsUrl: string): Promise<NodeJS.ProcessEnv> {
  const config = await loadConfig({ dir: app, env: 'test', natsUrl });
  const echo = config.servers.find((server) => server.id === 'echo-1')!;
  // SHADDOCK_NATS_URL is for the bare baseline, which has no config.
  return { ...serverCommand(echo, { entry: SERVER.script, dir: app, env: 'test', config }).env, SHADDOCK_NATS_URL: natsUrl };
}

async function once_(mode: Mode, env: NodeJS.ProcessEnv): Promise<{ ms: number; rss: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...mode.args, mode.script], {
    env: { ...env, NODE_OPTIONS: '', SHADDOCK_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  const running = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes(mode.ready)) resolve(performance.now() - started);
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before running: ${buffered}`)));
  });
  const ms = await running;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const rss = rssOf(child.pid!);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return { ms, rss };
}

const nats = await startEmbeddedNats();
try {
  const env = await serverEnv(nats.url);
  const rssByMode = new Map<Mode, number>();
  console.log('| how the server runs | start to running, median ms | idle RSS, median MB |');
  console.log('|---|---|---|');
  for (const mode of modes) {
    const results = [];
    await once_(mode, env); // warm-up: file cache, V8 code cache
    for (let i = 0; i < runs; i++) results.push(await once_(mode, env));
    const rss = median(results.map((r) => r.rss));
    rssByMode.set(mode, rss);
    console.log(`| ${mode.name} | ${median(results.map((r) => r.ms)).toFixed(0)} | ${rss.toFixed(1)} |`);
  }
  const ratio = rssByMode.get(plainDist)! / rssByMode.get(bare)!;
  console.error(`idle RSS goal (plain node, dist <= 1.5 x bare node + nats.js): ${ratio.toFixed(2)} x: ${ratio <= 1.5 ? 'met' : 'NOT MET'}`);
} finally {
  await nats.stop();
}
