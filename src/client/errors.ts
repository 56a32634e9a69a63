/** The errors the client rejects connects and requests with (ProtocolError comes from the protocol). */

/** The handshake was refused: 500 (bad handshake) or 501 (client too old). */
export class HandshakeError extends Error {
  constructor(readonly code: number) {
    super(`handshake refused by the server with code ${code}${code === 501 ? ' (client version too old)' : code === 500 ? ' (bad handshake)' : ''}`);
    this.name = 'HandshakeError';
  }
}

/** A request that cannot complete because the client is not (or no longer) connected. */
export class DisconnectedError extends Error {
  constructor(
    readonly route: string,
    detail: string,
  ) {
    super(`request "${route}" failed: ${detail}`);
    this.name = 'DisconnectedError';
  }
}

/** No response in time. */
export class RequestTimeoutError extends Error {
  constructor(
    readonly route: string,
    readonly timeout: number,
  ) {
    super(`request "${route}" got no response within ${timeout} ms`);
    this.name = 'RequestTimeoutError';
  }
}
