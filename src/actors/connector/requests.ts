import { gunzipSync } from 'node:zlib';
import type { Logger } from '../../logger.ts';
import { InFlight } from '../../transport/in-flight.ts';
import { decodeMessage, encodeDataPackage, MessageType, ProtocolError, type Message } from '../../transport/connector/protocol.ts';
import type { Connection } from './connection.ts';
import type { RouteDictionary } from './dictionary.ts';
import { json, text } from './json.ts';
import type { ParsedRoute, RouteRequest } from './types.ts';

/** The Pomelo error response a client gets when its request could not be served. */
export function errorResponse(error: unknown): { code: 500; message: string } {
  return { code: 500, message: error instanceof Error ? error.message : String(error) };
}

/**
 * A working client's requests and notifies: decoded, routed (`route` is wired to local handlers
 * or to another server over NATS), answered. Counts what is in flight so that a draining
 * frontend can wait for it.
 */
export class Requests {
  private readonly inFlight = new InFlight();

  constructor(
    private readonly route: RouteRequest,
    private readonly dictionary: RouteDictionary | undefined,
    private readonly logger: Logger,
  ) {}

  /** Resolves when no request is being handled. */
  settle(): Promise<void> {
    return this.inFlight.idle();
  }

  /** One data package from a working client. */
  dispatch(connection: Connection, body: Uint8Array): void {
    let message: Message;
    try {
      message = decodeMessage(body);
      if (message.type !== MessageType.Request && message.type !== MessageType.Notify) {
        throw new ProtocolError(`clients send requests and notifies, not message type ${message.type}`, 0);
      }
    } catch (error) {
      connection.machine.send({ type: 'INVALID', reason: (error as Error).message });
      return;
    }
    const isRequest = message.type === MessageType.Request;
    let route: ParsedRoute;
    let msg: unknown;
    try {
      route = this.parseRoute(message);
      msg = parseBody(message);
    } catch (error) {
      if (isRequest) this.respond(connection, message.id, errorResponse(error));
      else this.logger.debug({ err: error, session: connection.session.id }, 'notify dropped');
      return;
    }
    this.inFlight.begin();
    let outcome: Promise<unknown>;
    try {
      outcome = this.route(route, msg, connection.session);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (response) => {
        if (isRequest) this.respond(connection, message.id, response);
        this.inFlight.end();
      },
      (error: unknown) => {
        if (isRequest) this.respond(connection, message.id, errorResponse(error));
        else this.logger.warn({ err: error, route: route.route }, 'notify handler failed');
        this.inFlight.end();
      },
    );
  }

  private respond(connection: Connection, id: number, response: unknown): void {
    if (!connection.working) return;
    let bytes: Uint8Array;
    try {
      bytes = encodeDataPackage({ type: MessageType.Response, id, route: '', compressRoute: false, body: json(response) });
    } catch (error) {
      // A response that cannot be encoded (a handler's cyclic object, a body over 16 MiB): the
      // client gets the error instead, and the server goes on.
      this.logger.error({ err: error, session: connection.session.id }, 'response not sent');
      bytes = encodeDataPackage({ type: MessageType.Response, id, route: '', compressRoute: false, body: json(errorResponse(error)) });
    }
    connection.link.send(bytes);
  }

  private parseRoute(message: Message): ParsedRoute {
    let route: string;
    if (message.compressRoute) {
      const found = this.dictionary?.route(message.route as number);
      if (found === undefined) throw new Error(`unknown route code ${String(message.route)}`);
      route = found;
    } else {
      route = message.route as string;
    }
    const parts = route.split('.');
    if (parts.length !== 3 || parts.some((part) => part === '')) {
      throw new Error(`bad route "${route}": expected serverType.handler.method`);
    }
    return { route, serverType: parts[0]!, handler: parts[1]!, method: parts[2]! };
  }
}

function parseBody(message: Message): unknown {
  let bytes = message.body;
  if (message.gzip) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`body flagged gzip does not decompress: ${(error as Error).message}`);
    }
  }
  if (bytes.length === 0) return {};
  try {
    return JSON.parse(text(bytes));
  } catch (error) {
    throw new Error(`malformed JSON body: ${(error as Error).message}`);
  }
}
