// The restart bench's baseline: a bare supervisor on plain node. It forks bare-echo.mjs on plain
// node (no loader, like Shaddock's compiled servers) and, whenever that child dies, forks it again at once: no backoff,
// no machines, no master. Each time a child says it is ready it prints "ready <pid> <forkedAt>
// <readyAt>" (epoch ms) on stdout; on SIGTERM or SIGINT it stops its child and exits.
import { fork } from 'node:child_process';
import { join } from 'node:path';

const childEntry = join(import.meta.dirname, 'bare-echo.mjs');
let child;
let stopping = false;

function start() {
  const forkedAt = Date.now();
  const current = fork(childEntry, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  child = current;
  current.on('message', (message) => {
    if (message === 'ready') process.stdout.write(`ready ${current.pid} ${forkedAt} ${Date.now()}\n`);
  });
  current.once('exit', () => {
    if (stopping) process.exit(0);
    start();
  });
}

const stop = () => {
  stopping = true;
  if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(0);
  child.kill('SIGTERM');
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
start();
