/** Where in the configuration a problem lies. Only `file` and `env` are always known. */
export interface ConfigErrorLocation {
  /** Path of the file relative to the application directory, e.g. `config/servers.json`. */
  file: string;
  /** The environment being loaded, e.g. `development`. */
  env: string;
  /** The server's `id`, when the entry has a usable one. */
  serverId?: string;
  /** The server type (the key in servers.json), when the problem is inside one. */
  serverType?: string;
  /** Zero-based position of the entry in its type's array; shown one-based (`#2`) in the message. */
  serverIndex?: number;
  /** The field at fault, dotted for nested fields (`nats.servers`, `args[1]`). */
  field?: string;
  /**
   * Set for problems with the file as a whole (missing, not JSON, no such environment): the
   * message then leaves the environment out, since no part of the file was looked at yet.
   */
  wholeFile?: boolean;
}

/**
 * A configuration problem, located precisely enough to fix without reading the loader: the
 * message is one line naming the file, environment, server and field that are known.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly env: string;
  readonly serverId?: string;
  readonly serverType?: string;
  readonly serverIndex?: number;
  readonly field?: string;
  /** The message without its location prefix, e.g. `required for a frontend server`. */
  readonly problem: string;

  constructor(problem: string, where: ConfigErrorLocation, options?: ErrorOptions) {
    super(formatConfigError(problem, where), options);
    this.file = where.file;
    this.env = where.env;
    if (where.serverId !== undefined) this.serverId = where.serverId;
    if (where.serverType !== undefined) this.serverType = where.serverType;
    if (where.serverIndex !== undefined) this.serverIndex = where.serverIndex;
    if (where.field !== undefined) this.field = where.field;
    this.problem = problem;
  }
}

function formatConfigError(problem: string, where: ConfigErrorLocation): string {
  let head = where.file;
  if (!where.wholeFile) head += ` [${where.env}]`;
  if (where.serverId !== undefined) {
    head += ` server ${JSON.stringify(where.serverId)}`;
  } else if (where.serverType !== undefined && where.serverIndex !== undefined) {
    head += ` server #${where.serverIndex + 1} of type ${JSON.stringify(where.serverType)}`;
  } else if (where.serverType !== undefined) {
    head += ` server type ${JSON.stringify(where.serverType)}`;
  }
  if (where.field !== undefined) head += `: field ${JSON.stringify(where.field)}`;
  // Keep it one line even if a cause's text (e.g. a parser message) carried a newline.
  return `${head}: ${problem.replace(/\s*\n\s*/g, ' ')}`;
}
