import { channelMachine, type ChannelEvent, type ChannelPort } from '../../machines/channel.ts';
import { MachineRunner } from '../runtime/machine-runner.ts';
import { ChannelDestroyedError } from './errors.ts';

/** What a push reached: the frontends it could not be sent to (Redis or NATS failed for them). */
export interface GlobalPushResult {
  failedSids: string[];
}

/** The calls of globalChannelService a handle makes. */
export interface GlobalChannelCalls {
  add(name: string, uid: string, sid: string): Promise<boolean>;
  leave(name: string, uid: string, sid: string): Promise<boolean>;
  pushMessage(serverType: string, route: string, msg: unknown, name: string): Promise<GlobalPushResult>;
  getMembersByChannelName(serverType: string, name: string): Promise<string[]>;
  destroyChannel(name: string): Promise<void>;
}

/**
 * One global channel as a handle with the local `Channel`'s shape
 * (`globalChannelService.getChannel(name, serverType)`): it runs the same channel machine
 * (`open` → `destroyed`, src/machines/channel.ts), its port carrying each join, leave, push and
 * destroy out on Redis through the service. Every method returns the service's promise. The
 * machine holds no member: membership is only in Redis, shared by every server; `destroyed` is
 * this handle's (another server's handle learns of a destroy by finding the channel empty).
 */
export class GlobalChannel {
  /** @internal The channel machine, driven by this handle. */
  readonly machine: MachineRunner<typeof channelMachine>;
  /** What the port did with the last event, for the method that sent it to return. */
  private outcome: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    /** The frontends' server type pushes and member lists go to (Pomelo's `serverType`). */
    readonly serverType: string,
    private readonly service: GlobalChannelCalls,
  ) {
    const port: ChannelPort = {
      add: (uid, sid) => void (this.outcome = service.add(name, uid, sid)),
      leave: (uid, sid) => void (this.outcome = service.leave(name, uid, sid)),
      push: (route, msg) => void (this.outcome = service.pushMessage(serverType, route, msg, name)),
      release: () => void (this.outcome = service.destroyChannel(name)),
      refuse: (event) => void (this.outcome = Promise.reject(new ChannelDestroyedError(name, event.type === 'JOIN' ? `add user "${event.uid}" (frontend ${event.sid})` : `push "${event.route}"`))),
    };
    this.machine = new MachineRunner(channelMachine, { name, port });
  }

  /** Adds a user; resolves false if it already is a member there. Rejects once the channel is destroyed. */
  add(uid: string, sid: string): Promise<boolean> {
    return this.send({ type: 'JOIN', uid, sid }, true) as Promise<boolean>;
  }

  /** Removes a user; resolves false if it was not a member there (or the channel is destroyed). */
  leave(uid: string, sid: string): Promise<boolean> {
    return this.send({ type: 'LEAVE', uid, sid }, false) as Promise<boolean>;
  }

  /** Pushes to every member on the frontends of `serverType`. Rejects once the channel is destroyed. */
  pushMessage(route: string, msg: unknown): Promise<GlobalPushResult> {
    return this.send({ type: 'PUSH', route, msg }, { failedSids: [] }) as Promise<GlobalPushResult>;
  }

  /** Member uids, on every running frontend of `serverType`. */
  getMembers(): Promise<string[]> {
    return this.service.getMembersByChannelName(this.serverType, this.name);
  }

  /** True once this handle destroyed the channel. */
  get destroyed(): boolean {
    return this.machine.value === 'destroyed';
  }

  /** Removes the channel and all its members from Redis; this handle refuses joins and pushes after. */
  destroy(): Promise<void> {
    return this.send({ type: 'DESTROY' }, undefined) as Promise<void>;
  }

  /** Sends `event` to the machine; the port's promise, or `unchanged` when the machine did nothing. */
  private send(event: ChannelEvent, unchanged: unknown): Promise<unknown> {
    this.outcome = Promise.resolve(unchanged);
    this.machine.send(event);
    return this.outcome;
  }
}
