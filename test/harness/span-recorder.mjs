// A minimal OpenTelemetry set-up written for the tests, standing in for a user's SDK: a context
// manager on AsyncLocalStorage, a W3C trace-context propagator (traceparent only) and a tracer
// provider whose spans, when they end, are published as JSON on NATS, so that a test can see the
// spans of every process of a cluster. Loaded into each process with
// NODE_OPTIONS="--import <this file>" when SHADDOCK_TEST_SPANS_NATS (a NATS URL) and
// SHADDOCK_TEST_SPANS (a subject) are set; without them it does nothing.
// Plain JavaScript so that it loads before any TypeScript loader.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { connect } from '@nats-io/transport-node';

const url = process.env.SHADDOCK_TEST_SPANS_NATS;
const subject = process.env.SHADDOCK_TEST_SPANS;

if (url && subject) {
  const storage = new AsyncLocalStorage();
  context.setGlobalContextManager({
    active: () => storage.getStore() ?? ROOT_CONTEXT,
    with: (ctx, fn, thisArg, ...args) => storage.run(ctx, () => fn.call(thisArg, ...args)),
    bind: (_ctx, target) => target,
    enable() {
      return this;
    },
    disable() {
      return this;
    },
  });

  const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
  propagation.setGlobalPropagator({
    inject(ctx, carrier, setter) {
      const span = trace.getSpanContext(ctx);
      if (!span) return;
      setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-0${span.traceFlags & 1}`);
    },
    extract(ctx, carrier, getter) {
      const value = getter.get(carrier, 'traceparent');
      const match = TRACEPARENT.exec(Array.isArray(value) ? value[0] : value ?? '');
      if (!match) return ctx;
      return trace.setSpanContext(ctx, { traceId: match[1], spanId: match[2], traceFlags: Number.parseInt(match[3], 16), isRemote: true });
    },
    fields: () => ['traceparent'],
  });

  // Connected at the first span only: a process that makes none (the CLI) must be free to exit.
  let nc;
  let connecting;
  const queued = [];
  const publish = (span) => {
    if (nc) return nc.publish(subject, JSON.stringify(span));
    queued.push(span);
    connecting ??= connect({ servers: url, name: `spans:${process.pid}` }).then(
      (connection) => {
        nc = connection;
        for (const queuedSpan of queued.splice(0)) nc.publish(subject, JSON.stringify(queuedSpan));
      },
      () => undefined,
    );
  };

  const tracer = {
    startSpan(name, options = {}, ctx = context.active()) {
      const parent = trace.getSpanContext(ctx);
      const spanContext = { traceId: parent?.traceId ?? randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.SAMPLED };
      const record = { name, traceId: spanContext.traceId, spanId: spanContext.spanId, parentSpanId: parent?.spanId, kind: options.kind, attributes: { ...options.attributes }, status: undefined, serverId: process.env.SHADDOCK_SERVER_ID ?? 'master' };
      let ended = false;
      const span = {
        spanContext: () => spanContext,
        setAttribute(key, value) {
          record.attributes[key] = value;
          return span;
        },
        setAttributes(attributes) {
          Object.assign(record.attributes, attributes);
          return span;
        },
        addEvent: () => span,
        addLink: () => span,
        addLinks: () => span,
        setStatus(status) {
          record.status = status;
          return span;
        },
        updateName(newName) {
          record.name = newName;
          return span;
        },
        end() {
          if (ended) return;
          ended = true;
          publish(record);
        },
        isRecording: () => !ended,
        recordException: () => undefined,
      };
      return span;
    },
    startActiveSpan(name, ...rest) {
      const fn = rest.pop();
      const [options, ctx = context.active()] = rest;
      const span = tracer.startSpan(name, options, ctx);
      return context.with(trace.setSpan(ctx, span), fn, undefined, span);
    },
  };
  trace.setGlobalTracerProvider({ getTracer: () => tracer });
}
