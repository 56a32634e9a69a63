/** master.json: the schema of one environment's entry (NATS, restart policy, defaults applied) and its validation. */
import { z } from 'zod';
import {
  DEFAULT_CLUSTER,
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
import { isRecord } from './describe.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import { expected, milliseconds, nonEmptyString, port, positiveInt, subjectToken } from './fields.ts';
import { fieldName, issuePath, problemOf } from './issues.ts';
import { natsSchema } from './nats.ts';
import { MASTER_FILE } from './read.ts';
import type { MasterConfig, RestartPolicy } from './types.ts';
import { definedOnly, delayProblem, restartFields } from './restart.ts';

/**
 * master.json `restart`: any subset of the policy, the rest from the defaults. Unlike master.json
 * itself (where Pomelo apps keep their own fields), this object is Shaddock's alone, so an unknown
 * key is a typo and is reported rather than silently ignored.
 */
const restartSchema = restartFields()
  .superRefine((r, ctx) => {
    const problem = delayProblem(DEFAULT_RESTART_POLICY, definedOnly(r), 'the default');
    if (problem) ctx.addIssue({ code: 'custom', path: ['maxDelay'], message: problem });
  })
  .transform((r): RestartPolicy => ({ ...DEFAULT_RESTART_POLICY, ...definedOnly(r) }));

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

export function parseMaster(raw: unknown, env: string): MasterConfig {
  const result = masterSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0] as z.core.$ZodIssue;
  const id = isRecord(raw) && typeof raw['id'] === 'string' && raw['id'] !== '' ? raw['id'] : undefined;
  const where: ConfigErrorLocation = { file: MASTER_FILE, env };
  if (id !== undefined) where.serverId = id;
  if (issue.path.length > 0 || issue.code === 'unrecognized_keys') where.field = fieldName(issuePath(issue));
  throw new ConfigError(problemOf(issue, raw), where);
}
