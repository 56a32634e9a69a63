/** What the relay needs of a supervised server. */
export interface Signallable {
  readonly id: string;
  /** Its current process, if it has one. */
  readonly pid: number | undefined;
  sendSignal(signal: NodeJS.Signals): void;
}

/**
 * Passes a SIGHUP the master gets (logrotate's `postrotate`) on to its servers, so that each
 * reopens the log file too. Only to a process that has heartbeated: it has made its app, so
 * SIGHUP reopens its log there. Before that, Node's default for SIGHUP (exit) would still hold,
 * so a process that has not been heard from yet gets its SIGHUP with its first heartbeat.
 */
export class HangupRelay {
  /** Server id → the pid that has heartbeated. */
  private readonly heard = new Map<string, number>();
  /** Server id → the pid owed a SIGHUP once it heartbeats. */
  private readonly owed = new Map<string, number>();

  constructor(private readonly servers: () => Iterable<Signallable>) {}

  /** The master got SIGHUP. */
  hangUp(): void {
    for (const server of this.servers()) {
      const pid = server.pid;
      if (pid === undefined) continue; // Its next process opens the file afresh.
      if (this.heard.get(server.id) === pid) server.sendSignal('SIGHUP');
      else this.owed.set(server.id, pid);
    }
  }

  /** A heartbeat from `server`'s process `pid`. */
  heartbeat(server: Signallable, pid: number): void {
    this.heard.set(server.id, pid);
    const owed = this.owed.get(server.id);
    if (owed === undefined) return;
    if (owed === pid && server.pid === pid) server.sendSignal('SIGHUP');
    // Owed to this process, or to one that has gone (its successor opened the file afresh).
    if (owed === pid || server.pid !== owed) this.owed.delete(server.id);
  }
}
