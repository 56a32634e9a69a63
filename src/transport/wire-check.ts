/**
 * Checks that a decoded NATS payload has the shape its wire type (wire.ts) declares, before any
 * handler sees it. Each check returns the value typed, or throws a {@link WireShapeError} naming
 * the first field that is wrong. Hand-written rather than a schema library: servers decode
 * thousands of these a second and load no validator (see bench/README.md on restart time).
 */
import type {
  AdminRequest,
  ClusterEvent,
  DiscoverMessage,
  ForwardedCall,
  ForwardedReply,
  HandledBatch,
  HandlerBatch,
  PushMessage,
  RpcRequest,
  ServerInfo,
  SysCommand,
  MasterInfo,
  MastersRequest,
  InspectBatch,
  InspectSnapshot,
  WatchRefusal,
  WatchRequest,
} from './wire.ts';

/** A payload that decoded but is not the shape its subject carries. */
export class WireShapeError extends Error {
  override readonly name = 'WireShapeError';
}

type Check<T> = (value: unknown) => T;

const fail = (problem: string): never => {
  throw new WireShapeError(problem);
};

function describe(value: unknown): string {
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'object' ? 'a map' : `${typeof value} ${JSON.stringify(value)}`.slice(0, 60);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    return fail(`expected ${what} (a map), got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function field<T>(map: Record<string, unknown>, name: string, test: (v: unknown) => boolean, what: string, optional = false): T {
  const value = map[name];
  if (value === undefined && optional) return value as T;
  if (!test(value)) fail(`field "${name}": expected ${what}, got ${describe(value)}`);
  return value as T;
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isBoolean = (v: unknown): boolean => typeof v === 'boolean';
const isArray = (v: unknown): boolean => Array.isArray(v);
const isStrings = (v: unknown): boolean => Array.isArray(v) && v.every(isString);

export const checkSysCommand: Check<SysCommand> = (value) => {
  const map = record(value, 'a sys command');
  const command = field<string>(map, 'command', isString, 'a string');
  if (command !== 'stop' && command !== 'adopt' && command !== 'ping') fail(`field "command": expected "stop", "adopt" or "ping", got ${JSON.stringify(command)}`);
  // The proof is checked for what it proves by control.ts; here only that it could be one. Absent, it is refused there.
  field(map, 'at', isNumber, 'a number', true);
  field(map, 'nonce', isString, 'a string', true);
  field(map, 'epoch', isNumber, 'a number', true);
  field(map, 'mac', isString, 'a string', true);
  return map as unknown as SysCommand;
};

export const checkClusterEvent: Check<ClusterEvent> = (value) => {
  const map = record(value, 'a cluster event');
  field(map, 'type', isString, 'a string');
  return map as unknown as ClusterEvent;
};

export const checkDiscover: Check<DiscoverMessage> = (value) => record(value, 'a discover message') as DiscoverMessage;

export const checkMastersRequest: Check<MastersRequest> = (value) => record(value, 'a masters request') as MastersRequest;

export const checkMasterInfo: Check<MasterInfo> = (value) => {
  const map = record(value, 'a master (MasterInfo)');
  for (const name of ['id', 'host', 'state']) field(map, name, isString, 'a string');
  for (const name of ['port', 'pid', 'startedAt']) field(map, name, isNumber, 'a number');
  const role = field<string>(map, 'role', isString, 'a string');
  if (role !== 'leading' && role !== 'standby') fail(`field "role": expected "leading" or "standby", got ${JSON.stringify(role)}`);
  if (map.epoch !== null) field(map, 'epoch', isNumber, 'a number or null');
  field(map, 'ha', isBoolean, 'true or false');
  return map as unknown as MasterInfo;
};

export const checkServerInfo: Check<ServerInfo> = (value) => {
  const map = record(value, 'a heartbeat (ServerInfo)');
  for (const name of ['id', 'serverType', 'host', 'state']) field(map, name, isString, 'a string');
  field(map, 'frontend', isBoolean, 'true or false');
  for (const name of ['pid', 'startedAt', 'rss']) field(map, name, isNumber, 'a number');
  for (const name of ['port', 'clientPort']) field(map, name, isNumber, 'a number', true);
  field(map, 'clientHost', isString, 'a string', true);
  const dropped = field(map, 'dropped', (v) => typeof v === 'object' && v !== null, 'a map', true);
  if (dropped !== undefined) {
    for (const [kind, count] of Object.entries(record(dropped, 'field "dropped"'))) {
      if (!isNumber(count)) fail(`field "dropped.${kind}": expected a number, got ${describe(count)}`);
    }
  }
  const remotes = record(field(map, 'remotes', (v) => typeof v === 'object' && v !== null, 'a map'), 'field "remotes"');
  for (const [name, methods] of Object.entries(remotes)) {
    if (!isStrings(methods)) fail(`field "remotes.${name}": expected an array of method names, got ${describe(methods)}`);
  }
  return map as unknown as ServerInfo;
};

export const checkAdminRequest: Check<AdminRequest> = (value) => {
  const map = record(value, 'an admin request');
  field(map, 'token', isString, 'a string');
  field(map, 'command', isString, 'a string');
  field(map, 'ids', isStrings, 'an array of server ids', true);
  if (map.command === 'restart') field(map, 'ids', isStrings, 'an array of server ids');
  if (map.command === 'add') record(field(map, 'server', (v) => typeof v === 'object' && v !== null, 'a server entry'), 'field "server"');
  return map as unknown as AdminRequest;
};

export const checkPushMessage: Check<PushMessage> = (value) => {
  const map = record(value, 'a push');
  field(map, 'route', isString, 'a string');
  field(map, 'body', (v) => v instanceof Uint8Array, 'bytes (UTF-8 JSON)');
  field(map, 'uids', isStrings, 'an array of uids', true);
  field(map, 'all', isBoolean, 'true or false', true);
  field(map, 'binded', isBoolean, 'true or false', true);
  if (map.uids === undefined && map.all !== true) fail('expected "uids" or "all": true');
  return map as unknown as PushMessage;
};

export const checkRpcRequest: Check<RpcRequest> = (value) => {
  const map = record(value, 'an rpc request');
  field(map, 'remote', isString, 'a string');
  field(map, 'method', isString, 'a string');
  // No args is no arguments (docs/protocol.md).
  if (!Array.isArray(map.args)) map.args = [];
  return map as unknown as RpcRequest;
};

export const checkHandlerBatch: Check<HandlerBatch> = (value) => {
  const map = record(value, 'a batch of forwarded calls');
  field(map, 'from', isString, 'a string');
  const calls = field<unknown[]>(map, 'calls', isArray, 'an array');
  calls.forEach((call, i) => {
    const ok = Array.isArray(call) && call.length === 5 && isNumber(call[0]) && isString(call[1]) && isString(call[2]);
    if (!ok) fail(`field "calls[${i}]": expected [id, handler, method, msg, session], got ${describe(call)}`);
    record((call as ForwardedCall)[4], `field "calls[${i}]" session`);
  });
  return map as unknown as HandlerBatch;
};

export const checkHandledBatch: Check<HandledBatch> = (value) => {
  const map = record(value, 'a batch of forwarded replies');
  const replies = field<unknown[]>(map, 'replies', isArray, 'an array');
  replies.forEach((reply, i) => {
    const ok = Array.isArray(reply) && reply.length === 3 && isNumber(reply[0]) && (reply[1] === 1 || reply[1] === 0);
    if (!ok) fail(`field "replies[${i}]": expected [id, 1, result] or [id, 0, error], got ${describe(reply)}`);
    if ((reply as ForwardedReply)[1] === 0) {
      const error = record((reply as ForwardedReply)[2], `field "replies[${i}]" error`);
      for (const name of ['name', 'message', 'code']) field(error, name, isString, 'a string');
    }
  });
  return map as unknown as HandledBatch;
};

export const checkWatchRequest: Check<WatchRequest> = (value) => {
  const map = record(value, 'a watch request');
  field(map, 'watcher', (v) => isString(v) && (v as string).length > 0, 'a non-empty string');
  field(map, 'ttlMs', (v) => isNumber(v) && (v as number) > 0, 'a positive number of ms');
  field(map, 'detail', isString, 'an actor id (a string)', true);
  return map as unknown as WatchRequest;
};

/** Machine → state → count, as snapshots and batches carry them. */
function checkCounts(value: unknown, where: string): void {
  for (const [machine, states] of Object.entries(record(value, where))) {
    for (const [state, count] of Object.entries(record(states, `${where}.${machine}`))) {
      if (!isNumber(count)) fail(`${where}.${machine}.${state}: expected a number, got ${describe(count)}`);
    }
  }
}

/** Each item of the list in field `name` is a map with these string fields (and a number `at`, with `at`). */
function checkItems(map: Record<string, unknown>, name: string, strings: readonly string[], at: boolean): void {
  const items = field<unknown[]>(map, name, isArray, 'an array');
  items.forEach((item, i) => {
    const entry = record(item, `field "${name}[${i}]"`);
    for (const key of strings) if (!isString(entry[key])) fail(`field "${name}[${i}].${key}": expected a string, got ${describe(entry[key])}`);
    if (at && !isNumber(entry.at)) fail(`field "${name}[${i}].at": expected a number, got ${describe(entry.at)}`);
  });
}

/** A `watch` reply: a snapshot or a refusal (the watcher turns a refusal into an error). */
export const checkWatchReply: Check<InspectSnapshot | WatchRefusal> = (value) => {
  const map = record(value, 'a watch reply');
  if (map.error !== undefined) {
    field(map, 'error', isString, 'a string');
    return map as unknown as WatchRefusal;
  }
  field(map, 'server', isString, 'a string');
  for (const name of ['at', 'dropped']) field(map, name, isNumber, 'a number');
  checkItems(map, 'actors', ['actor', 'machine', 'state'], false);
  checkCounts(map.counts, 'field "counts"');
  if (map.detail !== undefined) {
    const detail = record(map.detail, 'field "detail"');
    for (const name of ['actor', 'machine', 'state']) field(detail, name, isString, 'a string');
  }
  return map as unknown as InspectSnapshot;
};

export const checkInspectBatch: Check<InspectBatch> = (value) => {
  const map = record(value, 'an inspect batch');
  field(map, 'server', isString, 'a string');
  field(map, 'dropped', isNumber, 'a number');
  checkItems(map, 'events', ['actor', 'machine', 'state', 'event'], true);
  if (map.counts !== undefined) checkCounts(map.counts, 'field "counts"');
  return map as unknown as InspectBatch;
};
