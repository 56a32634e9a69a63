// Isolation (issue #14): clusters with another prefix or another cluster name on one NATS never
// see each other's messages.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { appWith, ids, upAndRunning, workDir } from './harness/embed.ts';
import { runCli, startCluster, startNats, type RunningService, type TestCluster } from './harness/index.ts';

const work = workDir('nats-isolation');

after(() => rmSync(work, { recursive: true, force: true }));

describe('isolation on one NATS: another prefix or another cluster name sees nothing', () => {
  let nats: RunningService;
  let watcher: NatsConnection;
  const clusters: TestCluster[] = [];
  const seen = new Set<string>();

  before(async () => {
    nats = await startNats();
    watcher = await connect({ servers: nats.url });
    watcher.subscribe('>', { callback: (_e, msg) => void seen.add(msg.subject.split(".").slice(0, 2).join(".")) });
  });
  after(async () => {
    for (const cluster of clusters) await cluster.destroy();
    await watcher?.close();
    await nats?.stop();
  });

  test('three clusters with the same server ids: each lists only its own, and stopping one leaves the others', async () => {
    const variants = [
      { prefix: 'game', cluster: 'eu' },
      { prefix: 'game', cluster: 'us' },
      { prefix: 'other', cluster: 'eu' },
    ];
    for (const [index, variant] of variants.entries()) {
      clusters.push(await startCluster(appWith(work, `iso-${index}`, variant), 'test', nats.url));
    }
    // Each master answers its own admin subject with its own server; the same ids would collide otherwise.
    for (const cluster of clusters) assert.deepEqual(ids(await cluster.list()), upAndRunning);
    const [first, ...rest] = clusters as [TestCluster, ...TestCluster[]];
    const stopped = await runCli(['stop', ...first.args]);
    assert.equal(stopped.code, 0, stopped.stderr);
    for (const cluster of rest) assert.deepEqual(ids(await cluster.list()), upAndRunning);
    // Every subject the clusters used starts with one of their bases (plus nats.js's inboxes).
    const bases = new Set(variants.map((v) => `${v.prefix}.${v.cluster}`));
    for (const base of seen) assert.ok(bases.has(base) || base.startsWith('_INBOX.'), `a subject outside the clusters' bases: ${base}`);
    for (const base of bases) assert.ok(seen.has(base), `nothing seen on ${base}`);
  });
});
