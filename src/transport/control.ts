/**
 * Proof that a control command (`stop` or `adopt` on `sys.<serverId>`) comes from the master that
 * leads the server's cluster: an HMAC-SHA256 with the cluster's control key (handed to each server
 * at spawn, through the environment or the run file for a server started by hand, and shared by
 * the masters of an HA cluster through ZooKeeper; never on the bus), over the target server, its
 * pid, the command, a timestamp, a nonce and the master's epoch. A server accepts a command only
 * when the MAC is right, the timestamp is within {@link CONTROL_WINDOW} of its own clock, it has
 * not seen the MAC before, and the epoch is not below the highest it has obeyed (fencing: a
 * deposed master's commands are refused once a newer leader has spoken); the pid binds a command
 * to one process, so it cannot be replayed at the next one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** How far a command's timestamp may be from the server's clock, in ms either way. */
export const CONTROL_WINDOW = 30_000;

/** The authenticated part of a control command, as it travels in a `SysCommand`. */
export interface ControlProof {
  /** Epoch ms at which the master signed it. */
  at: number;
  /** Random, hex: two commands signed in the same ms differ. */
  nonce: string;
  /** The signing master's term (fencing token): grows from leader to leader. */
  epoch: number;
  /** HMAC-SHA256 (hex) of `serverId|pid|command|at|nonce|epoch` with the control key. */
  mac: string;
}

/** A fresh control key, hex. */
export function newControlKey(): string {
  return randomBytes(32).toString('hex');
}

function mac(key: string, serverId: string, pid: number, command: string, at: number, nonce: string, epoch: number): string {
  return createHmac('sha256', Buffer.from(key, 'hex')).update(`${serverId}|${pid}|${command}|${at}|${nonce}|${epoch}`).digest('hex');
}

/** Signs `command` for the process `pid` of `serverId`, as the master of term `epoch`. */
export function signControl(key: string, serverId: string, pid: number, command: string, at: number, epoch: number): ControlProof {
  const nonce = randomBytes(8).toString('hex');
  return { at, nonce, epoch, mac: mac(key, serverId, pid, command, at, nonce, epoch) };
}

/** A server's side: checks commands addressed to it, remembering those it took within the window. */
export class ControlVerifier {
  private readonly seen = new Map<string, number>();
  private highest: number;

  constructor(
    /** The key, or undefined when this process was given none: then every command is refused. */
    private readonly key: string | undefined,
    private readonly serverId: string,
    private readonly pid: number,
    /** Epoch ms now (the runtime's clock). */
    private readonly now: () => number,
    /** The epoch of the master that started this process: no older one is obeyed. */
    epoch = 0,
  ) {
    this.highest = epoch;
  }

  /** The highest master epoch this server has obeyed (or was started with). */
  get epoch(): number {
    return this.highest;
  }

  /** Why `command` with `proof` is refused, or undefined when it is genuine and new. */
  refuse(command: string, proof: Partial<ControlProof>): string | undefined {
    if (this.key === undefined) return 'this server was given no control key (started without its master); stop it with a signal';
    const { at, nonce, epoch, mac: given } = proof;
    if (typeof at !== 'number' || typeof nonce !== 'string' || typeof given !== 'string' || typeof epoch !== 'number') return 'unsigned control command';
    const now = this.now();
    if (Math.abs(now - at) > CONTROL_WINDOW) return `control command signed ${Math.round((now - at) / 1000)} s from this server's clock (window ±${CONTROL_WINDOW / 1000} s)`;
    const expected = Buffer.from(mac(this.key, this.serverId, this.pid, command, at, nonce, epoch), 'hex');
    const actual = Buffer.from(given, 'hex');
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return 'control command with a wrong signature (not from this server\'s master, or for another process)';
    for (const [seen, when] of this.seen) if (Math.abs(now - when) > CONTROL_WINDOW) this.seen.delete(seen);
    if (this.seen.has(given)) return 'replayed control command';
    if (epoch < this.highest) return `${command} from a deposed master (epoch ${epoch}; this server follows epoch ${this.highest})`;
    this.seen.set(given, at);
    this.highest = epoch;
    return undefined;
  }
}
