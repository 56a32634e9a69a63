import type { RpcCaller } from '../../transport/rpc.ts';
import type { Subjects } from '../../transport/subjects.ts';
import type { SessionOperation, SessionResults, SessionSnapshot } from '../../transport/wire.ts';

/**
 * Sessions: what a server knows about one connected client. The frontend holding the connection
 * has the real one ({@link FrontendSession}); a backend handling a forwarded request gets a
 * {@link BackendSession}, a copy whose writes (`bind`, `push`, `kick`) travel back to that
 * frontend over NATS. Handlers see both through the same {@link Session} interface.
 */

/** A session as it travels between servers (defined with the other payloads in src/transport/wire.ts). */
export type { SessionSnapshot } from '../../transport/wire.ts';

/** What every handler gets as its second argument. */
export interface Session {
  readonly id: number;
  readonly frontendId: string;
  /** The bound user, or undefined before `bind`. */
  readonly uid: string | undefined;
  get<T = unknown>(key: string): T | undefined;
  /** Changes a setting here; `push(key)` makes it stick on the frontend. */
  set(key: string, value: unknown): void;
  set(settings: Record<string, unknown>): void;
  remove(key: string): void;
  /** Copies these settings to the frontend session (a no-op on the frontend itself). */
  push(...keys: string[]): Promise<void>;
  pushAll(): Promise<void>;
  /** Binds a user id; fails if the session is bound to another one. */
  bind(uid: string): Promise<void>;
  unbind(uid: string): Promise<void>;
  /** Sends the client a kick package with this reason and closes its connection. */
  kick(reason?: string): Promise<void>;
  toJSON(): SessionSnapshot;
}

export type SessionClosedListener = (session: FrontendSession, reason: string) => void | Promise<unknown>;

/** What a frontend session needs from the connector that owns it. */
export interface SessionOwner {
  bound(session: FrontendSession, uid: string | undefined, previous: string | undefined): void;
  kick(session: FrontendSession, reason: string): void;
}

abstract class BaseSession {
  protected bound: string | undefined;
  protected settings: Record<string, unknown> | undefined;

  constructor(
    readonly id: number,
    readonly frontendId: string,
  ) {}

  get uid(): string | undefined {
    return this.bound;
  }

  set uid(uid: string | undefined) {
    this.bound = uid;
  }

  get<T = unknown>(key: string): T | undefined {
    return this.settings?.[key] as T | undefined;
  }

  set(key: string | Record<string, unknown>, value?: unknown): void {
    this.settings ??= {};
    if (typeof key === 'string') this.settings[key] = value;
    else Object.assign(this.settings, key);
  }

  remove(key: string): void {
    if (this.settings) delete this.settings[key];
  }

  /** The session as it travels (a copy: later changes do not touch it). */
  toJSON(): SessionSnapshot {
    const snapshot: SessionSnapshot = { id: this.id, frontendId: this.frontendId, settings: this.settings ? { ...this.settings } : {} };
    if (this.bound !== undefined) snapshot.uid = this.bound;
    return snapshot;
  }

  protected checkBind(uid: string): void {
    if (typeof uid !== 'string' || uid === '') throw new TypeError(`session ${this.id}: uid must be a non-empty string`);
    if (this.uid !== undefined && this.uid !== uid) {
      throw new Error(`session ${this.id} on ${this.frontendId} is already bound to "${this.uid}"`);
    }
  }
}

/** The session on the frontend holding the client's connection. */
export class FrontendSession extends BaseSession implements Session {
  private listeners: SessionClosedListener[] | undefined;
  /** Set once the connection is gone. */
  closed = false;

  constructor(
    id: number,
    frontendId: string,
    private readonly owner: SessionOwner,
  ) {
    super(id, frontendId);
  }

  /** `'closed'`: the client is gone (disconnect, kick, timeout, server stop). */
  on(event: 'closed', listener: SessionClosedListener): this {
    if (event !== 'closed') throw new Error(`session: unknown event "${String(event)}"`);
    (this.listeners ??= []).push(listener);
    return this;
  }

  async bind(uid: string): Promise<void> {
    this.checkBind(uid);
    if (this.uid === uid) return;
    this.uid = uid;
    this.owner.bound(this, uid, undefined);
  }

  async unbind(uid: string): Promise<void> {
    if (this.uid !== uid) throw new Error(`session ${this.id} is not bound to "${uid}"`);
    this.uid = undefined;
    this.owner.bound(this, undefined, uid);
  }

  async push(): Promise<void> {}

  async pushAll(): Promise<void> {}

  async kick(reason = 'kicked'): Promise<void> {
    this.owner.kick(this, reason);
  }

  /** @internal Replaces settings from a backend's `push`. */
  merge(settings: Record<string, unknown>): void {
    this.set(settings);
  }

  /** @internal Runs the `closed` listeners once; resolves when the async ones have settled. */
  emitClosed(reason: string): Promise<unknown> | undefined {
    if (this.closed) return undefined;
    this.closed = true;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (!listeners) return undefined;
    const pending: Promise<unknown>[] = [];
    for (const listener of listeners) {
      try {
        const result = listener(this, reason);
        if (result instanceof Promise) pending.push(result);
      } catch (error) {
        pending.push(Promise.reject(error));
      }
    }
    return pending.length ? Promise.allSettled(pending) : undefined;
  }
}

/** A frontend's sessions: `app.get('sessionService')` on a frontend. */
export interface SessionService {
  /** Sessions connected now (handshake done or not). */
  readonly size: number;
  get(id: number): FrontendSession | undefined;
  getByUid(uid: string): FrontendSession[];
  /** Kicks every session of `uid` with this reason; returns how many there were. */
  kickByUid(uid: string, reason?: string): number;
}

/** How backends reach a frontend's sessions: the methods served on `<base>.session.<frontendId>` (src/transport/wire.ts). */
export type { SessionOperation } from '../../transport/wire.ts';

type Call = (frontendId: string, operation: SessionOperation) => Promise<unknown>;

/** A copy of a frontend's session on a backend; writes go back to the frontend through NATS. */
export class BackendSession extends BaseSession implements Session {
  constructor(
    snapshot: SessionSnapshot,
    private readonly call: Call,
  ) {
    super(snapshot.id, snapshot.frontendId);
    this.bound = snapshot.uid;
    if (Object.keys(snapshot.settings).length) this.settings = { ...snapshot.settings };
  }

  async bind(uid: string): Promise<void> {
    this.checkBind(uid);
    await this.call(this.frontendId, { method: 'bind', args: [this.id, uid] });
    this.uid = uid;
  }

  async unbind(uid: string): Promise<void> {
    await this.call(this.frontendId, { method: 'unbind', args: [this.id, uid] });
    this.uid = undefined;
  }

  async push(...keys: string[]): Promise<void> {
    const settings: Record<string, unknown> = {};
    for (const key of keys) settings[key] = this.settings?.[key];
    await this.call(this.frontendId, { method: 'push', args: [this.id, settings] });
  }

  async pushAll(): Promise<void> {
    await this.call(this.frontendId, { method: 'push', args: [this.id, { ...this.settings }] });
  }

  async kick(reason = 'kicked'): Promise<void> {
    await this.call(this.frontendId, { method: 'kick', args: [this.id, reason] });
  }
}

/**
 * Sessions of other servers, from a backend (Pomelo's `backendSessionService`):
 * `app.get('backendSessionService')`.
 */
export class BackendSessionService {
  constructor(private readonly runtime: () => { rpc: RpcCaller; subjects: Subjects; timeout: number }) {}

  /** Turns a snapshot from a forwarded request into a live proxy. */
  create(snapshot: SessionSnapshot): BackendSession {
    return new BackendSession(snapshot, this.call);
  }

  /** The sessions of `uid` on one frontend. */
  async getByUid(frontendId: string, uid: string): Promise<BackendSession[]> {
    const snapshots = (await this.call(frontendId, { method: 'getByUid', args: [uid] })) as SessionResults['getByUid'];
    return snapshots.map((snapshot) => this.create(snapshot));
  }

  /** Kicks every session of `uid` on one frontend; resolves with how many there were. */
  async kickByUid(frontendId: string, uid: string, reason = 'kicked'): Promise<number> {
    return (await this.call(frontendId, { method: 'kickByUid', args: [uid, reason] })) as SessionResults['kickByUid'];
  }

  private readonly call: Call = (frontendId, operation) => {
    const { rpc, subjects, timeout } = this.runtime();
    return rpc.call(subjects.session(frontendId), frontendId, { remote: 'session', method: operation.method, args: operation.args }, timeout);
  };
}
