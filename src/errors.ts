/**
 * Errors a caller of Shaddock's RPC can meet. Each names the server type, server id, remote and
 * method involved, so a log line alone says what went wrong where.
 */

/** Base of every RPC error; `code` is a stable string to branch on. */
export class RpcError extends Error {
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The remote did not answer within the call's timeout. */
export class RpcTimeoutError extends RpcError {
  constructor(
    readonly serverId: string,
    readonly remote: string,
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`rpc ${remote}.${method} on server "${serverId}" timed out after ${timeoutMs} ms`, 'RPC_TIMEOUT');
  }
}

/** The remote method threw: the message and code are the ones it threw with. */
export class RemoteError extends RpcError {
  constructor(
    message: string,
    code: string,
    readonly serverId: string,
    readonly remote: string,
    readonly method: string,
    readonly remoteName: string,
  ) {
    super(message, code);
  }
}

/** No server type of that name is configured or running. */
export class UnknownServerTypeError extends RpcError {
  constructor(readonly serverType: string, known: readonly string[]) {
    super(`unknown server type "${serverType}" (known: ${known.join(', ') || 'none'})`, 'UNKNOWN_SERVER_TYPE');
  }
}

/** The server type exists but no server of it is connected right now. */
export class NoServerAvailableError extends RpcError {
  constructor(readonly serverType: string) {
    super(`no server of type "${serverType}" is connected`, 'NO_SERVER_AVAILABLE');
  }
}

/** The chosen server is not connected (or does not exist). */
export class ServerUnavailableError extends RpcError {
  constructor(readonly serverId: string) {
    super(`server "${serverId}" is not connected`, 'SERVER_UNAVAILABLE');
  }
}

/**
 * This process's NATS connection is down (nats.js is reconnecting): the call was not sent, or was
 * sent and can no longer be answered, so it fails now instead of at its timeout. Retrying once
 * NATS is back is safe for a call that was never sent; `sent` says which.
 */
export class BusUnavailableError extends RpcError {
  constructor(
    readonly serverId: string,
    readonly remote: string,
    readonly method: string,
    /** Whether the request had left before the connection went. */
    readonly sent: boolean,
  ) {
    super(
      sent
        ? `${remote}.${method} on server "${serverId}" got no answer: the NATS connection was lost while it waited (reconnecting)`
        : `${remote}.${method} on server "${serverId}" was not sent: no NATS connection (reconnecting)`,
      'BUS_UNAVAILABLE',
    );
  }
}

/** The server has no remote of that name, or the remote has no such method. */
export class UnknownRemoteError extends RpcError {
  constructor(serverId: string, remote: string, method: string, known: readonly string[]) {
    super(
      `server "${serverId}" has no remote method ${remote}.${method} (it has: ${known.join(', ') || 'none'})`,
      'UNKNOWN_REMOTE',
    );
  }
}

/** A route function returned something that is not a server of the type it routes. */
export class RouteError extends RpcError {
  constructor(serverType: string, detail: string) {
    super(`route function for server type "${serverType}" ${detail}`, 'BAD_ROUTE');
  }
}

/** A client asked for a route no handler serves (`serverType.handler.method`). */
export class UnknownRouteError extends RpcError {
  constructor(route: string) {
    super(`unknown route "${route}"`, 'UNKNOWN_ROUTE');
  }
}
