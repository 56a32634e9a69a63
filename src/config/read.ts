/** Reading one environment's entry out of `config/master.json` or `config/servers.json`, unvalidated. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, errorText, isRecord } from './describe.ts';
import { ConfigError, type ConfigErrorLocation } from './errors.ts';
import { describeJsonError } from './json-error.ts';

export const MASTER_FILE = 'config/master.json';
export const SERVERS_FILE = 'config/servers.json';

/** Reads `<dir>/<file>`, parses it and returns its `env` entry, still unvalidated. */
export async function readEnvironment(dir: string, file: string, env: string): Promise<unknown> {
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
