// Shared by the NATS set-up tests (nats-auth, nats-isolation): a work folder under the repo,
// copies of the JavaScript fixture app with a master.json of the test's, nats-servers with a
// configuration text.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerRow } from '../../src/transport/wire.ts';
import { repoRoot } from './cluster.ts';
import { startNats, type RunningService } from './services.ts';

/** A folder for one test file, under the repo (gitignored), so that apps copied there resolve `shaddock` and nats.js as the fixtures do. */
export function workDir(name: string): string {
  const dir = join(repoRoot, 'test/.tmp', `${name}-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A nats-server with this configuration text, written to a file in `work`. */
export async function natsWith(work: string, name: string, config: string): Promise<RunningService> {
  const file = join(work, `${name}.conf`);
  writeFileSync(file, config);
  return startNats({ configFile: file });
}

/** A copy of test/fixtures/embed-app (JavaScript) in `work/<name>` with this master.json entry for env `test`. */
export function appWith(work: string, name: string, master: Record<string, unknown>): string {
  const dir = join(work, name);
  cpSync(join(repoRoot, 'test/fixtures/embed-app'), dir, { recursive: true });
  writeFileSync(join(dir, 'config/master.json'), JSON.stringify({ test: { id: 'master-1', host: '127.0.0.1', heartbeatInterval: 200, stopTimeout: 5000, ...master } }));
  return dir;
}

/** `id:state` of each row, sorted. */
export function ids(rows: ServerRow[]): string[] {
  return rows.map((row) => `${row.id}:${row.state}`).sort();
}

/** What `list` shows for the fixture app once it is up. */
export const upAndRunning = ['echo-1:connected', 'master-1:leading.running'];
