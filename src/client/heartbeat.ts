/** Heartbeats on a connection: answering the server's, and noticing when it goes silent, on the connection's clock. */
import { encodePackage, PackageType } from '../transport/connector/protocol.ts';
import type { Connection } from './connection.ts';

/** Answers a heartbeat of the server `heartbeat` seconds later (Pomelo's rhythm), once per interval. */
export function answerHeartbeat(connection: Connection): void {
  if (connection.state === 'working' && connection.heartbeatMs > 0 && connection.nextHeartbeat === undefined) {
    connection.nextHeartbeat = connection.clock.setTimeout(() => {
      connection.nextHeartbeat = undefined;
      if (connection.state === 'working') connection.transport.send(encodePackage(PackageType.Heartbeat));
    }, connection.heartbeatMs);
  }
}

/** (Re)starts the silence watch: `onSilent` gets its error after two intervals with nothing from `target`. */
export function watchSilence(connection: Connection, target: string, onSilent: (error: Error) => void): void {
  clearTimer(connection, connection.silence);
  connection.silence = connection.clock.setTimeout(() => {
    onSilent(new Error(`nothing from ${target} for ${(2 * connection.heartbeatMs) / 1000} s`));
  }, 2 * connection.heartbeatMs);
}

export function stopHeartbeats(connection: Connection): void {
  clearTimer(connection, connection.nextHeartbeat);
  clearTimer(connection, connection.silence);
  connection.nextHeartbeat = undefined;
  connection.silence = undefined;
}

function clearTimer(connection: Connection, handle: unknown): void {
  if (handle !== undefined) connection.clock.clearTimeout(handle);
}
