import { sessionMachine, type SessionPort } from '../../machines/session.ts';
import type { ClientLink, LinkHandler } from '../../transport/connector/hybrid-server.ts';
import { encodePackage, PackageType, type Package, type ProtocolError } from '../../transport/connector/protocol.ts';
import type { Clock } from '../../clock.ts';
import { MachineRunner } from '../runtime/machine-runner.ts';
import type { TimerWheel } from '../runtime/timer-wheel.ts';
import { json } from './json.ts';
import type { FrontendSession } from './session.ts';

const HEARTBEAT = encodePackage(PackageType.Heartbeat);

/** What a connection needs from the connector that accepted it. */
export interface ConnectionOwner {
  /** Machine input shared by every session (one object, not one per connection). */
  readonly timing: { idleTimeout: number; handshakeTimeout: number; closeTimeout: number };
  readonly heartbeatSeconds: number;
  /** Measures client silence (monotonic) and carries the session machines' timeouts. */
  readonly clock: Pick<Clock, 'now'>;
  readonly wheel: TimerWheel | undefined;
  /** Checks a handshake and tells the connection's machine the outcome. */
  verify(connection: Connection, body: Uint8Array): void;
  /** One data package from a working client. */
  dispatch(connection: Connection, body: Uint8Array): void;
  /** The session reached `closed`. */
  removed(connection: Connection, reason: string): void;
}

/**
 * One client: its link, its session, and its session machine, which decides what its packages may
 * do. The machine runs on a {@link MachineRunner} (no actor per connection: they are thousands).
 * Data packages and heartbeats of a working session take the machine's own `working` transitions
 * (`dispatch`, `answerHeartbeat`) without running it: they are the hot paths, and one step of
 * the machine allocates about 10 KB (a resolved snapshot and xstate's transition), which every
 * heartbeat of every connection would otherwise cost. Everything else, and these packages in any
 * other state, goes through the machine.
 */
export class Connection implements SessionPort, LinkHandler {
  machine!: MachineRunner<typeof sessionMachine>;
  /** When the last package from the client came (monotonic: a change of the system time does not move it). */
  private lastSeen: number;

  constructor(
    private readonly connector: ConnectionOwner,
    readonly link: ClientLink,
    readonly session: FrontendSession,
  ) {
    this.lastSeen = connector.clock.now();
  }

  start(): void {
    this.machine = new MachineRunner(sessionMachine, { port: this, ...this.connector.timing }, this.connector.wheel, this.session.id);
  }

  get working(): boolean {
    return this.machine.value === 'working';
  }

  // LinkHandler: packages up from the transport.
  packages(packages: Package[]): void {
    this.lastSeen = this.connector.clock.now();
    for (const { type, body } of packages) {
      switch (type) {
        case PackageType.Data:
          if (this.working) this.connector.dispatch(this, body);
          else this.machine.send({ type: 'DATA', body });
          break;
        case PackageType.Handshake:
          this.machine.send({ type: 'HANDSHAKE', body });
          break;
        case PackageType.HandshakeAck:
          this.machine.send({ type: 'HANDSHAKE_ACK' });
          break;
        case PackageType.Heartbeat:
          if (this.working) this.answerHeartbeat();
          else this.machine.send({ type: 'HEARTBEAT' });
          break;
        default:
          this.machine.send({ type: 'INVALID', reason: `clients do not send package type ${type}` });
      }
    }
  }

  invalid(error: ProtocolError): void {
    this.machine.send({ type: 'INVALID', reason: error.message });
  }

  closed(reason: string): void {
    this.machine.send({ type: 'LINK_CLOSED', reason });
  }

  // SessionPort: effects the machine asks for.
  verifyHandshake(body: Uint8Array): void {
    this.connector.verify(this, body);
  }

  sendHandshake(body: Uint8Array): void {
    this.link.send(encodePackage(PackageType.Handshake, body));
  }

  answerHeartbeat(): void {
    this.link.send(HEARTBEAT);
  }

  startHeartbeat(): void {
    if (this.connector.heartbeatSeconds > 0) this.link.send(HEARTBEAT);
  }

  silentFor(): number {
    return this.connector.clock.now() - this.lastSeen;
  }

  dispatch(body: Uint8Array): void {
    this.connector.dispatch(this, body);
  }

  sendKick(reason: string): void {
    this.link.send(encodePackage(PackageType.Kick, json({ reason })));
  }

  close(): void {
    this.link.close();
  }

  destroy(): void {
    this.link.destroy();
  }

  ended(reason: string): void {
    this.connector.removed(this, reason);
  }
}
