/** Where the leading master serves the web console: master.json's host and `port`, or `SHADDOCK_CONSOLE_PORT`. */
import type { MasterConfig } from './types.ts';

/** The console's listening address; `port` 0 means any free port (tests). */
export interface ConsoleAddress {
  host: string;
  port: number;
}

/**
 * The console's address: master.json's `host` (127.0.0.1 by default) and `port`, the port
 * overridden by `SHADDOCK_CONSOLE_PORT` (0: any free port). `undefined` when neither gives a port:
 * that master serves no console.
 *
 * @example
 * ```ts
 * consoleAddress({ ...master, host: '127.0.0.1', port: 3005 }, {}); // { host: '127.0.0.1', port: 3005 }
 * consoleAddress(master, { SHADDOCK_CONSOLE_PORT: '0' }); // { host: master.host, port: 0 }
 * ```
 * @throws {Error} naming `SHADDOCK_CONSOLE_PORT` when it is set to anything but a port number.
 */
export function consoleAddress(master: Pick<MasterConfig, 'host' | 'port'>, environment: NodeJS.ProcessEnv = process.env): ConsoleAddress | undefined {
  const raw = environment['SHADDOCK_CONSOLE_PORT'];
  if (raw !== undefined && raw !== '') {
    const port = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isInteger(port) || port > 65535) {
      throw new Error(`SHADDOCK_CONSOLE_PORT: expected an integer port (0-65535; 0 = any free port), got ${JSON.stringify(raw)}`);
    }
    return { host: master.host, port };
  }
  return master.port === undefined ? undefined : { host: master.host, port: master.port };
}
