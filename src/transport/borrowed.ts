import type { NatsConnection, Subscription, SubscriptionOptions } from '@nats-io/transport-node';

/**
 * A view of a NATS connection that belongs to someone else (`createApp({ nats: nc })`): it works
 * like the connection, but its `drain()` and `close()` end only the subscriptions made through
 * it and then flush, leaving the connection itself open for its owner. After that the view
 * reports itself closed (`isClosed()`), so the runtime treats it as gone, while the owner's
 * connection carries on.
 *
 * @example
 * const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
 * const view = borrowConnection(nc);
 * view.subscribe('a.b');
 * await view.drain(); // 'a.b' is drained; nc is still open
 */
export function borrowConnection(nc: NatsConnection): NatsConnection {
  const subscriptions = new Set<Subscription>();
  let released = false;
  const release = async (drain: boolean): Promise<void> => {
    released = true;
    const mine = [...subscriptions];
    subscriptions.clear();
    if (nc.isClosed()) return;
    await Promise.all(mine.map((sub) => (drain ? sub.drain().catch(() => undefined) : sub.unsubscribe())));
    await nc.flush().catch(() => undefined);
  };
  const overrides: Partial<NatsConnection> = {
    subscribe(subject: string, options?: SubscriptionOptions): Subscription {
      const sub = nc.subscribe(subject, options);
      subscriptions.add(sub);
      void sub.closed.then(() => subscriptions.delete(sub));
      return sub;
    },
    drain: () => release(true),
    close: () => release(false),
    isClosed: () => released || nc.isClosed(),
  };
  return new Proxy(nc, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof NatsConnection];
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
