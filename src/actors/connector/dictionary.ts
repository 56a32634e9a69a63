import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definitionMethods, loadDefinitions } from '../rpc/remotes.ts';

/**
 * Pomelo's route dictionary: every route gets a 2-byte code so that messages carry the code
 * instead of the string. Routes come from `config/dictionary.json` (an array of route strings,
 * typically push routes such as `onChat`) followed by every handler method found under
 * `app/servers/<type>/handler/`, in a stable order, so every frontend of the app builds the same
 * dictionary and the same version. Clients that already hold this version are not sent it again.
 */
export class RouteDictionary {
  /** route → code, as sent in the handshake (`dict`, `routeToCode`). */
  readonly routeToCode: Record<string, number> = {};
  /** code → route (`codeToRoute`). */
  readonly codeToRoute: Record<number, string> = {};
  readonly version: string;

  constructor(routes: readonly string[]) {
    let code = 1;
    for (const route of routes) {
      if (route in this.routeToCode) continue;
      if (code > 0xffff) throw new Error(`route dictionary: more than ${0xffff} routes`);
      this.routeToCode[route] = code;
      this.codeToRoute[code] = route;
      code++;
    }
    this.version = createHash('sha1').update(JSON.stringify(this.routeToCode)).digest('hex').slice(0, 16);
  }

  code(route: string): number | undefined {
    return this.routeToCode[route];
  }

  route(code: number): string | undefined {
    return this.codeToRoute[code];
  }

  get size(): number {
    return Object.keys(this.routeToCode).length;
  }
}

/** Builds the app's dictionary from `config/dictionary.json` and the handler modules of every server type. */
export async function buildDictionary(base: string): Promise<RouteDictionary> {
  const routes: string[] = [];
  const file = join(base, 'config', 'dictionary.json');
  if (existsSync(file)) {
    let listed: unknown;
    try {
      listed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(listed) || listed.some((route) => typeof route !== 'string')) {
      throw new Error(`${file}: expected an array of route strings`);
    }
    routes.push(...(listed as string[]));
  }
  const servers = join(base, 'app', 'servers');
  const types = existsSync(servers) ? readdirSync(servers, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort() : [];
  for (const type of types) {
    for (const [handler, definition] of await loadDefinitions(base, type, 'handler')) {
      for (const method of definitionMethods(definition) ?? []) routes.push(`${type}.${handler}.${method}`);
    }
  }
  return new RouteDictionary(routes);
}
