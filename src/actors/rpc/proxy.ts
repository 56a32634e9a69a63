import type { RouteParam, RpcClient } from '../../types.ts';

/** Per-call options: `app.rpc.chat.chatRemote.withOptions({ timeout: 500 }).add(...)`. */
export interface CallOptions {
  /** ms to wait for the reply before rejecting with `RpcTimeoutError`. */
  timeout?: number;
}

export type Invoke = (
  serverType: string,
  target: { routeParam: RouteParam } | { serverId: string },
  remote: string,
  method: string,
  args: unknown[],
  options: CallOptions,
) => Promise<unknown>;

/**
 * Builds `app.rpc`: `rpc[type][remote][method](routeParam, ...args)`, `rpc[type][remote].toServer(id)[method](...args)`
 * and `.withOptions({ timeout })` on either. Proxies are cached so a hot call path allocates nothing
 * but the call's own arguments.
 */
export function createRpcProxy(invoke: Invoke): RpcClient {
  const types = new Map<string, object>();
  return new Proxy({} as RpcClient, {
    get(_target, serverType) {
      if (typeof serverType !== 'string') return undefined;
      let remotes = types.get(serverType);
      if (!remotes) types.set(serverType, (remotes = remotesProxy(invoke, serverType)));
      return remotes;
    },
  });
}

function remotesProxy(invoke: Invoke, serverType: string): object {
  const remotes = new Map<string, object>();
  return new Proxy({}, {
    get(_target, remote) {
      if (typeof remote !== 'string') return undefined;
      let client = remotes.get(remote);
      if (!client) remotes.set(remote, (client = remoteClient(invoke, serverType, remote, {})));
      return client;
    },
  });
}

function remoteClient(invoke: Invoke, serverType: string, remote: string, options: CallOptions): object {
  const methods = new Map<string | symbol, unknown>();
  methods.set('toServer', (serverId: string) => onServer(invoke, serverType, remote, serverId, options));
  methods.set('withOptions', (more: CallOptions) => remoteClient(invoke, serverType, remote, { ...options, ...more }));
  return new Proxy({}, {
    get(_target, method) {
      if (typeof method !== 'string') return undefined;
      let fn = methods.get(method);
      if (!fn) {
        fn = (routeParam: RouteParam, ...args: unknown[]) => invoke(serverType, { routeParam }, remote, method, args, options);
        methods.set(method, fn);
      }
      return fn;
    },
  });
}

function onServer(invoke: Invoke, serverType: string, remote: string, serverId: string, options: CallOptions): object {
  const target = { serverId };
  const methods = new Map<string, unknown>();
  methods.set('withOptions', (more: CallOptions) => onServer(invoke, serverType, remote, serverId, { ...options, ...more }));
  return new Proxy({}, {
    get(_target, method) {
      if (typeof method !== 'string') return undefined;
      let fn = methods.get(method);
      if (!fn) {
        fn = (...args: unknown[]) => invoke(serverType, target, remote, method, args, options);
        methods.set(method, fn);
      }
      return fn;
    },
  });
}
