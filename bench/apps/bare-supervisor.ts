// The restart bench's baseline: a bare supervisor. It forks bare-echo.ts (with the same tsx loader
// Shaddock's servers run under) and, whenever that child dies, forks it again at once: no backoff,
// no machines, no master. Each time a child says it is ready it prints "ready <pid> <forkedAt>
// <readyAt>" (epoch ms) on stdout; on SIGTERM or SIGINT it stops its child and exits.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const childEntry = join(import.meta.dirname, 'bare-echo.ts');
const loader = ['--import', import.meta.resolve('tsx')];
let child: ChildProcess | undefined;
let stopping = false;

function start(): void {
  const forkedAt = Date.now();
  const current = fork(childEntry, [], { execArgv: loader, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  child = current;
  current.on('message', (message) => {
    if (message === 'ready') process.stdout.write(`ready ${current.pid} ${forkedAt} ${Date.now()}\n`);
  });
  current.once('exit', () => {
    if (stopping) process.exit(0);
    start();
  });
}

const stop = (): void => {
  stopping = true;
  if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(0);
  child.kill('SIGTERM');
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
start();
