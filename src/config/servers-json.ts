/** servers.json: the schema of a server entry and of one environment's entry, and their validation (ids are global). */
import { z } from 'zod';
import { cpuSchema } from './cpu.ts';
import { DEFAULT_HOST } from './defaults.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import { clientPort, expected, flag, milliseconds, nonEmptyString, port, positiveInt, subjectToken, TOKEN, TOKEN_RULE } from './fields.ts';
import { definedOnly, delayProblem, restartFields } from './restart.ts';
import { fieldName, problemOf, valueAt } from './issues.ts';
import { SERVERS_FILE } from './read.ts';
import type { MasterConfig, ServerEntry } from './types.ts';

/** Server entry fields Shaddock interprets; every other field goes to `extra` untouched. */
const KNOWN_SERVER_FIELDS = new Set([
  'id',
  'host',
  'port',
  'clientHost',
  'clientPort',
  'frontend',
  'args',
  'cpu',
  'auto-restart',
  'restart',
  'restart-policy',
  'shutdown-timeout',
  'max-connections',
  'warm-spare',
]);

const RESTART_TYPES = ['permanent', 'transient', 'temporary'] as const;

/** One server entry, as in servers.json (without its type, which is the key it sits under). */
export function serverEntrySchema(cpuCount: number) {
  const argsError = expected('a string or an array of strings');
  return z
    .looseObject(
      {
        id: subjectToken('server ids become NATS subject tokens'),
        host: nonEmptyString().optional(),
        port: port().optional(),
        clientHost: nonEmptyString().optional(),
        clientPort: clientPort().optional(),
        frontend: flag().optional(),
        args: z
          .union([z.string(argsError), z.array(z.string(argsError), argsError)], argsError)
          .transform((v) => (typeof v === 'string' ? v.split(/\s+/).filter((s) => s !== '') : v))
          .optional(),
        cpu: cpuSchema(cpuCount).optional(),
        'auto-restart': flag().optional(),
        restart: z.enum(RESTART_TYPES, expected(`one of ${RESTART_TYPES.map((t) => `"${t}"`).join(', ')} (OTP's restart types)`)).optional(),
        'restart-policy': restartFields().optional(),
        'shutdown-timeout': milliseconds().optional(),
        'max-connections': positiveInt('a positive integer').optional(),
        'warm-spare': flag().optional(),
      },
      expected('a server entry object'),
    )
    .superRefine((s, ctx) => {
      // Clients have nowhere to connect to a frontend without one.
      if (s.frontend === true && s.clientPort === undefined) {
        ctx.addIssue({ code: 'custom', path: ['clientPort'], message: 'required for a frontend server' });
      }
      // Two ways of saying it; when both are given they must agree.
      if (s.restart !== undefined && s['auto-restart'] !== undefined && s['auto-restart'] !== (s.restart !== 'temporary')) {
        ctx.addIssue({
          code: 'custom',
          path: ['auto-restart'],
          message: `contradicts "restart": "${s.restart}" (auto-restart true means "permanent" or "transient", false means "temporary"); give one of them`,
        });
      }
      // A spare only ever serves a restart.
      const restarts = s.restart !== undefined ? s.restart !== 'temporary' : s['auto-restart'] === true;
      if (s['warm-spare'] === true && !restarts) {
        ctx.addIssue({
          code: 'custom',
          path: ['warm-spare'],
          message: 'needs "auto-restart": true (or "restart": "permanent" or "transient"): a warm spare only serves restarts',
        });
      }
    })
    .transform((s): Omit<ServerEntry, 'serverType'> => {
      const server: Omit<ServerEntry, 'serverType'> = {
        id: s.id,
        host: s.host ?? DEFAULT_HOST,
        frontend: s.frontend ?? false,
        args: s.args ?? [],
        autoRestart: s.restart !== undefined ? s.restart !== 'temporary' : (s['auto-restart'] ?? false),
        extra: {},
      };
      if (s.restart !== undefined) server.restart = s.restart;
      if (s['restart-policy'] !== undefined) server.restartPolicy = definedOnly(s['restart-policy']);
      if (s['shutdown-timeout'] !== undefined) server.shutdownTimeout = s['shutdown-timeout'];
      if (s.port !== undefined) server.port = s.port;
      if (s.clientHost !== undefined) server.clientHost = s.clientHost;
      if (s.clientPort !== undefined) server.clientPort = s.clientPort;
      if (s.cpu !== undefined) server.cpu = s.cpu;
      if (s['max-connections'] !== undefined) server.maxConnections = s['max-connections'];
      if (s['warm-spare'] === true) server.warmSpare = true;
      for (const [key, value] of Object.entries(s)) {
        if (!KNOWN_SERVER_FIELDS.has(key)) server.extra[key] = value;
      }
      return server;
    });
}

/** One environment's entry of servers.json: `{ "<serverType>": [entry, ...] }`. */
function serversSchema(cpuCount: number) {
  return z.record(
    z.string().regex(TOKEN),
    z.array(serverEntrySchema(cpuCount), expected('an array of server entries')),
    expected('an object mapping server types to arrays of server entries'),
  );
}

export function parseServers(raw: unknown, env: string, master: Pick<MasterConfig, 'id' | 'restart'>, cpuCount: number): ServerEntry[] {
  const masterId = master.id;
  const result = serversSchema(cpuCount).safeParse(raw);
  if (!result.success) {
    throw issueToServersError(result.error.issues[0] as z.core.$ZodIssue, raw, env);
  }

  const servers: ServerEntry[] = [];
  // Ids are global: the registry, routing and subjects all key on the id alone, not on the type.
  const typeById = new Map<string, string>([[masterId, '']]);
  for (const [serverType, entries] of Object.entries(result.data)) {
    entries.forEach((entry, serverIndex) => {
      const previous = typeById.get(entry.id);
      if (previous !== undefined) {
        const other = previous === '' ? 'the master' : `a ${JSON.stringify(previous)} server`;
        throw new ConfigError(`duplicate server id (also used by ${other})`, {
          file: SERVERS_FILE,
          env,
          serverId: entry.id,
          serverType,
          serverIndex,
          field: 'id',
        });
      }
      typeById.set(entry.id, serverType);
      const problem = entry.restartPolicy && delayProblem(master.restart, entry.restartPolicy);
      if (problem) {
        throw new ConfigError(problem, { file: SERVERS_FILE, env, serverId: entry.id, serverType, serverIndex, field: 'restart-policy.maxDelay' });
      }
      servers.push({ id: entry.id, serverType, ...withoutId(entry) });
    });
  }
  return servers;
}

export function withoutId(entry: Omit<ServerEntry, 'serverType'>): Omit<ServerEntry, 'serverType' | 'id'> {
  const { id: _id, ...rest } = entry;
  return rest;
}

/** Servers issue paths are `[type, index, ...field]`; each level adds to the location. */
function issueToServersError(issue: z.core.$ZodIssue, raw: unknown, env: string): ConfigError {
  const where: ConfigErrorLocation = { file: SERVERS_FILE, env };
  const [serverType, serverIndex, ...field] = issue.path;
  if (serverType !== undefined) where.serverType = String(serverType);
  if (issue.code === 'invalid_key') {
    return new ConfigError(`server type names may use ${TOKEN_RULE} (they become NATS subject tokens)`, where);
  }
  if (typeof serverIndex === 'number') {
    where.serverIndex = serverIndex;
    const id = valueAt(raw, [serverType as PropertyKey, serverIndex, 'id']);
    if (typeof id === 'string' && id !== '') where.serverId = id;
  }
  if (field.length > 0) where.field = fieldName(field);
  return new ConfigError(problemOf(issue, raw), where);
}
