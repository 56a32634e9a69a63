/**
 * Every NATS subject Shaddock uses, built in one place so that the protocol in
 * `docs/protocol.md` and the code cannot drift apart; their payloads are typed in wire.ts. All live under `<prefix>.<cluster>`,
 * so a cluster can share a NATS system with other applications and other clusters.
 */
export interface Subjects {
  /** `<base>.rpc.<serverId>`: request/reply to a server's remotes. */
  rpc(serverId: string): string;
  /** `<base>.sys.<serverId>`: control requests to one server process (stop). */
  sys(serverId: string): string;
  /** `<base>.handler.<serverId>`: batches of client requests frontends forward to this server's handlers. */
  handler(serverId: string): string;
  /** `<base>.handled.<frontendId>`: batches of answers to the requests that frontend forwarded. */
  handled(frontendId: string): string;
  /** `<base>.session.<frontendId>`: a backend's session operations (bind, push, kick...) on a frontend. */
  session(frontendId: string): string;
  /** `<base>.push.<frontendId>`: messages for clients of that frontend (one per push, any number of users). */
  push(frontendId: string): string;
  /** `<base>.watch.<serverId>`: a watcher takes or renews its inspection lease on that process and gets its snapshot. */
  watch(serverId: string): string;
  /** `<base>.inspect.<serverId>`: batches of that process's machine transitions, published while a lease is alive. */
  inspect(serverId: string): string;
  /** `<base>.hb`: every server announces itself here each heartbeat interval. */
  readonly heartbeat: string;
  /** `<base>.discover`: a newcomer asks everyone to announce themselves now. */
  readonly discover: string;
  /** `<base>.admin`: CLI requests to the master. */
  readonly admin: string;
  /** `<base>.masters`: every master answers who it is (leader and standbys). */
  readonly masters: string;
  /** `<base>.events`: cluster-wide announcements from the master (e.g. all servers started). */
  readonly events: string;
  /** `<base>.>`: everything of this cluster. */
  readonly all: string;
}

const token = /^[A-Za-z0-9_-]+$/;

/**
 * @example
 * const s = subjects('shaddock', 'chat');
 * s.rpc('chat-server-1'); // 'shaddock.chat.rpc.chat-server-1'
 */
export function subjects(prefix: string, cluster: string): Subjects {
  for (const [name, value] of [['prefix', prefix], ['cluster', cluster]] as const) {
    if (!token.test(value)) throw new Error(`subject ${name} "${value}" must match ${token}`);
  }
  const base = `${prefix}.${cluster}`;
  return {
    rpc: (serverId) => `${base}.rpc.${serverId}`,
    sys: (serverId) => `${base}.sys.${serverId}`,
    handler: (serverId) => `${base}.handler.${serverId}`,
    handled: (frontendId) => `${base}.handled.${frontendId}`,
    session: (frontendId) => `${base}.session.${frontendId}`,
    push: (frontendId) => `${base}.push.${frontendId}`,
    watch: (serverId) => `${base}.watch.${serverId}`,
    inspect: (serverId) => `${base}.inspect.${serverId}`,
    heartbeat: `${base}.hb`,
    discover: `${base}.discover`,
    admin: `${base}.admin`,
    masters: `${base}.masters`,
    events: `${base}.events`,
    all: `${base}.>`,
  };
}
