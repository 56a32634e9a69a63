// A brief side-by-side of one JavaScript server process (test/fixtures/embed-app, server echo-1)
// started three ways: plain node on the compiled package (dist/), the same under `--import tsx`,
// and the sources through tsx (how every server ran before the package was compiled). For each:
// the median time from spawn to the server's "lifecycle running" log line (the part of a restart
// after the backoff), and the median RSS of the idle server 3 s after that.
//
//   npm run build && node --import tsx bench/plain-node.ts      (BENCH_RUNS, default 5)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { startEmbeddedNats } from '../src/actors/master/embedded-broker.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const app = `${root}test/fixtures/embed-app`;
const runs = Number(process.env.BENCH_RUNS ?? 5);
const tsx = import.meta.resolve('tsx');

const modes: { name: string; args: string[] }[] = [
  { name: 'plain node, dist', args: [] },
  { name: 'node --import tsx, dist', args: ['--import', tsx] },
  { name: 'node --import tsx, sources', args: ['--conditions=shaddock-source', '--import', tsx] },
];

function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function once_(args: string[], natsUrl: string): Promise<{ ms: number; rss: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [...args, `${app}/app.js`], {
    env: { ...process.env, NODE_OPTIONS: '', SHADDOCK_SERVER_ID: 'echo-1', SHADDOCK_DIR: app, SHADDOCK_ENV: 'test', SHADDOCK_NATS_URL: natsUrl, SHADDOCK_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  const running = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      if (buffered.includes('"msg":"lifecycle running"')) resolve(performance.now() - started);
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
  console.log('| how the server runs | start to running, median ms | idle RSS, median MB |');
  console.log('|---|---|---|');
  for (const mode of modes) {
    const results = [];
    await once_(mode.args, nats.url); // warm-up: file cache, V8 code cache
    for (let i = 0; i < runs; i++) results.push(await once_(mode.args, nats.url));
    console.log(`| ${mode.name} | ${median(results.map((r) => r.ms)).toFixed(0)} | ${median(results.map((r) => r.rss)).toFixed(1)} |`);
  }
} finally {
  await nats.stop();
}
