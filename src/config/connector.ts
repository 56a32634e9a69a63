/**
 * A frontend's client settings (`app.set('connectorConfig', {...})`, Pomelo's key): their
 * defaults and their validation, beside the other defaults. Set in code rather than in a file, so
 * checked without the file validator when the frontend starts; a bad or unknown field stops
 * the start with a message naming it.
 */
import { ConfigError } from './errors.ts';

/** What `connectorConfig` is called in error messages (it is not a file). */
export const CONNECTOR_CONFIG = "app.set('connectorConfig')";

/** Defaults of the connector's settings. */
export const CONNECTOR_DEFAULTS = Object.freeze({
  /** Seconds between client heartbeats, told to clients in the handshake (0 = none). */
  heartbeat: 10,
  /** Client silence that drops it is this many heartbeat intervals when `heartbeatTimeout` is not given. */
  heartbeatTimeoutFactor: 2,
  /** Send the route dictionary in the handshake and accept compressed routes. */
  useDict: true,
  /** Largest package body a client may send, in bytes; a bigger one closes it. */
  maxPackageSize: 64 * 1024,
  /**
   * ms a client has to complete the handshake; also, counted from accept, to send its first byte
   * and, over WebSocket, its whole HTTP request head with the upgrade done.
   */
  handshakeTimeout: 10_000,
  /**
   * Bytes a WebSocket client's HTTP request head (request line and headers) may take; a bigger one
   * is answered 431 and closed. Half Node's 16 KiB: a Pomelo client's upgrade is a few hundred
   * bytes, and 8 KiB is what nginx and Apache allow a header line by default, room for cookies.
   */
  maxHeaderSize: 8 * 1024,
  /** Bytes queued towards a client beyond which it is dropped as too slow. */
  maxBufferedBytes: 4 * 1024 * 1024,
  /** ms a closing session waits for its peer before its socket is destroyed. */
  closeTimeout: 1_000,
});

/** The connector's numeric and flag settings, complete. */
export interface ConnectorSettings {
  heartbeatSeconds: number;
  /** ms of client silence after which it is dropped. */
  idleTimeout: number;
  useDict: boolean;
  maxPackageSize: number;
  handshakeTimeout: number;
  maxHeaderSize: number;
  maxBufferedBytes: number;
  closeTimeout: number;
}

/** Fields of `connectorConfig` that are functions, passed through as they are. */
const FUNCTION_FIELDS = ['checkClient', 'handshake'] as const;
const NUMBER_FIELDS = ['heartbeat', 'heartbeatTimeout', 'maxPackageSize', 'handshakeTimeout', 'maxHeaderSize', 'maxBufferedBytes'] as const;
/** Of those, the ones Node takes as whole numbers only. */
const INTEGER_FIELDS: readonly string[] = ['maxHeaderSize'];
const KNOWN = [...NUMBER_FIELDS, 'useDict', ...FUNCTION_FIELDS];

/**
 * The settings `connectorConfig` asks for, defaults applied.
 *
 * @throws {ConfigError} naming the field, for a wrong value or a field the connector does not
 *   know (Pomelo's `useProtobuf`, for one: a setting that would silently do nothing).
 */
export function connectorSettings(config: Record<string, unknown>, where: { env: string; serverId: string }): ConnectorSettings {
  const fail = (field: string, problem: string): never => {
    throw new ConfigError(problem, { file: CONNECTOR_CONFIG, env: where.env, serverId: where.serverId, field });
  };
  for (const key of Object.keys(config)) {
    if (!KNOWN.includes(key)) fail(key, `unknown field (known: ${KNOWN.join(', ')})`);
  }
  for (const field of NUMBER_FIELDS) {
    const value = config[field];
    if (value === undefined) continue;
    // A heartbeat may be 0 (no heartbeats); every other limit must be positive.
    const integer = INTEGER_FIELDS.includes(field);
    const ok = typeof value === 'number' && Number.isFinite(value) && (field === 'heartbeat' ? value >= 0 : value > 0) && (!integer || Number.isInteger(value));
    const wanted = field === 'heartbeat' ? 'a number of seconds, 0 or more' : integer ? 'a positive integer' : 'a positive number';
    if (!ok) fail(field, `expected ${wanted}, got ${JSON.stringify(value)}`);
  }
  if (config.useDict !== undefined && typeof config.useDict !== 'boolean') fail('useDict', `expected true or false, got ${JSON.stringify(config.useDict)}`);
  for (const field of FUNCTION_FIELDS) {
    if (config[field] !== undefined && typeof config[field] !== 'function') fail(field, `expected a function, got ${typeof config[field]}`);
  }
  const number = (field: (typeof NUMBER_FIELDS)[number]): number | undefined => config[field] as number | undefined;
  const heartbeatSeconds = number('heartbeat') ?? CONNECTOR_DEFAULTS.heartbeat;
  const timeoutSeconds = number('heartbeatTimeout') ?? heartbeatSeconds * CONNECTOR_DEFAULTS.heartbeatTimeoutFactor;
  return {
    heartbeatSeconds,
    idleTimeout: Math.round(timeoutSeconds * 1000),
    useDict: (config.useDict as boolean | undefined) ?? CONNECTOR_DEFAULTS.useDict,
    maxPackageSize: number('maxPackageSize') ?? CONNECTOR_DEFAULTS.maxPackageSize,
    handshakeTimeout: number('handshakeTimeout') ?? CONNECTOR_DEFAULTS.handshakeTimeout,
    maxHeaderSize: number('maxHeaderSize') ?? CONNECTOR_DEFAULTS.maxHeaderSize,
    maxBufferedBytes: number('maxBufferedBytes') ?? CONNECTOR_DEFAULTS.maxBufferedBytes,
    closeTimeout: CONNECTOR_DEFAULTS.closeTimeout,
  };
}
