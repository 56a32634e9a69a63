import type { MasterEvent } from '../../machines/master.ts';

/**
 * Who leads the cluster: what the master runtime asks once it has connected, in the shape of
 * Apache Curator's LeaderLatch listener. With one master it leads at once (`LeadImmediately`);
 * master HA plugs a ZooKeeper election in here (`ZooKeeperLeadership`).
 */
export interface Leadership {
  /**
   * Joins the election as `self`; called once. The listener is told the outcome, asynchronously
   * (never from inside `campaign`), and again each time it changes (see {@link LeadershipListener}).
   */
  campaign(self: Candidate, listener: LeadershipListener): void;
  /**
   * Leaves the election (the master is stopping): gives up leadership if held (a standby leads at
   * once), and calls the listener no more. Safe without a campaign, and more than once.
   */
  resign(): Promise<void>;
  /**
   * The cluster's control key, shared by every master of the cluster so that a new leader can
   * command the servers an old one spawned: read from the election's store, or stored there from
   * `fresh()` by the first master that asks. Never travels over NATS.
   */
  controlKey(fresh: () => string): Promise<string>;
}

/** A master as the election knows it, and as the leader records itself. */
export interface Candidate {
  id: string;
  host: string;
  port: number;
  pid: number;
}

/** The current leader, as recorded by it: a candidate plus its term's epoch. */
export interface LeaderRecord extends Candidate {
  epoch: number;
}

/**
 * The outcome of a campaign, in the order it can happen:
 * `standby` ⇄ `elected` → (`suspended` → `resumed`)* → `lost` → `standby`/`elected` …
 */
export interface LeadershipListener {
  /**
   * This master leads. `epoch` is the term's fencing token: greater than every earlier leader's
   * (ZooKeeper: the lock node's czxid), so servers can ignore a deposed master.
   */
  elected(epoch: number): void;
  /** Another master leads (`leader`, when its record could be read) or is being chosen; this one waits. */
  standby(leader: LeaderRecord | undefined): void;
  /**
   * The connection to the election's store is lost but the session may still be alive: a leader
   * must stop issuing commands at once (its servers keep serving) until `resumed` or `lost`.
   */
  suspended(reason: string): void;
  /** The connection came back within the session: still the leader of the same epoch. */
  resumed(): void;
  /** Leadership is gone for sure (session expired or not confirmed in time); a new campaign follows. */
  lost(reason: string): void;
}

/** The only master there is leads: `elected` on the next microtask, when the machine is `electing`. */
export class LeadImmediately implements Leadership {
  private resigned = false;

  /** The single master's epoch: its start time, so a restarted single master supersedes the old one. */
  constructor(private readonly epoch: () => number = () => Date.now()) {}

  campaign(_self: Candidate, listener: LeadershipListener): void {
    queueMicrotask(() => {
      if (!this.resigned) listener.elected(this.epoch());
    });
  }

  async controlKey(fresh: () => string): Promise<string> {
    return fresh();
  }

  async resign(): Promise<void> {
    this.resigned = true;
  }
}

/**
 * The listener that turns a campaign's outcome into master machine events; `now` gives the epoch
 * ms an `ELECTED` carries (the machine reads no clock itself).
 */
export function leadershipEvents(send: (event: MasterEvent) => void, now: () => number): LeadershipListener {
  return {
    elected: (epoch) => send({ type: 'ELECTED', at: now(), epoch }),
    standby: () => send({ type: 'STANDBY' }),
    suspended: (reason) => send({ type: 'SUSPENDED', reason }),
    resumed: () => send({ type: 'RESUMED' }),
    lost: (reason) => send({ type: 'LEADERSHIP_LOST', reason }),
  };
}
