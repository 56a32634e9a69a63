/**
 * master.json `nats` (and `createApp({ nats })`): how to reach a NATS system, with any of its
 * authentication schemes and TLS. One schema for both places, so a field means the same in each.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { describe } from './describe.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import { expected, milliseconds, nonEmptyString } from './fields.ts';
import { fieldName, issuePath, problemOf } from './issues.ts';
import type { NatsSettings, NatsTls } from './types.ts';

/** Splits comma-separated URLs, dropping blanks; `undefined` when none are left. */
export function urlList(value: string | readonly string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const list = (typeof value === 'string' ? [value] : value)
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}

const natsError = expected('a NATS URL, a comma-separated list of them, or an array of them');

const tlsSchema = z.preprocess(
  // `tls: true` asks for TLS checked against the system's CAs; `false` is the same as leaving it out.
  (v) => (v === true ? {} : v === false ? undefined : v),
  z
    .strictObject(
      {
        ca: nonEmptyString().optional(),
        cert: nonEmptyString().optional(),
        key: nonEmptyString().optional(),
        handshakeFirst: z.boolean(expected('true or false')).optional(),
      },
      expected('true, or an object { ca?, cert?, key?, handshakeFirst? } (file paths)'),
    )
    .superRefine((tls, ctx) => {
      // A client certificate is nothing without its key, and the other way round.
      if ((tls.cert === undefined) !== (tls.key === undefined)) {
        ctx.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together: give both or neither' });
      }
    })
    .optional(),
);

const maxReconnectError = expected('-1 (forever) or a positive integer');

/** The object form; a bare string is shorthand for `{ servers: "..." }`. */
export const natsSchema = z.preprocess(
  (v) => (typeof v === 'string' || Array.isArray(v) ? { servers: v } : v),
  z
    .strictObject(
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
        nkeyFile: nonEmptyString().optional(),
        credsFile: nonEmptyString().optional(),
        tls: tlsSchema,
        name: nonEmptyString().optional(),
        pingInterval: milliseconds().optional(),
        maxPingOut: z.int(expected('a positive integer')).positive(expected('a positive integer')).optional(),
        reconnectTimeWait: milliseconds().optional(),
        maxReconnectAttempts: z
          .int(maxReconnectError)
          .superRefine((n, ctx) => {
            if (n !== -1 && n <= 0) ctx.addIssue({ code: 'custom', message: `${maxReconnectError.error}, got ${n}` });
          })
          .optional(),
      },
      expected('a NATS URL or an object { servers, token?, user?, pass?, nkeyFile?, credsFile?, tls?, name?, pingInterval?, maxPingOut?, reconnectTimeWait?, maxReconnectAttempts? }'),
    )
    .superRefine((n, ctx) => {
      // A connection authenticates one way; two would leave it to nats.js to pick one silently.
      const ways = [n.token !== undefined && 'token', (n.user !== undefined || n.pass !== undefined) && 'user/pass', n.nkeyFile !== undefined && 'nkeyFile', n.credsFile !== undefined && 'credsFile'].filter(
        (w): w is string => w !== false,
      );
      if (ways.length > 1) ctx.addIssue({ code: 'custom', path: [ways[1] === 'user/pass' ? 'user' : (ways[1] as string)], message: `give one way to authenticate, not ${ways.join(' and ')}` });
      if ((n.user === undefined) !== (n.pass === undefined)) {
        ctx.addIssue({ code: 'custom', path: [n.user === undefined ? 'user' : 'pass'], message: 'user and pass go together: give both or neither' });
      }
    })
    .transform((n): NatsSettings => {
      const settings: NatsSettings = { servers: n.servers };
      for (const key of ['token', 'user', 'pass', 'nkeyFile', 'credsFile', 'name', 'pingInterval', 'maxPingOut', 'reconnectTimeWait', 'maxReconnectAttempts'] as const) {
        if (n[key] !== undefined) (settings as unknown as Record<string, unknown>)[key] = n[key];
      }
      if (n.tls !== undefined) settings.tls = Object.fromEntries(Object.entries(n.tls).filter(([, v]) => v !== undefined)) as NatsTls;
      return settings;
    }),
);

/** The files a {@link NatsSettings} names, as `[field, path]`. */
function filesOf(nats: NatsSettings): [string, string][] {
  const files: [string, string | undefined][] = [
    ['nkeyFile', nats.nkeyFile],
    ['credsFile', nats.credsFile],
    ['tls.ca', nats.tls?.ca],
    ['tls.cert', nats.tls?.cert],
    ['tls.key', nats.tls?.key],
  ];
  return files.filter((f): f is [string, string] => f[1] !== undefined);
}

/**
 * The settings with every file (nkey seed, creds, TLS CA/cert/key) made absolute against `dir`
 * and checked to be a readable file now, so that a wrong path fails start-up naming its field
 * rather than a connection attempt later. Servers get the absolute paths from their master.
 *
 * @throws {ConfigError} for a file that is not there, naming `nats.<field>` at `where`.
 */
export function resolveNatsFiles(nats: NatsSettings, dir: string, where: Omit<ConfigErrorLocation, 'field'>, fieldPrefix = 'nats.'): NatsSettings {
  const resolved: NatsSettings = { ...nats, ...(nats.tls ? { tls: { ...nats.tls } } : {}) };
  for (const [field, file] of filesOf(nats)) {
    const absolute = path.resolve(dir, file);
    if (!existsSync(absolute) || !statSync(absolute).isFile()) {
      throw new ConfigError(`no such file: ${absolute}`, { ...where, field: `${fieldPrefix}${field}` });
    }
    if (field.startsWith('tls.')) (resolved.tls as Record<string, unknown>)[field.slice(4)] = absolute;
    else (resolved as unknown as Record<string, unknown>)[field] = absolute;
  }
  return resolved;
}

/**
 * Checks `createApp({ nats })` options: the same fields as master.json `nats`, files relative to
 * the app directory.
 *
 * @throws {ConfigError} naming the field (`createApp({ nats })`, field `nats.tls.ca` ...).
 */
export function parseNatsOption(raw: unknown, dir: string, env: string): NatsSettings {
  const where = { file: 'createApp({ nats })', env };
  const result = natsSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0] as z.core.$ZodIssue;
    throw new ConfigError(problemOf(issue, raw), { ...where, field: issuePath(issue).length > 0 ? `nats.${fieldName(issuePath(issue))}` : 'nats' });
  }
  return resolveNatsFiles(result.data, dir, where);
}
