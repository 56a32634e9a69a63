import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../../logger.ts';
import { encode } from '../../transport/codec.ts';
import { subscribeGuarded } from '../../transport/inbound.ts';
import type { EndpointStats } from '../../transport/micro.ts';
import { checkAdminRequest } from '../../transport/wire-check.ts';
import type { AdminCommand, AdminReply, AdminRequest, AdminResults, ServerRow } from '../../transport/wire.ts';

/** What the admin commands do to the cluster: the master's side of them. */
export interface ClusterControl {
  /** The `list` rows: the master's, every standby master's, then one per server. */
  rows(): Promise<ServerRow[]>;
  serverIds(): string[];
  /** Graceful stop of the given servers (all without ids), in stop order; resolves once they are down. */
  stopServers(ids?: readonly string[]): Promise<void>;
  /** Kills every server on purpose; resolves with the pids they had, once all are down. */
  killServers(): Promise<number[]>;
  /** Graceful stop and fresh start of each, with its restart limits reset. */
  restartServers(ids: readonly string[]): Promise<void>;
  /** Validates a servers.json-style entry (with its `serverType`), starts it; returns its id. */
  addServer(raw: Record<string, unknown>): string;
  /** Ends the master itself (after its servers are down). */
  stopMaster(): void;
  /** Stops every standby master (master HA) and waits until each has taken the command. */
  stopStandbys(): Promise<void>;
}

/**
 * The master's admin subject: the `shaddock` CLI's requests (see docs/protocol.md), answered
 * only with the admin token; each command is carried out through {@link ClusterControl}.
 */
export class AdminServer {
  private subscription: Subscription | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly token: string,
    private readonly control: ClusterControl,
    private readonly logger: Logger,
    /** The master's micro endpoint `admin`: each request counted once answered, a refusal as an error. */
    private readonly stats?: EndpointStats,
  ) {}

  start(): void {
    this.subscription = subscribeGuarded(this.nc, this.subject, {
      kind: 'admin',
      check: checkAdminRequest,
      handle: (request, msg) => {
        const started = performance.now();
        void this.handle(request).then((reply) => {
          this.stats?.record(performance.now() - started, reply.ok ? undefined : reply.error);
          try {
            msg.respond(encode(reply));
          } catch {
            // Connection closing after a stop: the CLI watches the master's pid instead.
          }
        });
      },
      malformed: (problem): AdminReply => ({ ok: false, error: `malformed admin request: ${problem}` }),
    });
  }

  stop(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  private async handle(request: AdminRequest): Promise<AdminReply> {
    if (request.token !== this.token) {
      this.logger.warn({ command: request.command }, 'admin request refused: wrong token');
      return { ok: false, error: 'admin token refused: the token does not match this master\'s adminToken' };
    }
    try {
      return { ok: true, result: await this.run(request) };
    } catch (error) {
      return { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
  }

  private async run(command: AdminCommand): Promise<AdminResults[AdminCommand['command']]> {
    const { control } = this;
    const unknownOf = (ids: readonly string[]): void => {
      const known = new Set(control.serverIds());
      const unknown = ids.filter((id) => !known.has(id));
      if (unknown.length) throw new Error(`no such server: ${unknown.join(', ')}`);
    };
    switch (command.command) {
      case 'list':
        return control.rows();
      case 'stop': {
        const ids = command.ids?.length ? command.ids : undefined;
        if (ids) {
          unknownOf(ids);
          await control.stopServers(ids);
          return { stopped: ids };
        }
        // Standbys first: none of them may lead, and start the cluster again, once this one is gone.
        await control.stopStandbys();
        await control.stopServers();
        // Reply first, then let the master machine finish its own stop.
        setImmediate(() => control.stopMaster());
        return { stopped: control.serverIds(), masterPid: process.pid };
      }
      case 'kill': {
        await control.stopStandbys();
        const killed = await control.killServers();
        setImmediate(() => control.stopMaster());
        return { killed, masterPid: process.pid };
      }
      case 'restart': {
        unknownOf(command.ids);
        if (command.ids.length === 0) throw new Error('restart needs at least one server id');
        await control.restartServers(command.ids);
        return { restarted: command.ids };
      }
      case 'add':
        return { added: control.addServer(command.server) };
      default:
        throw new Error(`unknown admin command "${(command as { command: string }).command}"`);
    }
  }
}
