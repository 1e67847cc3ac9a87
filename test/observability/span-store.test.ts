import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  countTenantSpans,
  eraseTenantSpans,
  openSpanStore,
  readSpansOfJob,
  type StoredSpan,
} from '../../src/observability/span-store.ts';
import { batchDelayMs } from '../../src/observability/tracing.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function spanFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-spans-'));
  dirs.push(dir);
  return join(dir, 'traces.sqlite');
}

const span = (tenantId: string, jobId: string, startMs: number, name = 'job.deliver'): StoredSpan => ({
  traceId: randomUUID().replaceAll('-', ''),
  spanId: randomUUID().replaceAll('-', '').slice(0, 16),
  name,
  service: 'silopool-test',
  pid: process.pid,
  threadId: 0,
  tenantId,
  jobId,
  startMs,
  durationMs: 1,
  status: 0,
  attributes: {},
  events: [],
});

describe('the local span store', () => {
  it('keeps at most maxSpans, dropping the oldest first (a ring)', () => {
    const path = spanFile();
    const store = openSpanStore(path, { maxSpans: 150, retentionMs: 3_600_000 });
    const now = Date.now();
    for (let i = 0; i < 400; i++) store.write([span('t-ring', `j${i}`, now + i)]);
    store.prune();
    expect(store.count()).toBe(150);
    expect(store.spansOfJob('t-ring', 'j0')).toEqual([]);
    expect(store.spansOfJob('t-ring', 'j399')).toHaveLength(1);
    store.close();
  });

  it('drops spans older than its retention', () => {
    const path = spanFile();
    const store = openSpanStore(path, { maxSpans: 1000, retentionMs: 60_000 });
    store.write([span('t-old', 'j-old', Date.now() - 120_000), span('t-old', 'j-new', Date.now())]);
    store.prune();
    expect(store.spansOfJob('t-old', 'j-old')).toEqual([]);
    expect(store.spansOfJob('t-old', 'j-new')).toHaveLength(1);
    store.close();
  });

  it("reads one tenant's job only, from another connection, and erases a tenant's spans", () => {
    const path = spanFile();
    const store = openSpanStore(path);
    const now = Date.now();
    store.write([
      span('a1', 'j1', now, 'second'),
      span('a1', 'j1', now - 5, 'first'),
      span('a1-x', 'j1', now),
    ]);
    expect(readSpansOfJob(path, 'a1', 'j1').map((s) => s.name)).toEqual(['first', 'second']);
    expect(readSpansOfJob(join(path, '..', 'missing.sqlite'), 'a1', 'j1')).toEqual([]);
    expect(eraseTenantSpans(path, 'a1')).toBe(2);
    expect(countTenantSpans(path, 'a1')).toBe(0);
    expect(countTenantSpans(path, 'a1-x')).toBe(1);
    store.close();
  });

  it("leaves none of an erased tenant's span bytes in the span file", () => {
    const path = spanFile();
    const store = openSpanStore(path);
    const marker = `detail of ${randomUUID()}`;
    store.write([{ ...span('e3', 'j1', Date.now()), attributes: { 'error.message': marker } }]);
    store.close();
    expect(eraseTenantSpans(path, 'e3')).toBe(1);
    // Every connection closed: the WAL is checkpointed into the file and removed, the file is what stays.
    expect(readFileSync(path).includes(marker)).toBe(false);
  });

  it("drops the spans of an erased tenant that a writer still held in a batch, and keeps a new onboarding's", () => {
    const path = spanFile();
    const store = openSpanStore(path);
    const before = Date.now() - 100;
    store.write([span('e1', 'j-old', before)]);
    expect(eraseTenantSpans(path, 'e1')).toBe(1);
    // A batch written after the erase: spans that started before it are the erased tenant's, dropped.
    store.write([span('e1', 'j-held', before), span('e2', 'j-other', before)]);
    expect(countTenantSpans(path, 'e1')).toBe(0);
    expect(countTenantSpans(path, 'e2')).toBe(1);
    // The tenant onboarded again under the same id: its spans start after the erase and are kept.
    store.write([span('e1', 'j-new', Date.now() + 1)]);
    expect(store.spansOfJob('e1', 'j-new')).toHaveLength(1);
    store.close();
  });
});

describe('OTEL_BSP_SCHEDULE_DELAY', () => {
  it('is used when it is a whole number of ms a timer can hold, else the default 1000 ms', () => {
    const delay = (value?: string) =>
      batchDelayMs(value === undefined ? {} : { OTEL_BSP_SCHEDULE_DELAY: value });
    expect(delay('250')).toBe(250);
    expect(delay('0')).toBe(0);
    for (const bad of [undefined, '', ' ', 'abc', '-5', '1.5', '9999999999', 'Infinity'])
      expect(delay(bad)).toBe(1000);
  });
});
