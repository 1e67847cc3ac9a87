import { threadId } from 'node:worker_threads';
import { type Context, propagation } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type Span,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { settingOf } from '../core/settings.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR, THREAD_ID_ATTR } from './attributes.ts';

export interface TracingOptions {
  /** `service.name` of this process or thread: `silopool-api`, `silopool-function`. */
  service: string;
  /** Where spans are kept locally (the embedded span store); absent on AWS. */
  local?: SpanExporter;
  /** Environment with the standard `OTEL_EXPORTER_OTLP_*` variables; `process.env` by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * `explicit`: no context manager, so `context.active()` is always the root context and every span must be
   * started with its parent given (`inSpan`'s `parent`, `startSpan`'s context). The API process runs so:
   * the AsyncLocalStorage context manager's promise hooks slowed every `await` of every request, ~2/3 of
   * what tracing cost a submit (docs/benchmarks.md, session 7), and none of the API's spans nest by the
   * active context. `async` (the default): the active context follows `await`s, for code whose spans nest
   * through calls it does not pass a context to (the function handler).
   */
  context?: 'async' | 'explicit';
}

export interface Tracing {
  /** Exports every span finished so far (the local store and OTLP). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Puts the tenant and job of the surrounding work on every span that does not name them itself, from the
 * context's baggage (which `jobContext` sets and the notification messages carry).
 */
const jobAttributes: SpanProcessor = {
  onStart(span: Span, parent: Context) {
    const baggage = propagation.getBaggage(parent);
    if (!baggage) return;
    for (const key of [TENANT_ID_ATTR, JOB_ID_ATTR]) {
      if (span.attributes[key] !== undefined) continue;
      const entry = baggage.getEntry(key);
      if (entry) span.setAttribute(key, entry.value);
    }
  },
  onEnd: (_span: ReadableSpan) => undefined,
  forceFlush: async () => undefined,
  shutdown: async () => undefined,
};

/**
 * Starts OpenTelemetry tracing for this process or thread (each worker thread has its own API globals, so
 * each calls this once). Spans go to the local store when one is given, and over OTLP/HTTP when the
 * standard `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the exporter reads
 * them, and `OTEL_EXPORTER_OTLP_HEADERS`, itself). W3C trace context and baggage are the propagators.
 */
export function startTracing(options: TracingOptions): Tracing {
  const env = options.env ?? process.env;
  const processors: SpanProcessor[] = [jobAttributes];
  const scheduledDelayMillis = batchDelayMs(env);
  // The local store gets spans in batches: a job makes about ten spans, and a SQLite transaction per span
  // (every thread and process writing the one file) cost more than the job's own writes (profile in
  // docs/benchmarks.md). Batches are written within LOCAL_SPAN_DELAY_MS, and when a thread or process
  // stops (`flushTracing`); offboarding's erase leaves a mark that drops spans still held in a batch.
  if (options.local)
    processors.push(
      new BatchSpanProcessor(options.local, {
        scheduledDelayMillis: LOCAL_SPAN_DELAY_MS,
        maxExportBatchSize: 512,
        maxQueueSize: 8192,
      }),
    );
  // Empty is unset: an empty traces endpoint was taken as set and turned off the general one's export.
  const tracesEndpoint = settingOf(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = tracesEndpoint ?? settingOf(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  if (endpoint) {
    const url = tracesEndpoint ?? `${endpoint.replace(/\/$/, '')}/v1/traces`;
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis }));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: settingOf(env, 'OTEL_SERVICE_NAME') ?? options.service,
      'process.pid': process.pid,
      // Each thread starts its own provider: the thread that recorded a span is its resource's, so a trace
      // shows which thread or process of the function host ran each step.
      [THREAD_ID_ATTR]: threadId,
    }),
    spanProcessors: processors,
  });
  provider.register({
    ...(options.context === 'explicit' ? { contextManager: null } : {}),
    propagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  });
  const tracing = {
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  active = tracing;
  return tracing;
}

/**
 * `OTEL_BSP_SCHEDULE_DELAY` in ms (default 1000). A malformed value is ignored and the default used, as
 * the OpenTelemetry SDKs do: NaN would fire the batch timer at once, again and again, and Node runs a timer
 * past 2³¹−1 ms after 1 ms.
 */
export function batchDelayMs(env: NodeJS.ProcessEnv): number {
  const text = env.OTEL_BSP_SCHEDULE_DELAY?.trim();
  const delay = text ? Number(text) : Number.NaN;
  return Number.isInteger(delay) && delay >= 0 && delay <= 2 ** 31 - 1 ? delay : 1000;
}

/** How long a finished span may wait in memory before the local store has it, ms. */
export const LOCAL_SPAN_DELAY_MS = 200;

let active: Tracing | undefined;

/**
 * Writes the spans this thread or process still holds (a stopping function thread or dedicated process
 * calls it before it ends). Never throws: spans are diagnostics, and a stop must not fail on them.
 */
export async function flushTracing(): Promise<void> {
  await active?.flush().catch(() => undefined);
}
