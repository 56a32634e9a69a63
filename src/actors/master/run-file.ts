import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a running master leaves in `<app>/.shaddock/<env>.json` so that the CLI on the same machine
 * can find it: where NATS is (it may be an embedded broker on a random port) and the admin token
 * (which may have been made up at start). Readable by the owner only.
 */
export interface RunFile {
  masterId: string;
  masterPid: number;
  env: string;
  nats: string[];
  adminToken: string;
  /** The key control commands are signed with (transport/control.ts), for servers started by hand. */
  controlKey?: string;
  prefix: string;
  cluster: string;
  startedAt: number;
  /** pid of the embedded nats-server, when the master started one. */
  embeddedNatsPid?: number;
  /** The web console's address (`http://127.0.0.1:3005/`), once the leader serves it. */
  console?: string;
}

export function runFilePath(dir: string, env: string): string {
  return join(dir, '.shaddock', `${env}.json`);
}

export function writeRunFile(dir: string, info: RunFile): void {
  mkdirSync(join(dir, '.shaddock'), { recursive: true, mode: 0o700 });
  writeFileSync(runFilePath(dir, info.env), JSON.stringify(info, null, 2), { mode: 0o600 });
}

export function readRunFile(dir: string, env: string): RunFile | undefined {
  try {
    return JSON.parse(readFileSync(runFilePath(dir, env), 'utf8')) as RunFile;
  } catch {
    return undefined;
  }
}

export function removeRunFile(dir: string, env: string, masterPid: number): void {
  // Only the master that wrote it removes it: a second master must not erase the first's.
  if (readRunFile(dir, env)?.masterPid === masterPid) rmSync(runFilePath(dir, env), { force: true });
}
