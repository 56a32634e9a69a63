import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_CLUSTER,
  DEFAULT_ENV,
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_HOST,
  DEFAULT_PREFIX,
  DEFAULT_RESTART_POLICY,
  DEFAULT_RPC_TIMEOUT,
  DEFAULT_START_TIMEOUT,
  DEFAULT_STOP_HOOK_TIMEOUT,
  DEFAULT_STOP_TIMEOUT,
  defaultHeartbeatTimeout,
} from './defaults.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import type { ClusterConfig, MasterConfig, RestartPolicy, ServerEntry } from './types.ts';

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The application directory, the one holding `config/`. May be relative to the working directory. */
  dir: string;
  /** Environment key to load from both files (default `development`). */
  env?: string;
  /** NATS URL(s), comma separated; wins over `SHADDOCK_NATS_URL` and master.json. */
  natsUrl?: string;
  /** Where `SHADDOCK_NATS_URL` and `SHADDOCK_ADMIN_TOKEN` are read (default `process.env`). */
  environment?: Record<string, string | undefined>;
}

const MASTER_FILE = 'config/master.json';
const SERVERS_FILE = 'config/servers.json';

/**
 * Loads and validates one environment of an application's `config/master.json` and
 * `config/servers.json`, applies the defaults of `defaults.ts` and the NATS / admin-token
 * overrides, and returns the complete configuration.
 *
 * NATS comes from, in order: `options.natsUrl`, `SHADDOCK_NATS_URL`, master.json `nats`. An
 * override replaces master.json's `nats` entirely (credentials included), since it usually
 * points at a different broker; put credentials in the URL (`nats://user:pass@host`) if needed.
 * No NATS anywhere leaves `master.nats` undefined: the runtime then starts an embedded broker.
 *
 * @throws {ConfigError} naming the file, environment, server and field of the first problem.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ClusterConfig> {
  const dir = path.resolve(options.dir);
  const env = options.env ?? DEFAULT_ENV;
  const environment = options.environment ?? process.env;

  const masterRaw = await readEnvironment(dir, MASTER_FILE, env);
  const serversRaw = await readEnvironment(dir, SERVERS_FILE, env);

  const master = parseMaster(masterRaw, env);
  const servers = parseServers(serversRaw, env, master.id, os.cpus().length);

  const natsOverride = urlList(options.natsUrl) ?? urlList(environment['SHADDOCK_NATS_URL']);
  if (natsOverride !== undefined) master.nats = { servers: natsOverride };
  const adminToken = environment['SHADDOCK_ADMIN_TOKEN'];
  if (adminToken !== undefined && adminToken !== '') master.adminToken = adminToken;

  return { env, dir, master, servers };
}

// ---------------------------------------------------------------------------------------------
// Reading files

/** Reads `<dir>/<file>`, parses it and returns its `env` entry, still unvalidated. */
async function readEnvironment(dir: string, file: string, env: string): Promise<unknown> {
  const whole: ConfigErrorLocation = { file, env, wholeFile: true };
  const abs = path.join(dir, file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`file not found (${abs})`, whole, { cause: err });
    throw new ConfigError(`cannot read file (${abs}): ${errorText(err)}`, whole, { cause: err });
  }
  // Editors on Windows like to write a byte-order mark, which JSON.parse rejects.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(describeJsonError(text, err), whole, { cause: err });
  }
  if (!isRecord(data)) {
    throw new ConfigError(
      `expected an object keyed by environment (e.g. {"${env}": {...}}), got ${describe(data)}`,
      whole,
    );
  }
  // hasOwn, so that an env named e.g. "constructor" is not found on Object.prototype.
  if (!Object.hasOwn(data, env)) {
    const found = Object.keys(data);
    throw new ConfigError(
      `no environment ${JSON.stringify(env)} (found: ${found.length > 0 ? found.join(', ') : 'none'})`,
      whole,
    );
  }
  return data[env];
}

function describeJsonError(text: string, err: unknown): string {
  const raw = errorText(err);
  // V8 appends the position and, in some messages, a copy of the input; the location we add is
  // more useful than either.
  const reason = raw
    .replace(/\s+in JSON at position \d+[\s\S]*$/, '')
    .replace(/,\s+(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, '');
  // Node 20 gives no position for "Unexpected token" and "Unexpected end" errors, so find it
  // ourselves when V8 did not say.
  const match = /at position (\d+)/.exec(raw);
  const offset = match ? Number(match[1]) : locateJsonError(text);
  if (offset === undefined) return `invalid JSON: ${reason}`;
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return `invalid JSON at line ${line} column ${column}: ${reason}`;
}

/**
 * Offset of the first character at which `text` stops being JSON, or `undefined` when it is
 * valid. Only used to place an error JSON.parse has already found.
 */
function locateJsonError(text: string): number | undefined {
  let i = 0;
  const stop = (): never => {
    throw new JsonStop(i);
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const string = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else {
          i++;
          stop();
        }
        continue;
      }
      if (c < ' ') stop();
      i++;
    }
    stop();
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') stop();
          string();
          space();
          if (text[i] !== ':') stop();
          i++;
        }
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else stop();
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    stop();
  };
  try {
    value();
    space();
    if (i < text.length) stop();
    return undefined;
  } catch (err) {
    if (err instanceof JsonStop) return err.at;
    throw err;
  }
}

class JsonStop {
  constructor(readonly at: number) {}
}

// ---------------------------------------------------------------------------------------------
// Schemas. Each `error` says what was expected; issueToError adds what was found, so every
// message reads "expected X, got Y". Issues raised by hand (code "custom") are complete as written.

/** NATS subject tokens: ids, server types, prefix and cluster all end up inside subjects. */
const TOKEN = /^[A-Za-z0-9_-]+$/;
const TOKEN_RULE = 'letters, digits, "_" or "-" only';

const expected = (what: string) => ({ error: `expected ${what}` });

const nonEmptyString = () => z.string(expected('a non-empty string')).min(1, expected('a non-empty string'));

const subjectToken = (why: string) => {
  const e = expected(`${TOKEN_RULE} (${why})`);
  return z.string(e).regex(TOKEN, e);
};

const port = () => {
  const e = expected('an integer port (1-65535)');
  return z.int(e).min(1, e).max(65535, e);
};

/** A client port may be 0: the OS picks a free one and the server announces what it got (tests). */
const clientPort = () => {
  const e = expected('an integer port (0-65535; 0 = any free port)');
  return z.int(e).min(0, e).max(65535, e);
};

const positiveInt = (what: string) => {
  const e = expected(what);
  return z.int(e).positive(e);
};

const milliseconds = () => positiveInt('a positive integer number of milliseconds');

const flagError = expected('true or false');
/** Pomelo writes booleans both ways (`true` and `"true"`). */
const flag = () =>
  z
    .union([z.boolean(flagError), z.enum(['true', 'false'], flagError)], flagError)
    .transform((v) => v === true || v === 'true');

/** Splits comma-separated URLs, dropping blanks; `undefined` when none are left. */
function urlList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (typeof value === 'string' ? [value] : value)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}

const natsError = expected('a NATS URL, a comma-separated list of them, or an array of them');
const natsSchema = z.preprocess(
  // A bare string is shorthand for `{ servers: "..." }`.
  (v) => (typeof v === 'string' ? { servers: v } : v),
  z.object(
    {
      servers: z
        .union([z.string(natsError), z.array(z.string(natsError), natsError)], natsError)
        .transform((v, ctx) => {
          const list = urlList(v);
          if (list === undefined) {
            ctx.addIssue({ code: 'custom', message: `expected at least one NATS URL, got ${describe(v)}` });
            return z.NEVER;
          }
          return list;
        }),
      token: nonEmptyString().optional(),
      user: nonEmptyString().optional(),
      pass: nonEmptyString().optional(),
      name: nonEmptyString().optional(),
    },
    expected('a NATS URL or an object { servers, token?, user?, pass?, name? }'),
  ),
);

const RESTART_FIELDS = ['initialDelay', 'factor', 'maxDelay', 'resetAfter', 'maxRestarts', 'period'] as const;

/**
 * master.json `restart`: any subset of the policy, the rest from the defaults. Unlike master.json
 * itself (where Pomelo apps keep their own fields), this object is Shaddock's alone, so an unknown
 * key is a typo and is reported rather than silently ignored.
 */
const restartSchema = (() => {
  const factorError = expected('a number of at least 1');
  return z
    .looseObject(
      {
        initialDelay: milliseconds().optional(),
        factor: z.number(factorError).min(1, factorError).optional(),
        maxDelay: milliseconds().optional(),
        resetAfter: milliseconds().optional(),
        maxRestarts: positiveInt('a positive integer').optional(),
        period: milliseconds().optional(),
      },
      expected(`an object { ${RESTART_FIELDS.map((f) => `${f}?`).join(', ')} }`),
    )
    .superRefine((r, ctx) => {
      const known: readonly string[] = RESTART_FIELDS;
      for (const key of Object.keys(r)) {
        if (!known.includes(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `unknown field (known: ${RESTART_FIELDS.join(', ')})` });
        }
      }
      const initialDelay = r.initialDelay ?? DEFAULT_RESTART_POLICY.initialDelay;
      const maxDelay = r.maxDelay ?? DEFAULT_RESTART_POLICY.maxDelay;
      // The cap would silently override the first delay; say so instead.
      if (maxDelay < initialDelay) {
        ctx.addIssue({
          code: 'custom',
          path: ['maxDelay'],
          message: `must be at least initialDelay (${initialDelay} ms), got ${maxDelay}${r.maxDelay === undefined ? ' (the default)' : ''}`,
        });
      }
    })
    .transform(
      (r): RestartPolicy => ({
        initialDelay: r.initialDelay ?? DEFAULT_RESTART_POLICY.initialDelay,
        factor: r.factor ?? DEFAULT_RESTART_POLICY.factor,
        maxDelay: r.maxDelay ?? DEFAULT_RESTART_POLICY.maxDelay,
        resetAfter: r.resetAfter ?? DEFAULT_RESTART_POLICY.resetAfter,
        maxRestarts: r.maxRestarts ?? DEFAULT_RESTART_POLICY.maxRestarts,
        period: r.period ?? DEFAULT_RESTART_POLICY.period,
      }),
    );
})();

/** One environment's entry of master.json. Unknown fields are dropped (z.object strips them). */
const masterSchema = z
  .object(
    {
      id: nonEmptyString(),
      host: nonEmptyString().optional(),
      port: port().optional(),
      nats: natsSchema.optional(),
      adminToken: nonEmptyString().optional(),
      prefix: subjectToken('it becomes the first token of every NATS subject').optional(),
      cluster: subjectToken('it becomes the second token of every NATS subject').optional(),
      heartbeatInterval: milliseconds().optional(),
      heartbeatTimeout: milliseconds().optional(),
      startTimeout: milliseconds().optional(),
      stopTimeout: milliseconds().optional(),
      rpcTimeout: milliseconds().optional(),
      stopHookTimeout: milliseconds().optional(),
      restart: restartSchema.optional(),
    },
    expected('an object with at least an "id"'),
  )
  .superRefine((m, ctx) => {
    const interval = m.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    // A timeout no longer than the interval would declare healthy servers dead between beats.
    if (m.heartbeatTimeout !== undefined && m.heartbeatTimeout <= interval) {
      ctx.addIssue({
        code: 'custom',
        path: ['heartbeatTimeout'],
        message: `must be greater than heartbeatInterval (${interval} ms), got ${m.heartbeatTimeout}`,
      });
    }
  })
  .transform((m): MasterConfig => {
    const heartbeatInterval = m.heartbeatInterval ?? DEFAULT_HEARTBEAT_INTERVAL;
    const master: MasterConfig = {
      id: m.id,
      host: m.host ?? DEFAULT_HOST,
      prefix: m.prefix ?? DEFAULT_PREFIX,
      cluster: m.cluster ?? DEFAULT_CLUSTER,
      heartbeatInterval,
      heartbeatTimeout: m.heartbeatTimeout ?? defaultHeartbeatTimeout(heartbeatInterval),
      startTimeout: m.startTimeout ?? DEFAULT_START_TIMEOUT,
      stopTimeout: m.stopTimeout ?? DEFAULT_STOP_TIMEOUT,
      rpcTimeout: m.rpcTimeout ?? DEFAULT_RPC_TIMEOUT,
      stopHookTimeout: m.stopHookTimeout ?? DEFAULT_STOP_HOOK_TIMEOUT,
      restart: m.restart ?? { ...DEFAULT_RESTART_POLICY },
    };
    if (m.port !== undefined) master.port = m.port;
    if (m.nats !== undefined) master.nats = m.nats;
    if (m.adminToken !== undefined) master.adminToken = m.adminToken;
    return master;
  });

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
  'max-connections',
]);

const CPU_FORMS = 'a CPU index, a list such as "0,2-3", or an array of CPU indexes';

/** Parses "2", "0-1", "0,2-3" into inclusive ranges; `undefined` when malformed. */
function parseCpuList(text: string): Array<[number, number]> | undefined {
  const ranges: Array<[number, number]> = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    ranges.push([lo, hi]);
  }
  return ranges;
}

/** The CPU set, checked against this machine, as a sorted list of distinct indexes. */
function cpuSchema(cpuCount: number) {
  // Every member carries the same error: zod reports a member's own issue when only that member
  // matched the input's type (e.g. -1), and its default wording would not say what is accepted.
  const e = expected(CPU_FORMS);
  const index = z.int(e).nonnegative(e);
  return z.union([index, z.string(e), z.array(index, e)], e).transform((value, ctx) => {
    const ranges: Array<[number, number]> | undefined =
      typeof value === 'number'
        ? [[value, value]]
        : typeof value === 'string'
          ? parseCpuList(value)
          : value.map((n): [number, number] => [n, n]);
    if (ranges === undefined || ranges.length === 0) {
      ctx.addIssue({ code: 'custom', message: `expected ${CPU_FORMS}, got ${describe(value)}` });
      return z.NEVER;
    }
    // Checked on the ranges before expanding them, so "0-4000000000" cannot allocate a huge array.
    const missing = ranges.filter(([, hi]) => hi >= cpuCount).map(([lo]) => Math.max(lo, cpuCount));
    if (missing.length > 0) {
      const plural = cpuCount === 1 ? 'CPU' : 'CPUs';
      const has = cpuCount === 1 ? '0' : `0-${cpuCount - 1}`;
      ctx.addIssue({
        code: 'custom',
        message: `this machine has no CPU ${Math.min(...missing)} (it has ${cpuCount} ${plural}: ${has})`,
      });
      return z.NEVER;
    }
    const cpus = new Set<number>();
    for (const [lo, hi] of ranges) for (let n = lo; n <= hi; n++) cpus.add(n);
    return [...cpus].sort((a, b) => a - b);
  });
}

/** One server entry, as in servers.json (without its type, which is the key it sits under). */
function serverEntrySchema(cpuCount: number) {
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
        'max-connections': positiveInt('a positive integer').optional(),
      },
      expected('a server entry object'),
    )
    .superRefine((s, ctx) => {
      // Clients have nowhere to connect to a frontend without one.
      if (s.frontend === true && s.clientPort === undefined) {
        ctx.addIssue({ code: 'custom', path: ['clientPort'], message: 'required for a frontend server' });
      }
    })
    .transform((s): Omit<ServerEntry, 'serverType'> => {
      const server: Omit<ServerEntry, 'serverType'> = {
        id: s.id,
        host: s.host ?? DEFAULT_HOST,
        frontend: s.frontend ?? false,
        args: s.args ?? [],
        autoRestart: s['auto-restart'] ?? false,
        extra: {},
      };
      if (s.port !== undefined) server.port = s.port;
      if (s.clientHost !== undefined) server.clientHost = s.clientHost;
      if (s.clientPort !== undefined) server.clientPort = s.clientPort;
      if (s.cpu !== undefined) server.cpu = s.cpu;
      if (s['max-connections'] !== undefined) server.maxConnections = s['max-connections'];
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

// ---------------------------------------------------------------------------------------------
// Validation and the issue → ConfigError translation

function parseMaster(raw: unknown, env: string): MasterConfig {
  const result = masterSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const id = isRecord(raw) && typeof raw['id'] === 'string' && raw['id'] !== '' ? raw['id'] : undefined;
  const where: ConfigErrorLocation = { file: MASTER_FILE, env };
  if (id !== undefined) where.serverId = id;
  if (issue.path.length > 0) where.field = fieldName(issue.path);
  throw new ConfigError(problemOf(issue, raw), where);
}

function parseServers(raw: unknown, env: string, masterId: string, cpuCount: number): ServerEntry[] {
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
      servers.push({ id: entry.id, serverType, ...withoutId(entry) });
    });
  }
  return servers;
}

/** What `ConfigError.file` says for an entry that came from the admin `add` command, not a file. */
const ADD_COMMAND = 'add command';

/**
 * Validates one server entry given at runtime (the admin `add` command: a servers.json entry
 * plus its `serverType`) exactly as servers.json entries are validated, and checks its id
 * against the servers already configured.
 *
 * @throws {ConfigError} with `file` set to `"add command"`.
 */
export function parseServerEntry(
  raw: unknown,
  config: Pick<ClusterConfig, 'env' | 'master' | 'servers'>,
): ServerEntry {
  const where: ConfigErrorLocation = { file: ADD_COMMAND, env: config.env };
  if (!isRecord(raw)) throw new ConfigError(`expected a server entry object, got ${describe(raw)}`, where);
  const { serverType, ...fields } = raw;
  if (typeof fields['id'] === 'string' && fields['id'] !== '') where.serverId = fields['id'];
  if (typeof serverType !== 'string' || !TOKEN.test(serverType)) {
    const problem =
      serverType === undefined
        ? 'required'
        : `expected ${TOKEN_RULE} (server types become NATS subject tokens), got ${describe(serverType)}`;
    throw new ConfigError(problem, { ...where, field: 'serverType' });
  }
  where.serverType = serverType;

  const result = serverEntrySchema(os.cpus().length).safeParse(fields);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    if (issue.path.length > 0) where.field = fieldName(issue.path);
    throw new ConfigError(problemOf(issue, fields), where);
  }
  const entry = result.data;
  const sameId = config.servers.find((s) => s.id === entry.id);
  const usedBy =
    entry.id === config.master.id ? 'the master' : sameId && `a ${JSON.stringify(sameId.serverType)} server`;
  if (usedBy !== undefined) {
    throw new ConfigError(`duplicate server id (also used by ${usedBy})`, { ...where, field: 'id' });
  }
  return { id: entry.id, serverType, ...withoutId(entry) };
}

function withoutId(entry: Omit<ServerEntry, 'serverType'>): Omit<ServerEntry, 'serverType' | 'id'> {
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

function problemOf(issue: z.core.$ZodIssue, root: unknown): string {
  if (issue.code === 'custom') return issue.message;
  const value = valueAt(root, issue.path);
  return value === undefined ? 'required' : `${issue.message}, got ${describe(value)}`;
}

/** `["nats", "servers", 0]` → `nats.servers[0]`. */
function fieldName(pathParts: readonly PropertyKey[]): string {
  let name = '';
  for (const part of pathParts) {
    if (typeof part === 'number') name += `[${part}]`;
    else name += name === '' ? String(part) : `.${String(part)}`;
  }
  return name;
}

function valueAt(root: unknown, pathParts: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of pathParts) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short, one-line rendering of a found value for "got ..." in messages. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
