/**
 * Spans for the calls a server serves, through `@opentelemetry/api` only: with no SDK
 * registered by the app they are no-ops; with one, a client request and the RPC calls it makes
 * are one trace across servers (the context travels in NATS headers, src/transport/trace.ts).
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import type { TraceCarrier } from '../../transport/trace.ts';
import { whenSettled } from './settle.ts';

/** The tracer's name (the instrumentation scope a user's SDK shows). */
export const TRACER_NAME = 'shaddock';

/**
 * Runs `run` inside a span named `name`, child of the context in `carrier` (a call from another
 * process) or else of the active one, ended when `run` has settled; a failure marks it as an error.
 *
 * @example
 * inSpan('rpc chatRemote.add', call.trace, () => remote.add(uid, rid), { 'rpc.method': 'add' });
 */
export function inSpan(name: string, carrier: TraceCarrier | undefined, run: () => unknown, attributes: Attributes = {}, kind: SpanKind = SpanKind.SERVER): unknown {
  const active = context.active();
  const parent = carrier && Object.keys(carrier).length > 0 ? propagation.extract(active, carrier) : active;
  const span = trace.getTracer(TRACER_NAME).startSpan(name, { kind, attributes }, parent);
  return whenSettled(
    () => context.with(trace.setSpan(parent, span), run),
    (error) => {
      if (error !== undefined) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        if (error instanceof Error) span.recordException(error);
      }
      span.end();
    },
  );
}

export { SpanKind };
