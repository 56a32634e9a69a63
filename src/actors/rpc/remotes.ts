import { existsSync, readdirSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RemoteDefinition } from '../../types.ts';
import { UnknownRemoteError } from '../../errors.ts';
import type { RpcRequest } from '../../transport/rpc.ts';

const moduleExtensions = new Set(['.ts', '.mts', '.js', '.mjs']);

/** The remotes one server serves: instances by name, plus the manifest other servers route by. */
export class RemoteTable {
  private readonly instances = new Map<string, Record<string, unknown>>();
  private readonly methods = new Map<string, Set<string>>();

  constructor(private readonly serverId: string) {}

  add(name: string, instance: object): void {
    const names = methodNames(instance);
    this.instances.set(name, instance as Record<string, unknown>);
    this.methods.set(name, new Set(names));
  }

  has(name: string, method: string): boolean {
    return this.methods.get(name)?.has(method) ?? false;
  }

  /** Remote name → method names, as announced in heartbeats. */
  manifest(): Record<string, string[]> {
    const result: Record<string, string[]> = {};
    for (const [name, methods] of this.methods) result[name] = [...methods];
    return result;
  }

  /** Calls the named method; an unknown remote or method is an error naming what exists. */
  dispatch = (request: RpcRequest): unknown => {
    const instance = this.instances.get(request.remote);
    if (!instance || !this.methods.get(request.remote)?.has(request.method)) {
      const known = [...this.methods].flatMap(([remote, methods]) => [...methods].map((m) => `${remote}.${m}`));
      throw new UnknownRemoteError(this.serverId, request.remote, request.method, known);
    }
    return (instance[request.method] as (...args: unknown[]) => unknown).apply(instance, request.args);
  };
}

/** Own and inherited methods of an object, except `constructor` and `_private` ones. */
function methodNames(instance: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = instance; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === 'constructor' || name.startsWith('_')) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names].sort();
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

/**
 * The methods a definition will serve, found without instantiating it: a class's prototype
 * methods, an object's function properties. A factory's are unknown until it runs (`undefined`).
 */
export function definitionMethods(definition: RemoteDefinition<unknown>): string[] | undefined {
  if (typeof definition === 'function') {
    return isClass(definition) ? methodNames((definition as { prototype: object }).prototype) : undefined;
  }
  return methodNames(definition);
}

/** Turns a remote definition (class, factory or object) into the instance that serves calls. */
export function instantiate<App>(definition: RemoteDefinition<App>, app: App): object {
  if (typeof definition === 'function') {
    return isClass(definition)
      ? new (definition as new (app: App) => object)(app)
      : (definition as (app: App) => object)(app);
  }
  return definition;
}

/**
 * Pomelo's directory convention: every module in `<base>/app/servers/<type>/<kind>/` is one
 * remote (or handler) named after its file, its default export being the definition.
 */
export async function loadDefinitions(base: string, serverType: string, kind: 'remote' | 'handler'): Promise<Map<string, RemoteDefinition>> {
  const dir = join(base, 'app', 'servers', serverType, kind);
  const found = new Map<string, RemoteDefinition>();
  if (!existsSync(dir)) return found;
  for (const file of readdirSync(dir).sort()) {
    const extension = extname(file);
    if (!moduleExtensions.has(extension) || file.endsWith('.d.ts')) continue;
    const module = (await import(pathToFileURL(join(dir, file)).href)) as { default?: RemoteDefinition };
    if (module.default === undefined) {
      throw new Error(`${join(dir, file)}: a ${kind} module must have a default export (a class, a factory or an object)`);
    }
    found.set(basename(file, extension), module.default);
  }
  return found;
}
