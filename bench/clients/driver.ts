// The benches' side of the load client (bench/clients/load.ts): fork it, send it commands, get
// typed replies. One command at a time per load process.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { stopChild } from '../children.ts';
import type { LoadCommand, LoadReply } from './load.ts';

const loadEntry = join(import.meta.dirname, 'load.ts');
const tsx = import.meta.resolve('tsx');

type ReplyOf<C extends LoadCommand['cmd']> = Extract<LoadReply, { ok: true; cmd: C }>;

export class LoadClient {
  private waiting: { resolve: (reply: LoadReply) => void; reject: (error: Error) => void } | undefined;

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (reply: LoadReply) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.resolve(reply);
    });
    child.once('exit', (code, signal) => {
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.reject(new Error(`load client ${label} (pid ${child.pid}) exited (code ${code}, signal ${signal})`));
    });
  }

  /** Forks a load process; `nodeArgs` go to its node (e.g. --cpu-prof). */
  static start(label: string, nodeArgs: string[] = []): LoadClient {
    const child = fork(loadEntry, [], {
      execArgv: [...nodeArgs, '--import', tsx],
      stdio: ['ignore', 2, 2, 'ipc'],
      env: process.env,
    });
    return new LoadClient(label, child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Sends one command and waits for its reply; a failed command rejects with the load process's message. */
  async command<C extends LoadCommand>(command: C): Promise<ReplyOf<C['cmd']>> {
    if (this.waiting) throw new Error(`load client ${this.label}: a command is already running`);
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`load client ${this.label} has exited`);
    const reply = await new Promise<LoadReply>((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.child.send(command);
    });
    if (!reply.ok) throw new Error(`load client ${this.label}, ${command.cmd}: ${reply.error}`);
    return reply as ReplyOf<C['cmd']>;
  }

  /** Closes its clients and lets it exit; SIGTERM/SIGKILL if it does not. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    if (!this.waiting && this.child.connected) {
      const closed = this.command({ cmd: 'close' }).catch(() => undefined);
      const timeout = new Promise((resolve) => setTimeout(resolve, 10_000).unref());
      await Promise.race([closed, timeout]);
    }
    await stopChild(this.child);
  }
}
