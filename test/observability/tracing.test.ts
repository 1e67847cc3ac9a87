import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spanNamesByTrace, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  service: string;
  pid: number;
  threadId: number;
  tenantId?: string;
  jobId?: string;
  startMs: number;
  events: { name: string; atMs: number; attributes?: Record<string, unknown> }[];
}

interface Step {
  step: string;
  at: string;
  durationMs?: number;
  attempt?: number;
  lane?: string;
  fn?: string;
}

describe("a job's trace and story", () => {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const shared = newTenantId('trs');
  const dedicated = newTenantId('trd');
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    server = await startTestServer({
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // The receiver doubles as the webhook endpoint of one tenant.
        SILOPOOL_WEBHOOK_ALLOW_HTTP: '1',
        SILOPOOL_WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      },
    });
    keys[shared] = (await server.createTenant(shared)).apiKey;
    keys[dedicated] = (await server.createTenant(dedicated, { placement: 'dedicated' })).apiKey;
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    receiver?.server.close();
  });

  const submit = async (tenant: string): Promise<string> => {
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: keys[tenant]!,
      body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await waitForJob(server, keys[tenant]!, id)).status).toBe('succeeded');
    return id;
  };

  /** The operator's view of the job, polled until the function's spans have been written. */
  const spansOf = async (tenant: string, jobId: string, names: string[]): Promise<Span[]> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const res = await server.api(`/v1/admin/tenants/${tenant}/jobs/${jobId}`, {
        token: server.operatorToken,
      });
      expect(res.status).toBe(200);
      const spans = ((await res.json()) as { spans: Span[] }).spans;
      if (names.every((n) => spans.some((s) => s.name === n)) || Date.now() > deadline) return spans;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('is one trace from the API process into a function thread, tenant and job on every span', async () => {
    const jobId = await submit(shared);
    const spans = await spansOf(shared, jobId, ['job.submit', 'job.deliver', 'workbook.render']);
    const submitSpan = spans.find((s) => s.name === 'job.submit')!;
    const deliver = spans.find((s) => s.name === 'job.deliver')!;
    expect(submitSpan).toBeDefined();
    expect(deliver).toBeDefined();
    // One trace: the function continued the context the message carried.
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([submitSpan.traceId]));
    // The submit is one span (record and message in one commit); the message carried its context.
    expect(deliver.parentSpanId).toBe(submitSpan.spanId);
    expect(spans.filter((s) => s.name === 'job.submit')).toHaveLength(1);
    // Across the thread boundary: the API's main thread, the function's worker thread, same process.
    expect(submitSpan.threadId).toBe(0);
    expect(deliver.threadId).toBeGreaterThan(0);
    expect(deliver.pid).toBe(submitSpan.pid);
    for (const span of spans) expect(span).toMatchObject({ tenantId: shared, jobId });
    for (const name of ['model.run', 'workbook.render']) {
      expect(spans.find((s) => s.name === name)?.parentSpanId).toBe(deliver.spanId);
    }
    // The job store's writes are timed events of the delivery, one per status it wrote, not spans.
    expect(spans.some((s) => s.name === 'jobstore.update')).toBe(false);
    const writes = deliver.events.filter((e) => e.name === 'jobstore.update');
    expect(writes.map((e) => e.attributes?.['silopool.status'])).toEqual(['running', 'succeeded']);
    for (const write of writes) {
      expect(write.attributes?.['silopool.duration_ms']).toBeGreaterThanOrEqual(0);
      expect(write.atMs).toBeGreaterThanOrEqual(deliver.startMs);
    }
  });

  it('crosses into a dedicated function process and back under one trace id', async () => {
    const jobId = await submit(dedicated);
    const spans = await spansOf(dedicated, jobId, ['job.submit', 'job.deliver', 'workbook.render']);
    const submitSpan = spans.find((s) => s.name === 'job.submit')!;
    const deliver = spans.find((s) => s.name === 'job.deliver')!;
    expect(deliver.traceId).toBe(submitSpan.traceId);
    expect(deliver.pid).not.toBe(submitSpan.pid);
    expect(deliver.service).toBe(`silopool-function-${dedicated}`);
  });

  it('exports the same spans over OTLP/HTTP to the configured endpoint', async () => {
    const jobId = await submit(shared);
    const res = await server.api(`/v1/jobs/${jobId}/timeline`, { token: keys[shared]! });
    const { traceId } = (await res.json()) as { traceId: string };
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const deadline = Date.now() + 10_000;
    const names = () => spanNamesByTrace(receiver.bodies).get(traceId) ?? new Set<string>();
    while (!(names().has('job.submit') && names().has('job.deliver')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect([...names()]).toEqual(expect.arrayContaining(['job.submit', 'job.deliver', 'model.run']));
  });

  it('follows the notification to the webhook delivery, and the story records it', async () => {
    const hooked = newTenantId('trh');
    keys[hooked] = (await server.createTenant(hooked)).apiKey;
    const set = await server.api('/v1/settings/webhook', {
      method: 'PUT',
      token: keys[hooked]!,
      body: JSON.stringify({ url: `${receiver.url}/hook` }),
    });
    expect(set.status).toBe(200);
    const jobId = await submit(hooked);
    const spans = await spansOf(hooked, jobId, ['job.submit', 'notify.webhook', 'webhook.deliver']);
    const deliver = spans.find((s) => s.name === 'webhook.deliver');
    expect(deliver?.parentSpanId).toBe(spans.find((s) => s.name === 'notify.webhook')?.spanId);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const deadline = Date.now() + 10_000;
    let steps: Step[] = [];
    while (!steps.some((s) => s.step === 'notified') && Date.now() < deadline) {
      const res = await server.api(`/v1/jobs/${jobId}/timeline`, { token: keys[hooked]! });
      steps = ((await res.json()) as { steps: Step[] }).steps;
    }
    // None of its users opted in to notifications: the webhook alone is announced.
    expect(steps.at(-1)).toMatchObject({ step: 'notified', detail: 'webhook queued' });
  });

  it("joins an operator's cancel and the status relayed to an open event stream to the job's trace", async () => {
    const waiting = newTenantId('trw');
    const { apiKey } = await server.createTenant(waiting, { config: { limits: { maxRunningJobs: 0 } } });
    const res = await server.api('/v1/models/finance/jobs', {
      method: 'POST',
      token: apiKey,
      body: JSON.stringify({ input: { years: 3 } }),
    });
    const { id } = (await res.json()) as { id: string };
    const stream = await server.api(`/v1/jobs/${id}/events`, { token: apiKey });
    const reader = stream.body!.getReader();
    // The stream sends the job as it is first: from then on it is subscribed.
    await reader.read();
    const cancel = await server.api(`/v1/admin/tenants/${waiting}/jobs/${id}/cancel`, {
      method: 'POST',
      token: server.operatorToken,
    });
    expect(cancel.status).toBe(200);
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('"cancelled"');
    const spans = await spansOf(waiting, id, ['job.submit', 'job.cancel', 'notify.sse']);
    const names = spans.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['job.submit', 'job.cancel', 'notify.sse']));
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  });

  it("tells the job's story to its tenant, in order with durations, and to no other tenant", async () => {
    const jobId = await submit(shared);
    // No webhook and no user opted in to notifications: nothing is announced, the story ends at its status.
    let steps: Step[] = [];
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const res = await server.api(`/v1/jobs/${jobId}/timeline`, { token: keys[shared]! });
      expect(res.status).toBe(200);
      steps = ((await res.json()) as { steps: Step[] }).steps;
      if (steps.at(-1)?.step === 'succeeded') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(steps.map((s) => s.step)).toEqual([
      'submitted',
      'admitted',
      'queued',
      'claimed',
      'running',
      'rendering',
      'stored',
      'succeeded',
    ]);
    expect(steps.find((s) => s.step === 'claimed')).toMatchObject({
      attempt: 1,
      lane: 'shared_finance',
      fn: 'shared:finance',
    });
    for (const step of steps.slice(0, -1)) expect(step.durationMs).toBeGreaterThanOrEqual(0);
    const logs = await server.api(`/v1/jobs/${jobId}/logs`, { token: keys[shared]! });
    expect(((await logs.json()) as { items: { message: string }[] }).items.map((l) => l.message)).toEqual([
      'job accepted',
      'job succeeded',
    ]);
    // Another tenant: the same 404 as a job that does not exist.
    for (const path of ['timeline', 'logs']) {
      const other = await server.api(`/v1/jobs/${jobId}/${path}`, { token: keys[dedicated]! });
      expect(other.status).toBe(404);
    }
  });
});
