import { setup } from 'xstate';

/**
 * One channel (Pomelo's `Channel`): a named group of users that pushes reach together. The same
 * machine runs for a local channel (membership in this process's memory) and for a global one
 * (membership in Redis): the difference is all in the `port`.
 *
 * States, as a game developer would say them:
 * - `open`: users join and leave, pushes go to every member. Each is an event the port carries
 *   out on the channel's store (memory for a local channel, Redis for a global one), which alone
 *   knows whether the user was already a member.
 * - `destroyed`: the channel is gone and its membership forgotten. A join or a push is refused
 *   (the port says so to the caller, naming the channel); a leave or a second destroy changes
 *   nothing.
 *
 * No memory per member, and no count either: who is a member, and on which frontend, lives only in
 * the store (see src/actors/channel/channel-store.ts); the machine keeps the channel's name and
 * its port. Joins, leaves and pushes in `open` only run an action, so a `MachineRunner` runs them
 * without a transition step (a push costs a function call, not a snapshot). The machine does no
 * I/O and reads no clock: every effect goes through the `port` given as input.
 */

/** What a channel machine asks of the store and the pushers behind it. */
export interface ChannelPort {
  /** Add the user to the channel's store (nothing if it already is a member). */
  add(uid: string, sid: string): void;
  /** Remove the user from the store, if it is a member on frontend `sid`. */
  leave(uid: string, sid: string): void;
  /** Push `msg` on `route` to every member: one message per frontend. */
  push(route: string, msg: unknown): void;
  /** The channel is destroyed: forget its membership. */
  release(): void;
  /** A join or push came after the channel was destroyed: tell the caller, naming the channel. */
  refuse(event: ChannelJoinEvent | ChannelPushEvent): void;
}

export interface ChannelInput {
  /** The channel's name, as `getChannel(name)` and the store know it. */
  name: string;
  port: ChannelPort;
}

/** All a channel machine holds: its name and port (members are the store's). */
export type ChannelContext = ChannelInput;

/** A user asks to join: `uid` on the frontend `sid` that holds its connection. */
export interface ChannelJoinEvent {
  type: 'JOIN';
  uid: string;
  sid: string;
}

/** A user asks to leave (only the membership on frontend `sid` is removed). */
export interface ChannelLeaveEvent {
  type: 'LEAVE';
  uid: string;
  sid: string;
}

/** A push to every member. */
export interface ChannelPushEvent {
  type: 'PUSH';
  route: string;
  msg: unknown;
}

/** The channel is destroyed (by its owner, or because the store says it is gone). */
export interface ChannelDestroyEvent {
  type: 'DESTROY';
}

/** Every event a channel machine takes. */
export type ChannelEvent = ChannelJoinEvent | ChannelLeaveEvent | ChannelPushEvent | ChannelDestroyEvent;

export const channelMachine = setup({
  types: {
    context: {} as ChannelContext,
    events: {} as ChannelEvent,
    input: {} as ChannelInput,
  },
  actions: {
    add: ({ context, event }) => {
      const { uid, sid } = event as ChannelJoinEvent;
      context.port.add(uid, sid);
    },
    leave: ({ context, event }) => {
      const { uid, sid } = event as ChannelLeaveEvent;
      context.port.leave(uid, sid);
    },
    push: ({ context, event }) => {
      const { route, msg } = event as ChannelPushEvent;
      context.port.push(route, msg);
    },
    release: ({ context }) => context.port.release(),
    refuse: ({ context, event }) => context.port.refuse(event as ChannelJoinEvent | ChannelPushEvent),
  },
}).createMachine({
  id: 'channel',
  context: ({ input }) => ({ ...input }),
  initial: 'open',
  states: {
    open: {
      on: {
        JOIN: { actions: 'add' },
        LEAVE: { actions: 'leave' },
        PUSH: { actions: 'push' },
        DESTROY: { target: 'destroyed', actions: 'release' },
      },
    },
    // Not a final state: it still answers joins and pushes, with a refusal.
    destroyed: {
      on: {
        JOIN: { actions: 'refuse' },
        PUSH: { actions: 'refuse' },
      },
    },
  },
});
