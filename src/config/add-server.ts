/** Validating a server entry given at runtime by the admin `add` command, as servers.json entries are. */
import os from 'node:os';
import type { z } from 'zod';
import { describe, isRecord } from './describe.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import { TOKEN, TOKEN_RULE } from './fields.ts';
import { fieldName, problemOf } from './issues.ts';
import { delayProblem } from './restart.ts';
import { serverEntrySchema, withoutId } from './servers-json.ts';
import type { ClusterConfig, ServerEntry } from './types.ts';

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
  const problem = entry.restartPolicy && delayProblem(config.master.restart, entry.restartPolicy);
  if (problem) throw new ConfigError(problem, { ...where, field: 'restart-policy.maxDelay' });
  return { id: entry.id, serverType, ...withoutId(entry) };
}
