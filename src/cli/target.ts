import { resolve } from 'node:path';
import { loadConfig } from '../config/index.ts';
import type { ClusterConfig } from '../config/types.ts';
import { readRunFile, type RunFile } from '../actors/master/run-file.ts';

/** Options every command that talks to a running master accepts. */
export interface TargetOptions {
  dir: string;
  env: string;
  nats?: string;
  token?: string;
}

/** How to reach one cluster's leading master. */
export interface Target {
  config: ClusterConfig;
  nats: string[];
  token: string;
  runFile: RunFile | undefined;
}

export class CliError extends Error {}

/**
 * Finds NATS and the admin token for the app in `dir`: flags first, then the environment and the
 * config files, then the run file the master wrote (the only place an embedded broker's port and a
 * made-up token are known).
 */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  const dir = resolve(options.dir);
  const config = await loadConfig({ dir, env: options.env, ...(options.nats ? { natsUrl: options.nats } : {}) });
  const runFile = readRunFile(dir, options.env);
  const nats = config.master.nats?.servers ?? runFile?.nats;
  if (!nats?.length) {
    throw new CliError(`no master is running for ${dir} [${options.env}] (no NATS configured and no run file at .shaddock/${options.env}.json)`);
  }
  const token = options.token ?? config.master.adminToken ?? runFile?.adminToken;
  if (!token) {
    throw new CliError(
      `no master is running for ${dir} [${options.env}] (no run file at .shaddock/${options.env}.json), ` +
        'or it runs elsewhere: then set adminToken in config/master.json, SHADDOCK_ADMIN_TOKEN, or --token',
    );
  }
  return { config, nats, token, runFile };
}
