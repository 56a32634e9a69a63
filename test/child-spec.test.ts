// Child specs: restart types, per-server policy, shutdown timeout and stop groups from servers.json.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { childSpecOf, inStopOrder, STOP_GROUPS } from '../src/config/child-spec.ts';
import { CONFIG_DEFAULTS, ConfigError, loadConfig, parseServerEntry } from '../src/config/index.ts';

const roots: string[] = [];
after(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function appWith(servers: Record<string, unknown[]>, master: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shaddock-spec-'));
  roots.push(dir);
  fs.mkdirSync(path.join(dir, 'config'));
  fs.writeFileSync(path.join(dir, 'config', 'master.json'), JSON.stringify({ development: { id: 'master-1', ...master } }));
  fs.writeFileSync(path.join(dir, 'config', 'servers.json'), JSON.stringify({ development: servers }));
  return dir;
}

const load = (dir: string) => loadConfig({ dir, environment: {} });

async function rejects(dir: string, field: string, message: RegExp): Promise<void> {
  await assert.rejects(load(dir), (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.equal(error.field, field);
    assert.match(error.message, message);
    return true;
  });
}

describe('child specs', () => {
  test('restart: auto-restart true is permanent, absent is temporary, "transient" is its own', async () => {
    const config = await load(
      appWith({
        chat: [
          { id: 'a', 'auto-restart': true },
          { id: 'b' },
          { id: 'c', restart: 'transient' },
          { id: 'd', restart: 'permanent', 'auto-restart': 'true' },
          { id: 'e', restart: 'temporary' },
        ],
      }),
    );
    const specs = config.servers.map((entry) => childSpecOf(entry, config.master));
    assert.deepEqual(specs.map((spec) => `${spec.id}:${spec.restart}`), ['a:permanent', 'b:temporary', 'c:transient', 'd:permanent', 'e:temporary']);
    assert.deepEqual(config.servers.map((entry) => entry.autoRestart), [true, false, true, true, false]);
    assert.deepEqual(specs.map((spec) => spec.policy.restart), ['permanent', 'temporary', 'transient', 'permanent', 'temporary']);
  });

  test('backoff and intensity: master.json restart, with each server overriding field by field', async () => {
    const config = await load(
      appWith(
        { chat: [{ id: 'a', restart: 'permanent', 'restart-policy': { maxRestarts: 2, initialDelay: 50 } }, { id: 'b', restart: 'permanent' }] },
        { restart: { maxRestarts: 9, period: 10_000 } },
      ),
    );
    const [a, b] = config.servers.map((entry) => childSpecOf(entry, config.master));
    assert.deepEqual(a!.policy, { ...CONFIG_DEFAULTS.restart, period: 10_000, maxRestarts: 2, initialDelay: 50, restart: 'permanent' });
    assert.deepEqual(b!.policy, { ...CONFIG_DEFAULTS.restart, period: 10_000, maxRestarts: 9, restart: 'permanent' });
  });

  test('shutdown timeout: the server\'s own, else master.json stopTimeout; the rest of the timing from master.json', async () => {
    const config = await load(appWith({ chat: [{ id: 'a', 'shutdown-timeout': 2500 }, { id: 'b' }] }, { stopTimeout: 7000, startTimeout: 4000 }));
    const [a, b] = config.servers.map((entry) => childSpecOf(entry, config.master));
    assert.equal(a!.shutdownTimeout, 2500);
    assert.equal(b!.shutdownTimeout, 7000);
    assert.equal(a!.startTimeout, 4000);
    assert.equal(a!.heartbeatTimeout, config.master.heartbeatTimeout);
  });

  test('stop order: frontends, then backends, whatever the file order', async () => {
    const config = await load(
      appWith({
        chat: [{ id: 'chat-1' }, { id: 'chat-2' }],
        connector: [{ id: 'conn-1', frontend: true, clientPort: 0 }],
        gate: [{ id: 'gate-1', frontend: true, clientPort: 0 }],
      }),
    );
    const items = config.servers.map((entry) => ({ spec: childSpecOf(entry, config.master) }));
    assert.deepEqual(STOP_GROUPS, ['frontend', 'backend']);
    assert.deepEqual(inStopOrder(items).map((group) => group.map((item) => item.spec.id)), [['conn-1', 'gate-1'], ['chat-1', 'chat-2']]);
    assert.deepEqual(inStopOrder(items.filter((item) => item.spec.stopGroup === 'backend')).length, 1, 'an empty group is left out');
  });

  test('bad values are rejected naming the field', async () => {
    await rejects(appWith({ chat: [{ id: 'a', restart: 'always' }] }), 'restart', /expected one of "permanent", "transient", "temporary"/);
    await rejects(appWith({ chat: [{ id: 'a', restart: 'temporary', 'auto-restart': true }] }), 'auto-restart', /contradicts "restart": "temporary"/);
    await rejects(appWith({ chat: [{ id: 'a', 'restart-policy': { maxRestart: 3 } }] }), 'restart-policy.maxRestart', /unknown field \(known: initialDelay/);
    await rejects(appWith({ chat: [{ id: 'a', 'restart-policy': { factor: 0 } }] }), 'restart-policy.factor', /expected a number of at least 1, got 0/);
    await rejects(appWith({ chat: [{ id: 'a', 'shutdown-timeout': 0 }] }), 'shutdown-timeout', /expected a positive integer number of milliseconds, got 0/);
    // The cap is checked against what the server ends up with: master.json's maxDelay under its own initialDelay.
    await rejects(
      appWith({ chat: [{ id: 'a', 'restart-policy': { initialDelay: 5000 } }] }, { restart: { maxDelay: 1000 } }),
      'restart-policy.maxDelay',
      /must be at least initialDelay \(5000 ms\), got 1000 \(from master.json\)/,
    );
  });

  test('an entry added at runtime is checked the same way', async () => {
    const config = await load(appWith({ chat: [{ id: 'a' }] }, { restart: { maxDelay: 1000 } }));
    const added = parseServerEntry({ serverType: 'chat', id: 'b', restart: 'transient', 'shutdown-timeout': 1200 }, config);
    assert.equal(childSpecOf(added, config.master).restart, 'transient');
    assert.equal(childSpecOf(added, config.master).shutdownTimeout, 1200);
    assert.throws(() => parseServerEntry({ serverType: 'chat', id: 'c', 'restart-policy': { initialDelay: 2000 } }, config), /restart-policy\.maxDelay.*must be at least initialDelay/);
  });
});
