import type { MasterEvent } from '../../machines/master.ts';

/**
 * Who leads the cluster: what the master runtime asks once it has connected, in the shape of
 * Apache Curator's LeaderLatch listener. Today there is one master and it leads at once
 * (`LeadImmediately`); master HA plugs a ZooKeeper election in here.
 */
export interface Leadership {
  /**
   * Joins the election; called once. The listener is told the outcome, asynchronously (never from
   * inside `campaign`), and again each time it changes: `elected` when this master is the leader,
   * `standby` when another one is and this one waits, `lost` when a leader stops being one (its
   * session expired, say). After `lost`, a later `elected` may follow.
   */
  campaign(listener: LeadershipListener): void;
  /**
   * Leaves the election (the master is stopping): gives up leadership if held, and calls the
   * listener no more. Safe without a campaign, and more than once.
   */
  resign(): Promise<void>;
}

export interface LeadershipListener {
  elected(): void;
  standby(): void;
  lost(reason: string): void;
}

/** The only master there is leads: `elected` on the next microtask, when the machine is `electing`. */
export class LeadImmediately implements Leadership {
  private resigned = false;

  campaign(listener: LeadershipListener): void {
    queueMicrotask(() => {
      if (!this.resigned) listener.elected();
    });
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
    elected: () => send({ type: 'ELECTED', at: now() }),
    standby: () => send({ type: 'STANDBY' }),
    lost: (reason) => send({ type: 'LEADERSHIP_LOST', reason }),
  };
}
