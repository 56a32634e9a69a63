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

/** A global channel call that failed: names the operation (`add`, `pushMessage`, ...) and the channel. */
export class GlobalChannelError extends Error {
  override readonly name = 'GlobalChannelError';
  constructor(
    readonly operation: string,
    readonly channel: string | undefined,
    problem: string,
    options?: ErrorOptions,
  ) {
    super(`globalChannelService.${operation}(${channel === undefined ? '' : JSON.stringify(channel)}): ${problem}`, options);
  }
}
