import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { METRICS_NAMESPACE, METRICS_SERVICE } from '../../infra/constructs/tenant-widgets.ts';
import { publishJobMetrics } from '../../src/entry/job-metrics.ts';
import { newTenantId } from '../support/server.ts';

interface EmfDocument {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

/** The EMF documents Powertools writes to stdout (POWERTOOLS_DEV makes it use the global console). */
function captureEmf(run: (metrics: Metrics) => void): EmfDocument[] {
  vi.stubEnv('POWERTOOLS_DEV', 'true');
  // Dev mode turns metrics off unless told otherwise.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  try {
    run(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METRICS_SERVICE }));
  } finally {
    log.mockRestore();
  }
  return lines.map((line) => JSON.parse(line) as EmfDocument);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('per-tenant job metrics (EMF)', () => {
  it('publishes JobsProcessed and JobDuration each with the service and TenantId dimensions the widgets ask for', () => {
    const tenantId = newTenantId('emf');
    const docs = captureEmf((metrics) => publishJobMetrics(metrics, tenantId, false, 1234));
    const byMetric = new Map(docs.map((doc) => [doc._aws.CloudWatchMetrics[0]?.Metrics[0]?.Name, doc]));
    expect([...byMetric.keys()].sort()).toEqual(['JobDuration', 'JobsProcessed']);
    for (const doc of docs) {
      const [directive] = doc._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
      expect(directive?.Dimensions).toEqual([['service', 'TenantId']]);
      expect(doc).toMatchObject({ service: METRICS_SERVICE, TenantId: tenantId });
    }
    expect(byMetric.get('JobDuration')).toMatchObject({ JobDuration: 1234 });
  });

  it('counts a failure as JobFailures, still per tenant', () => {
    const tenantId = newTenantId('emf');
    const docs = captureEmf((metrics) => publishJobMetrics(metrics, tenantId, true, 10));
    const names = docs.map((doc) => doc._aws.CloudWatchMetrics[0]?.Metrics[0]?.Name);
    expect(names.sort()).toEqual(['JobDuration', 'JobFailures']);
    for (const doc of docs) expect(doc.TenantId).toBe(tenantId);
  });
});
