/**
 * W3C trace context on NATS, through `@opentelemetry/api` alone: whatever propagator the app's
 * own OpenTelemetry SDK registers (W3C `traceparent`/`tracestate` with the usual one) writes the
 * active context into a carrier, which travels as NATS headers on RPC requests and inside each
 * forwarded call. With no SDK registered the API is a no-op and nothing is added.
 */
import { context, propagation } from '@opentelemetry/api';
import { headers, type MsgHdrs } from '@nats-io/transport-node';

/** Trace context as text fields (`traceparent`, `tracestate`); empty when there is none. */
export type TraceCarrier = Record<string, string>;

/** The fields a W3C propagator uses, the only ones read back from a message's headers. */
const TRACE_FIELDS = ['traceparent', 'tracestate'] as const;

/** The active context, written by the registered propagator; `undefined` when it wrote nothing. */
export function currentTrace(): TraceCarrier | undefined {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  for (const _ in carrier) return carrier;
  return undefined;
}

/** NATS headers carrying the active context, or `undefined` when there is none to carry. */
export function traceHeaders(): MsgHdrs | undefined {
  const carrier = currentTrace();
  if (!carrier) return undefined;
  const marked = headers();
  for (const [key, value] of Object.entries(carrier)) marked.set(key, value);
  return marked;
}

/** The trace fields of a message's headers (empty without any). */
export function traceOf(msgHeaders: MsgHdrs | undefined): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (!msgHeaders) return carrier;
  for (const field of TRACE_FIELDS) {
    const value = msgHeaders.get(field);
    if (value) carrier[field] = value;
  }
  return carrier;
}
