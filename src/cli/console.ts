import { consoleAddress } from '../config/console.ts';
import { CliError, resolveTarget, type TargetOptions } from './target.ts';

/**
 * What `shaddock console` prints: the web console's sign-in address, `<address>?token=<admin token>`.
 * The address is the one the leading master wrote to its run file (it may listen on any free
 * port), else master.json's host and port. Opening it signs the browser in.
 */
export async function consoleSignIn(options: TargetOptions): Promise<string> {
  const target = await resolveTarget(options);
  const fromConfig = consoleAddress(target.config.master);
  const url = target.runFile?.console ?? (fromConfig ? `http://${fromConfig.host}:${fromConfig.port}/` : undefined);
  if (!url) throw new CliError(`no console for ${target.config.dir} [${target.config.env}]: master.json has no "port" and no running master names one in .shaddock/${target.config.env}.json`);
  return `${url}?token=${encodeURIComponent(target.token)}`;
}
