import {
  type Attributes,
  type Context,
  context,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import type { SQSRecord } from 'aws-lambda';
import { JOB_ID_ATTR, TENANT_ID_ATTR } from './attributes.ts';

/**
 * Spans of the job path. Without `startTracing` the OpenTelemetry API is a no-op, so code calling these
 * runs the same (and as fast) where tracing is off: tests of other parts, the CLI.
 */
export const tracer = () => trace.getTracer('silopool');

/** W3C trace context alone: what a message needs to continue a span's trace (no baggage to encode). */
const traceContextPropagator = new W3CTraceContextPropagator();

/** Runs `fn` in an active span named `name`; a throw marks the span as an error and is re-thrown. */
export async function inSpan<T>(
  name: string,
  fn: (span: Span) => Promise<T> | T,
  options: { attributes?: Attributes; kind?: SpanKind; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/**
 * Runs `fn` and records it as an event `name` on the active span, with `silopool.duration_ms` (and `error.type` if
 * it threw): for a step that is worth a line in its span but not a span of its own (a span costs ~5×
 * an event: ids, processors, a row in the store). Without an active recording span, `fn` alone runs.
 */
export async function inSpanEvent<T>(
  name: string,
  fn: () => Promise<T> | T,
  attributes: Attributes = {},
): Promise<T> {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return fn();
  const startedAt = performance.timeOrigin + performance.now();
  let failure: unknown;
  try {
    return await fn();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    const ms = performance.timeOrigin + performance.now() - startedAt;
    const failed = failure === undefined ? {} : { 'error.type': errorType(failure) };
    span.addEvent(name, { ...attributes, 'silopool.duration_ms': ms, ...failed }, startedAt);
  }
}

function errorType(error: unknown): string {
  return error instanceof Error ? error.constructor.name : typeof error;
}

/** Marks `span` as failed with `error` and ends it. */
export function endFailed(span: Span, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error) });
  span.end();
}

/** `parent` (the root context by default) with `span` as its span: the parent of spans started under it. */
export function contextOfSpan(span: Span, parent: Context = ROOT_CONTEXT): Context {
  return trace.setSpan(parent, span);
}

/**
 * `span`'s own trace context as message attributes (`traceparent`, and `tracestate` if it has one), by
 * the W3C propagator alone; none without a tracer provider (the span's context is invalid then). A span
 * the sampler dropped still gives its context, so the work after it is dropped alike.
 */
export function spanTraceAttributes(span: Span): Record<string, string> {
  const carrier: Record<string, string> = {};
  traceContextPropagator.inject(contextOfSpan(span), carrier, defaultTextMapSetter);
  return carrier;
}

/**
 * A context whose baggage names the tenant (and the job, once known): every span started in it carries
 * them (see the processor in tracing.ts), and so does every message sent from it.
 */
export function jobContext(tenantId: string, jobId?: string, parent: Context = context.active()): Context {
  let baggage = propagation.getBaggage(parent) ?? propagation.createBaggage();
  baggage = baggage.setEntry(TENANT_ID_ATTR, { value: tenantId });
  if (jobId !== undefined) baggage = baggage.setEntry(JOB_ID_ATTR, { value: jobId });
  return propagation.setBaggage(parent, baggage);
}

/** The current trace context as queue message attributes (`traceparent`, `tracestate`, `baggage`). */
export function traceAttributes(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/**
 * `message` with a trace context (the active one unless `ctx` is given) added to its attributes; they
 * pass through every queue untouched.
 */
export function withTraceContext<M extends { attributes?: Record<string, string> }>(
  message: M,
  ctx: Context = context.active(),
): M {
  const attributes = traceAttributes(ctx);
  if (Object.keys(attributes).length === 0) return message;
  return { ...message, attributes: { ...message.attributes, ...attributes } };
}

/** An SQS record's message attributes as plain strings: the carrier of the trace context. */
export function recordAttributes(record: Pick<SQSRecord, 'messageAttributes'>): Record<string, string> {
  const carrier: Record<string, string> = {};
  for (const [key, value] of Object.entries(record.messageAttributes ?? {})) {
    if (typeof value?.stringValue === 'string') carrier[key] = value.stringValue;
  }
  return carrier;
}

/** The trace context a message carried, from an SQS record's message attributes (Lambda's and ours). */
export function contextOfRecord(record: Pick<SQSRecord, 'messageAttributes'>): Context {
  return propagation.extract(context.active(), recordAttributes(record));
}

/**
 * The context of a job's trace, from the `traceparent` its record keeps (`story.traceparent`), with its
 * tenant and job as baggage: for work no message carries (a status relayed to event streams, an operator's
 * action). A job recorded before traces has none, and its spans start a trace of their own.
 */
export function jobTraceContext(job: {
  tenantId: string;
  id: string;
  story?: { traceparent?: string | undefined } | undefined;
}): Context {
  const traceparent = job.story?.traceparent;
  const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : context.active();
  return jobContext(job.tenantId, job.id, parent);
}

/** A span of something that happened just now and took no time to speak of (a relayed event). */
export function recordSpan(name: string, parent: Context, attributes: Attributes = {}): void {
  tracer().startSpan(name, { attributes }, parent).end();
}
