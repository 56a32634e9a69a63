/** A data message from the server: the response that settles its request, or a push for the listeners. */
import { decodeMessage, MessageType, ProtocolError } from '../transport/connector/protocol.ts';
import type { RouteDictionary } from './dictionary.ts';
import type { Listeners } from './emitter.ts';
import type { RequestTable } from './requests.ts';
import { parseJson } from './wire.ts';

/** Throws a {@link ProtocolError} when the message is malformed or not one a client can get. */
export function deliverMessage(bytes: Uint8Array, requests: RequestTable, dictionary: RouteDictionary, listeners: Listeners): void {
  const message = decodeMessage(bytes);
  const bodyAt = bytes.length - message.body.length;
  if (message.gzip) throw new ProtocolError('gzip-compressed message bodies are not supported', 0);
  if (message.type === MessageType.Response) {
    if (!requests.has(message.id)) return; // timed out already
    const body = message.body.length ? parseJson(message.body, bodyAt, 'response') : {};
    requests.resolve(message.id, body);
    return;
  }
  if (message.type !== MessageType.Push) throw new ProtocolError(`unexpected message type ${message.type} from the server`, 0);
  let route: string;
  if (typeof message.route === 'number') {
    const known = dictionary.routeOf(message.route);
    if (known === undefined) {
      listeners.emit('error', new ProtocolError(`push with route code ${message.route}, which is not in the dictionary`, 1));
      return;
    }
    route = known;
  } else {
    route = message.route;
  }
  listeners.emit(route, message.body.length ? parseJson(message.body, bodyAt, `push "${route}"`) : {});
}
