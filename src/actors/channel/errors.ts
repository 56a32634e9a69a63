/** A join or push reached a channel that was destroyed: `code` is `CHANNEL_DESTROYED`. */
export class ChannelDestroyedError extends Error {
  readonly code = 'CHANNEL_DESTROYED';

  /**
   * @param channel the channel's name
   * @param operation what was refused, as the caller would say it: `add user "alice" (frontend connector-1)`
   */
  constructor(
    readonly channel: string,
    readonly operation: string,
  ) {
    super(`channel "${channel}" is destroyed: cannot ${operation} (get the channel again with getChannel(name, true))`);
    this.name = 'ChannelDestroyedError';
  }
}
