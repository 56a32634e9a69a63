// What a backend server process loads at start-up (issue #14's idle-RSS goal): the package entry
// and the server process module, imported into a fresh node, must not pull in the packages only a
// master, a frontend or an opt-in feature needs. ioredis alone is about 20 MB of a process's RSS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { repoRoot } from './harness/index.ts';

const run = promisify(execFile);

/**
 * The packages under node_modules that importing `modules` (paths from the repository root) into a
 * fresh node loads, by name: CommonJS ones from the require cache, ES modules from a `load` hook
 * that reports each URL to the main thread (an import of a marker module after the others tells
 * when every report has arrived).
 */
async function packagesLoadedBy(modules: string[]): Promise<Set<string>> {
  const hooks = 'let port; export function initialize(data) { port = data.port; } export async function load(url, context, next) { port.postMessage(url); return next(url, context); }';
  const marker = 'data:text/javascript,export default "module-graph marker"';
  const script = `
    import { createRequire, register } from 'node:module';
    import { MessageChannel } from 'node:worker_threads';
    const { port1, port2 } = new MessageChannel();
    const urls = [];
    const allReported = new Promise((resolve) => port1.on('message', (url) => (url === ${JSON.stringify(marker)} ? resolve() : urls.push(url))));
    register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)}, { data: { port: port2 }, transferList: [port2] });
    ${modules.map((m) => `await import(${JSON.stringify(new URL(m, `file://${repoRoot}/`).href)});`).join('\n    ')}
    await import(${JSON.stringify(marker)});
    await allReported;
    port1.close();
    const paths = [...urls, ...Object.keys(createRequire(import.meta.url).cache)];
    const names = paths.map((p) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(p)?.[1]).filter(Boolean);
    console.log(JSON.stringify([...new Set(names)]));
  `;
  const { stdout } = await run(process.execPath, ['--conditions=shaddock-source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, timeout: 60_000 });
  return new Set(JSON.parse(stdout) as string[]);
}

describe('a backend server process', () => {
  test('loads neither ioredis, zod, ws nor the ZooKeeper client until something asks for them', async () => {
    const loaded = await packagesLoadedBy(['src/index.ts', 'src/actors/server/server-process.ts']);
    // What it does need, so that the check sees CommonJS packages at all.
    assert.ok(loaded.has('pino'), `pino not seen among ${[...loaded].join(', ')}`);
    for (const name of ['ioredis', 'zod', 'ws', 'node-zookeeper-client']) assert.ok(!loaded.has(name), `${name} is loaded at start-up: ${[...loaded].join(', ')}`);
  });

  test('loads ioredis once it opens global channels, and zod once it validates a config', async () => {
    const loaded = await packagesLoadedBy(['src/actors/channel/global-channel-service.ts', 'src/config/load.ts']);
    for (const name of ['ioredis', 'zod']) assert.ok(loaded.has(name), `${name} not seen among ${[...loaded].join(', ')}`);
  });
});
