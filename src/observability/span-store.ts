import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ExportResult } from '@opentelemetry/core';
import { ExportResultCode, hrTimeToMilliseconds } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import Database from 'better-sqlite3';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../core/file-modes.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR, THREAD_ID_ATTR } from './attributes.ts';

/** The span file of a folder: `DATA_DIR/traces.sqlite`, and a dedicated tenant's own in its store folder. */
export const TRACES_FILE = 'traces.sqlite';

/** A finished span as the local store keeps it (times in epoch milliseconds). */
export interface StoredSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  /** The OS process that recorded it. */
  pid: number;
  /** The Node thread (`worker_threads.threadId`, 0 for the main thread) that recorded it. */
  threadId: number;
  tenantId?: string;
  jobId?: string;
  startMs: number;
  durationMs: number;
  /** OpenTelemetry status: 0 unset, 1 ok, 2 error. */
  status: number;
  attributes: Record<string, unknown>;
  events: { name: string; atMs: number; attributes?: Record<string, unknown> }[];
}

export interface SpanStoreLimits {
  /** Spans kept at most (a ring: the oldest go first). */
  maxSpans: number;
  /** Spans older than this go, milliseconds. */
  retentionMs: number;
}

/**
 * How long an erase mark (a tenant id and when it was erased) is kept, ms: far longer than a writer holds
 * a batch (LOCAL_SPAN_DELAY_MS in tracing.ts); pruned with the spans after that.
 */
const ERASE_MARK_MS = 10 * 60_000;

export const DEFAULT_SPAN_LIMITS: SpanStoreLimits = { maxSpans: 100_000, retentionMs: 7 * 24 * 3_600_000 };

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS spans (
    seq INTEGER PRIMARY KEY,
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    service TEXT NOT NULL,
    pid INTEGER NOT NULL,
    thread_id INTEGER NOT NULL,
    tenant_id TEXT,
    job_id TEXT,
    start_ms REAL NOT NULL,
    duration_ms REAL NOT NULL,
    status INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS spans_job ON spans (tenant_id, job_id);
  CREATE INDEX IF NOT EXISTS spans_start ON spans (start_ms);
  CREATE TABLE IF NOT EXISTS erased_tenants (
    tenant_id TEXT PRIMARY KEY,
    erased_at_ms REAL NOT NULL
  );
  DROP INDEX IF EXISTS spans_trace;
`;

interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string | null;
  name: string;
  service: string;
  pid: number;
  thread_id: number;
  tenant_id: string | null;
  job_id: string | null;
  start_ms: number;
  duration_ms: number;
  status: number;
  attributes: string;
  events: string;
}

/**
 * Spans on disk in a SQLite file of their own (`DATA_DIR/traces.sqlite`), so the embedded default shows a
 * job's trace without a collector. Every thread and process that traces opens the same file (WAL: one
 * writer at a time, readers beside it); the store stays bounded by count (a ring) and by age.
 */
export function openSpanStore(path: string, limits: SpanStoreLimits = DEFAULT_SPAN_LIMITS) {
  mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  const db = new Database(path, { timeout: 10_000 });
  // Spans are diagnostics: NORMAL sync is enough, and the busy timeout lets threads queue for the lock.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(SCHEMA);
  // Rows go in with one multi-row INSERT per chunk of a batch: a statement per span cost more than the
  // span's own B-tree writes (docs/benchmarks.md, session 7).
  const inserts = new Map<number, Database.Statement>();
  const insertOf = (rows: number) => {
    let statement = inserts.get(rows);
    if (!statement) {
      const values = Array.from({ length: rows }, () => `(${ROW_PLACEHOLDERS})`).join(',');
      statement = db.prepare(`INSERT INTO spans (${ROW_COLUMNS}) VALUES ${values}`);
      inserts.set(rows, statement);
    }
    return statement;
  };
  const erasedMarks = db.prepare<[], { tenant_id: string; erased_at_ms: number }>(
    'SELECT tenant_id, erased_at_ms FROM erased_tenants',
  );
  const pruneSpans = db.prepare(
    'DELETE FROM spans WHERE seq <= (SELECT max(seq) FROM spans) - @maxSpans OR start_ms < @before',
  );
  const pruneErased = db.prepare('DELETE FROM erased_tenants WHERE erased_at_ms < @before');
  const prune = {
    run(bounds: { maxSpans: number; before: number }) {
      pruneSpans.run(bounds);
      pruneErased.run({ before: Date.now() - ERASE_MARK_MS });
    },
  };
  const byJob = db.prepare<[string, string], SpanRow>(
    'SELECT * FROM spans WHERE tenant_id = ? AND job_id = ? ORDER BY start_ms, seq',
  );
  let sincePrune = 0;

  // IMMEDIATE: the erase marks read first must still hold when the rows go in (offboarding's erase takes
  // the same write lock).
  const writeRows = db.transaction((rows: SpanRowValues[]) => {
    // A span of a tenant erased after the span started is dropped: spans are written in batches, and a
    // batch still held when offboarding erased the tenant must not bring its spans back. A tenant onboarded
    // again under the same id starts its spans after the erase, so they are kept. The marks are few (pruned
    // after ERASE_MARK_MS): read once per batch.
    const marks = erasedMarks.all();
    const kept = marks.length === 0 ? rows : rows.filter((row) => !erasedBefore(marks, row));
    for (let at = 0; at < kept.length; at += MAX_ROWS_PER_INSERT) {
      const chunk = kept.slice(at, at + MAX_ROWS_PER_INSERT);
      insertOf(chunk.length).run(chunk.flat());
    }
    // Pruning on every write would double its cost; every 100 spans keeps the overshoot small.
    sincePrune += rows.length;
    if (sincePrune >= 100) {
      sincePrune = 0;
      prune.run({ maxSpans: limits.maxSpans, before: Date.now() - limits.retentionMs });
    }
  });
  const write = (rows: SpanRowValues[]) => {
    if (rows.length > 0) writeRows.immediate(rows);
  };

  return {
    write: (spans: StoredSpan[]) => write(spans.map(rowOfStored)),
    /** Writes finished OpenTelemetry spans (what the exporter hands over). */
    writeSpans: (spans: ReadableSpan[]) => write(spans.map(rowOfSpan)),
    /** The spans recorded for one tenant's job, oldest first. */
    spansOfJob: (tenantId: string, jobId: string): StoredSpan[] => byJob.all(tenantId, jobId).map(fromRow),
    /** Applies the bounds now. */
    prune: () => prune.run({ maxSpans: limits.maxSpans, before: Date.now() - limits.retentionMs }),
    count: () => (db.prepare('SELECT count(*) AS n FROM spans').get() as { n: number }).n,
    close: () => db.close(),
  };
}

export type SpanStore = ReturnType<typeof openSpanStore>;

/**
 * Spans of a job from a trace file another process writes (a dedicated tenant's own), read-only; none when
 * the file does not exist yet.
 */
export function readSpansOfJob(path: string, tenantId: string, jobId: string): StoredSpan[] {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return [];
  }
  try {
    return db
      .prepare<[string, string], SpanRow>(
        'SELECT * FROM spans WHERE tenant_id = ? AND job_id = ? ORDER BY start_ms, seq',
      )
      .all(tenantId, jobId)
      .map(fromRow);
  } catch {
    // A file made by a process that has not written a span yet has no table.
    return [];
  } finally {
    db.close();
  }
}

function fromRow(r: SpanRow): StoredSpan {
  return {
    traceId: r.trace_id,
    spanId: r.span_id,
    ...(r.parent_span_id ? { parentSpanId: r.parent_span_id } : {}),
    name: r.name,
    service: r.service,
    pid: r.pid,
    threadId: r.thread_id,
    ...(r.tenant_id ? { tenantId: r.tenant_id } : {}),
    ...(r.job_id ? { jobId: r.job_id } : {}),
    startMs: r.start_ms,
    durationMs: r.duration_ms,
    status: r.status,
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
    events: JSON.parse(r.events) as StoredSpan['events'],
  };
}

/** The OpenTelemetry exporter that writes finished spans into the local store. */
export function spanStoreExporter(store: SpanStore): SpanExporter {
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      try {
        store.writeSpans(spans);
        done({ code: ExportResultCode.SUCCESS });
      } catch (error) {
        done({ code: ExportResultCode.FAILED, error: error as Error });
      }
    },
    async shutdown() {
      store.close();
    },
  };
}

/** The columns a span is written with, in the order of `SpanRowValues`. */
const ROW_COLUMNS =
  'trace_id, span_id, parent_span_id, name, service, pid, thread_id, tenant_id, job_id, start_ms, duration_ms, status, attributes, events';
const ROW_PLACEHOLDERS = ROW_COLUMNS.split(',')
  .map(() => '?')
  .join(',');
/** Rows per INSERT statement: 14 parameters each, far below SQLite's 32,766 per statement. */
const MAX_ROWS_PER_INSERT = 64;

/** One span as the values of `ROW_COLUMNS`. */
type SpanRowValues = [
  traceId: string,
  spanId: string,
  parentSpanId: string | null,
  name: string,
  service: string,
  pid: number,
  threadId: number,
  tenantId: string | null,
  jobId: string | null,
  startMs: number,
  durationMs: number,
  status: number,
  attributes: string,
  events: string,
];

function erasedBefore(marks: { tenant_id: string; erased_at_ms: number }[], row: SpanRowValues): boolean {
  return marks.some((mark) => mark.tenant_id === row[7] && mark.erased_at_ms >= row[9]);
}

function rowOfStored(s: StoredSpan): SpanRowValues {
  return [
    s.traceId,
    s.spanId,
    s.parentSpanId ?? null,
    s.name,
    s.service,
    s.pid,
    s.threadId,
    s.tenantId ?? null,
    s.jobId ?? null,
    s.startMs,
    s.durationMs,
    s.status,
    JSON.stringify(s.attributes),
    JSON.stringify(s.events),
  ];
}

/**
 * A finished span as a row. The thread that recorded it is a resource attribute of the thread's tracer
 * provider (`startTracing`); a span recorded before that, or elsewhere, may carry it as an attribute.
 */
function rowOfSpan(span: ReadableSpan): SpanRowValues {
  const attrs = span.attributes;
  const resource = span.resource.attributes;
  const context = span.spanContext();
  const tenantId = attrs[TENANT_ID_ATTR];
  const jobId = attrs[JOB_ID_ATTR];
  return [
    context.traceId,
    context.spanId,
    span.parentSpanContext?.spanId ?? null,
    span.name,
    String(resource['service.name'] ?? 'silopool'),
    Number(resource['process.pid'] ?? process.pid),
    Number(resource[THREAD_ID_ATTR] ?? attrs[THREAD_ID_ATTR] ?? 0),
    typeof tenantId === 'string' ? tenantId : null,
    typeof jobId === 'string' ? jobId : null,
    hrTimeToMilliseconds(span.startTime),
    hrTimeToMilliseconds(span.duration),
    span.status.code,
    JSON.stringify(attrs),
    span.events.length === 0
      ? '[]'
      : JSON.stringify(
          span.events.map((e) => ({
            name: e.name,
            atMs: hrTimeToMilliseconds(e.time),
            ...(e.attributes ? { attributes: e.attributes } : {}),
          })),
        ),
  ];
}

/**
 * Deletes every span of a tenant from a span file (offboarding) and records the erase, so spans of the
 * tenant that started before it and are still held in a writer's batch are dropped when the batch is
 * written; the number deleted, 0 without the file.
 */
export function eraseTenantSpans(path: string, tenantId: string): number {
  return withSpanFile(path, (db) => {
    db.exec(SCHEMA);
    // The erased spans' bytes are zeroed, not left in free pages (this connection only: the ring's own
    // pruning of old spans need not pay for it).
    db.pragma('secure_delete = ON');
    return db
      .transaction(() => {
        db.prepare(
          'INSERT INTO erased_tenants (tenant_id, erased_at_ms) VALUES (?, ?) ' +
            'ON CONFLICT (tenant_id) DO UPDATE SET erased_at_ms = excluded.erased_at_ms',
        ).run(tenantId, Date.now());
        return db.prepare('DELETE FROM spans WHERE tenant_id = ?').run(tenantId).changes;
      })
      .immediate();
  });
}

/** Spans of a tenant still in a span file: what offboarding's verification looks for. */
export function countTenantSpans(path: string, tenantId: string): number {
  return withSpanFile(
    path,
    (db) =>
      (db.prepare('SELECT count(*) AS n FROM spans WHERE tenant_id = ?').get(tenantId) as { n: number }).n,
  );
}

function withSpanFile(path: string, use: (db: Database.Database) => number): number {
  if (!existsSync(path)) return 0;
  const db = new Database(path, { timeout: 10_000 });
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spans'").get();
    return table ? use(db) : 0;
  } finally {
    db.close();
  }
}
