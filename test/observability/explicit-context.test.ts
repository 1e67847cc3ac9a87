import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryJob } from '../../src/control/job-actions.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { decodeJobMessage } from '../../src/core/messages.ts';
import { JOB_ID_ATTR, TENANT_ID_ATTR, THREAD_ID_ATTR } from '../../src/observability/attributes.ts';
import { traceSubmit } from '../../src/observability/submit-tracing.ts';
import { startTracing, type Tracing } from '../../src/observability/tracing.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { makeJob, makeTenant } from '../contract/fixtures.ts';
import { tempPlatforms } from '../support/embedded-platform.ts';

/**
 * The API process traces with `context: 'explicit'` (no AsyncLocalStorage context manager): its spans
 * must still join a job's trace by the parents they are given, and what they send must carry it.
 */
const openPlatform = tempPlatforms('explicit-trace');
const exporter = new InMemorySpanExporter();
let tracing: Tracing;

beforeAll(() => {
  tracing = startTracing({ service: 'silopool-api', local: exporter, context: 'explicit', env: {} });
});
afterAll(async () => {
  await tracing.shutdown();
});

const finished = async () => {
  await tracing.flush();
  return exporter.getFinishedSpans();
};

async function setUp() {
  const { platform } = openPlatform('process');
  await ensureQueue(platform.queue, 'shared_finance', { visibilityTimeoutSec: 30, maxReceiveCount: 3 });
  const tenantId = parseTenantId(`t-${randomUUID().slice(0, 8)}`);
  await platform.directory.create(makeTenant(tenantId));
  const tenant = (await platform.directory.get(tenantId))!;
  const received = async () => {
    const seen = await platform.queue.receive('shared_finance', { maxMessages: 10, visibilityTimeoutSec: 1 });
    return seen.map((m) => ({ jobId: decodeJobMessage(m.body)?.jobId, attributes: m.attributes }));
  };
  return { platform, tenant, received };
}

describe('tracing with explicit parents (the API process)', () => {
  it('makes one job.submit span per submit, names its tenant and job, and puts its traceparent on the message and the record', async () => {
    exporter.reset();
    const { platform, tenant, received } = await setUp();
    const data = tenantDataFor(platform.stores, tenant);
    let active: unknown = 'unset';
    const { job } = await traceSubmit(platform.intake, { tenant }, (traced) => {
      active = trace.getSpan(context.active());
      return submitJob(traced, { tenant, data, model: 'finance', input: { revenue: 1_000_000, years: 3 } });
    });
    // No context manager: nothing is found by the active context, everything by what is passed.
    expect(active).toBeUndefined();

    const spans = await finished();
    expect(spans.map((s) => s.name)).toEqual(['job.submit']);
    const [span] = spans;
    const { traceId, spanId } = span!.spanContext();
    expect(span!.attributes).toMatchObject({ [TENANT_ID_ATTR]: tenant.id, [JOB_ID_ATTR]: job.id });
    expect(span!.resource.attributes[THREAD_ID_ATTR]).toBe(0);

    const traceparent = `00-${traceId}-${spanId}-01`;
    const messages = await received();
    expect(messages).toEqual([{ jobId: job.id, attributes: { traceparent } }]);
    const stored = await data.jobs.get(job.id);
    expect(stored?.story).toMatchObject({ traceId, traceparent });
  });

  it("sends an operator's retry under the action's span, in the job's trace", async () => {
    exporter.reset();
    const { platform, tenant, received } = await setUp();
    const submitTrace = randomUUID().replaceAll('-', '');
    const failed = makeJob(tenant.id, {
      input: {},
      effectiveInput: {},
      status: 'failed',
      attempts: 1,
      error: { code: 'timeout', message: 'ran too long' },
      story: {
        events: [],
        logs: [],
        traceId: submitTrace,
        traceparent: `00-${submitTrace}-00f067aa0ba902b7-01`,
      },
    });
    await tenantDataFor(platform.stores, tenant).jobs.create(failed);
    const deps = { directory: platform.directory, stores: platform.stores, queue: platform.queue };
    await retryJob(deps, { tenantId: tenant.id, jobId: failed.id, by: 'op-1' });

    const retry = (await finished()).find((s) => s.name === 'job.retry')!;
    expect(retry.spanContext().traceId).toBe(submitTrace);
    expect(retry.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    const [message] = await received();
    expect(message?.jobId).toBe(failed.id);
    expect(message?.attributes.traceparent).toBe(`00-${submitTrace}-${retry.spanContext().spanId}-01`);
  });
});
