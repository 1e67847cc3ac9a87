import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spanNamesByTrace, startOtlpReceiver } from '../support/otlp-receiver.ts';
import { newTenantId, startTestServer, waitForJob } from '../support/server.ts';

/** Spans in a local span store (`traces.sqlite`), read after the server has stopped and flushed them. */
function spansIn(file: string): number {
  expect(existsSync(file)).toBe(true);
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM spans').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

// The standard OpenTelemetry sampler variables reach every place that traces: the API process, the
// function threads and a dedicated tenant's function process (docs/operations.md, "Sampling").
describe('OTEL_TRACES_SAMPLER', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'silopool-sampling-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('always_off: jobs run and keep their story; no process, thread or tenant records or exports a span', async () => {
    const receiver = await startOtlpReceiver();
    const server = await startTestServer({
      dataDir,
      env: {
        OTEL_TRACES_SAMPLER: 'always_off',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
    });
    const shared = newTenantId('smps');
    const dedicated = newTenantId('smpd');
    try {
      for (const [tenant, placement] of [
        [shared, 'shared'],
        [dedicated, 'dedicated'],
      ] as const) {
        const { apiKey } = await server.createTenant(tenant, { placement });
        const res = await server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: apiKey,
          body: JSON.stringify({ input: { revenue: 1_000_000, years: 5 } }),
        });
        expect(res.status).toBe(202);
        const { id } = (await res.json()) as { id: string };
        expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
        const timeline = await server.api(`/v1/jobs/${id}/timeline`, { token: apiKey });
        const { steps } = (await timeline.json()) as { steps: { step: string }[] };
        expect(steps.map((s) => s.step)).toEqual(expect.arrayContaining(['claimed', 'stored', 'succeeded']));
      }
    } finally {
      // A graceful stop flushes what every thread and process still holds, to the store and the exporter.
      await server.stop();
      receiver.server.close();
    }
    expect(spansIn(join(dataDir, 'traces.sqlite'))).toBe(0);
    expect(spansIn(join(dataDir, 'tenants', dedicated, 'traces.sqlite'))).toBe(0);
    expect(spanNamesByTrace(receiver.bodies).size).toBe(0);
  }, 60_000);

  it('parentbased_traceidratio: a job is traced whole or not at all (the function follows the submit)', async () => {
    const ratioDir = join(dataDir, 'ratio');
    const server = await startTestServer({
      dataDir: ratioDir,
      env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' },
    });
    const tenant = newTenantId('smpr');
    const traces: string[] = [];
    try {
      const { apiKey } = await server.createTenant(tenant);
      // Jobs until both outcomes are likely seen (each is one in two; 24 jobs miss one with p = 2⁻²³).
      for (let i = 0; i < 24; i++) {
        const res = await server.api('/v1/models/finance/jobs', {
          method: 'POST',
          token: apiKey,
          body: JSON.stringify({ input: { revenue: 1_000_000 + i, years: 5 } }),
        });
        const { id } = (await res.json()) as { id: string };
        expect((await waitForJob(server, apiKey, id)).status).toBe('succeeded');
        const timeline = await server.api(`/v1/jobs/${id}/timeline`, { token: apiKey });
        traces.push(((await timeline.json()) as { traceId: string }).traceId);
      }
    } finally {
      await server.stop();
    }
    const db = new Database(join(ratioDir, 'traces.sqlite'), { readonly: true });
    const namesOf = (traceId: string) =>
      (db.prepare('SELECT name FROM spans WHERE trace_id = ?').all(traceId) as { name: string }[]).map(
        (r) => r.name,
      );
    const whole = ['job.submit', 'job.deliver', 'model.run', 'workbook.render'];
    let kept = 0;
    try {
      for (const traceId of traces) {
        const names = namesOf(traceId);
        if (names.length === 0) continue;
        kept++;
        expect(names.sort()).toEqual([...whole].sort());
      }
    } finally {
      db.close();
    }
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(traces.length);
  }, 90_000);
});
