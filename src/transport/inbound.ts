/**
 * The one guarded place every incoming NATS message goes through before a handler sees it:
 * decoded, size-checked, shape-checked against its wire type (wire-check.ts). A bad message is
 * dropped and counted per subject kind, logged at most once per kind per interval (with how many
 * were dropped since), and answered with a clear error when it has a reply subject. Nothing
 * thrown, by the decoder, the check or the handler, ever reaches nats.js: a callback that throws
 * stops its connection from reading anything more.
 */
import { headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { CONTENT_TYPE, decodeBody, encode, encodeJson, isJson, JSON_TYPE } from './codec.ts';

/** What a guard tells about drops: to a logger, or to a test. */
export type DropReporter = (report: { kind: string; subject: string; reason: string; dropped: number; since: number }) => void;

/** A message's reply for a request it could not take, in the shape its subject's replies have. */
export type MalformedReply = (problem: string) => unknown;

export interface GuardedHandler<T> {
  /** Subject kind, for counting and logs (`sys`, `hb`, `rpc`, ...). */
  kind: string;
  /** Checks the decoded payload; throws naming what is wrong. */
  check: (value: unknown) => T;
  handle: (value: T, msg: Msg) => void;
  /** Why a well-formed message is refused (e.g. a control command without valid proof), or undefined to take it. */
  authorize?: (value: T) => string | undefined;
  /** For request subjects: the error reply to a bad request. Without it a bad request gets no reply. */
  malformed?: MalformedReply;
}

const LOG_INTERVAL = 10_000;

/** Per-connection counters and the log rate limit. */
export class InboundGuard {
  private readonly drops = new Map<string, number>();
  private readonly lastLogged = new Map<string, { at: number; count: number }>();
  /** Largest payload taken: the connection's max_payload (a bigger one cannot arrive anyway), or 1 MiB. */
  maxBytes: number;

  constructor(
    private report: DropReporter = () => {},
    private readonly now: () => number = () => performance.now(),
    maxBytes = 1024 * 1024,
  ) {
    this.maxBytes = maxBytes;
  }

  /** Where drops are reported from now on (a process sets its logger once it has one). */
  reportTo(report: DropReporter): void {
    this.report = report;
  }

  /** Messages dropped so far, by subject kind. */
  dropped(): Record<string, number> {
    return Object.fromEntries(this.drops);
  }

  /** Runs one message through decode, check and handler; never throws. */
  take<T>(msg: Msg, handler: GuardedHandler<T>): void {
    let value: T;
    try {
      if (msg.data.length > this.maxBytes) throw new Error(`${msg.data.length} bytes, over the ${this.maxBytes}-byte limit`);
      value = handler.check(decodeBody<unknown>(msg));
    } catch (error) {
      this.drop(msg, handler, `malformed: ${(error as Error).message}`);
      return;
    }
    const refused = handler.authorize?.(value);
    if (refused !== undefined) {
      this.drop(msg, handler, `refused: ${refused}`);
      return;
    }
    try {
      handler.handle(value, msg);
    } catch (error) {
      // A handler's own bug: the message is lost, the subscription is not.
      this.drop(msg, handler, `handler threw: ${(error as Error)?.message ?? String(error)}`);
    }
  }

  private drop<T>(msg: Msg, handler: GuardedHandler<T>, reason: string): void {
    const count = (this.drops.get(handler.kind) ?? 0) + 1;
    this.drops.set(handler.kind, count);
    if (msg.reply && handler.malformed) {
      try {
        respondInKind(msg, handler.malformed(reason));
      } catch {
        // Closing: nothing to answer on.
      }
    }
    const now = this.now();
    const last = this.lastLogged.get(handler.kind);
    if (last && now - last.at < LOG_INTERVAL) return;
    this.lastLogged.set(handler.kind, { at: now, count });
    try {
      this.report({ kind: handler.kind, subject: msg.subject, reason, dropped: count - (last?.count ?? 0), since: last ? now - last.at : 0 });
    } catch {
      // A reporter must not break the guard.
    }
  }
}

const guards = new WeakMap<NatsConnection, InboundGuard>();

/** The guard of a connection: one per connection, so one per process. */
export function guardOf(nc: NatsConnection): InboundGuard {
  let guard = guards.get(nc);
  if (!guard) {
    const maxPayload = (nc as { info?: { max_payload?: number } }).info?.max_payload;
    guards.set(nc, (guard = new InboundGuard(undefined, undefined, maxPayload ?? 1024 * 1024)));
  }
  return guard;
}

/**
 * `nc.subscribe` with every message going through the connection's {@link InboundGuard}.
 *
 * @example
 * subscribeGuarded(nc, subjects.sys(id), { kind: 'sys', check: checkSysCommand, handle: (command, msg) => ... });
 */
export function subscribeGuarded<T>(nc: NatsConnection, subject: string, handler: GuardedHandler<T>, options: { queue?: string } = {}): Subscription {
  const guard = guardOf(nc);
  return nc.subscribe(subject, {
    ...options,
    callback: (error, msg) => {
      if (error) return;
      guard.take(msg, handler);
    },
  });
}

/**
 * Answers a request in the encoding it came in: msgpack, or JSON (with its `Content-Type`
 * header) when the request was marked as JSON.
 */
export function respondInKind(msg: Msg, value: unknown): void {
  if (!isJson(msg)) {
    msg.respond(encode(value));
    return;
  }
  const marked = headers();
  marked.set(CONTENT_TYPE, JSON_TYPE);
  msg.respond(encodeJson(value), { headers: marked });
}
