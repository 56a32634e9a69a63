// `shaddock inspect` as a child process of a test: its stdout parsed line by line.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './cluster.ts';

const cli = join(repoRoot, 'bin/shaddock.js');

/** One `--json` line of `shaddock inspect`. */
export interface Line {
  server: string;
  actor: string;
  machine: string;
  state: string;
  event: string;
  at: number;
}

/** `shaddock inspect <args>` as a child, its stdout parsed line by line; resolves once it says it is watching. */
export async function startInspect(args: string[]): Promise<{ child: ChildProcess; lines: Line[]; raw: string[]; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [cli, 'inspect', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const raw: string[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const part of parts) {
      raw.push(part);
      if (args.includes('--json')) lines.push(JSON.parse(part) as Line);
    }
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (/watching \S+ \(lease/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`shaddock inspect exited (${code}) before watching: ${stderr}`)));
  });
  return { child, lines, raw, stderr: () => stderr, exited };
}
