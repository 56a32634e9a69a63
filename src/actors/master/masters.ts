import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { decode, encode } from '../../transport/codec.ts';
import { subscribeGuarded } from '../../transport/inbound.ts';
import type { Subjects } from '../../transport/subjects.ts';
import { checkMasterInfo, checkMastersRequest } from '../../transport/wire-check.ts';
import type { MasterInfo, MastersRequest } from '../../transport/wire.ts';

/** How long the gathering waits for one more master once answers stop coming, and at most in all. */
const STALL_MS = 100;
const MAX_WAIT_MS = 1_000;

/**
 * The cluster's masters on NATS (`<base>.masters`): this master answers who it is, and asks who
 * the others are, for `shaddock list` and for the check a starting master makes before it
 * campaigns.
 */
export class MastersSubject {
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    /** This master as it is now. */
    private readonly self: () => MasterInfo,
  ) {}

  /** Answers every `masters` request from now on. */
  answer(): void {
    this.subscription ??= subscribeGuarded(this.nc, this.subjects.masters, {
      kind: 'masters',
      check: checkMastersRequest,
      handle: (_request, msg) => msg.respond(encode(this.self())),
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Every other master that answers (not this process), in id order; a malformed answer is left out. */
  async others(): Promise<MasterInfo[]> {
    const me = this.self();
    const found: MasterInfo[] = [];
    try {
      const replies = await this.nc.requestMany(this.subjects.masters, encode({} satisfies MastersRequest), { strategy: 'stall', stall: STALL_MS, maxWait: MAX_WAIT_MS });
      for await (const msg of replies) {
        let info: MasterInfo;
        try {
          info = checkMasterInfo(decode(msg.data));
        } catch {
          continue;
        }
        if (info.pid === me.pid && info.id === me.id) continue;
        found.push(info);
      }
    } catch {
      // No responders: no other master.
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}

/** `master-server-1 (pid 4242 on 127.0.0.1, leading.running)`. */
export function describeMaster(info: MasterInfo): string {
  return `${info.id} (pid ${info.pid} on ${info.host}, ${info.state})`;
}
