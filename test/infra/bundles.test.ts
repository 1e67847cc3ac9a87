import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundleReport, bundleLambdas, LAMBDA_DIST, ZIPPED_LIMIT } from '../../scripts/bundle-lambdas.ts';

let reports: BundleReport[];

beforeAll(async () => {
  // bundleLambdas throws if any metafile input is better-sqlite3.
  reports = await bundleLambdas();
}, 60_000);

describe('Lambda bundles', () => {
  it('keeps the model, webhook, control and notification functions under 2 MB zipped, without SQLite', () => {
    expect(reports.map((r) => r.name).sort()).toEqual([
      'api',
      'control',
      'model',
      'notifications',
      'webhooks',
    ]);
    for (const name of ['model', 'webhooks', 'control', 'notifications'] as const) {
      expect(ZIPPED_LIMIT[name]).toBe(2 * 1024 * 1024);
      expect(reports.find((r) => r.name === name)?.zippedBytes).toBeLessThan(2 * 1024 * 1024);
    }
  });

  it('runs the bundled API on an API Gateway HTTP API event', async () => {
    Object.assign(process.env, {
      SILOPOOL_TABLE: 'shared',
      SILOPOOL_BUCKET: 'shared',
      SILOPOOL_TENANTS_TABLE: 'tenants',
      SILOPOOL_OIDC_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example',
      SILOPOOL_OIDC_CLIENT_ID: 'client',
      AWS_REGION: 'us-east-1',
    });
    const { handler } = (await import(pathToFileURL(join(LAMBDA_DIST, 'api', 'index.mjs')).href)) as {
      handler: (event: unknown, context: Context) => Promise<{ statusCode: number; body: string }>;
    };
    const event = (path: string) => ({
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { host: 'api.example.com' },
      requestContext: { http: { method: 'GET', path, sourceIp: '192.0.2.1' }, stage: '$default' },
      isBase64Encoded: false,
    });
    const health = await handler(event('/healthz'), {} as Context);
    expect(health).toMatchObject({ statusCode: 200, body: '{"status":"ok"}' });
    // Swagger UI reads its static files next to the bundle: they were copied there.
    const docs = await handler(event('/docs/static/index.html'), {} as Context);
    expect(docs.statusCode).toBeLessThan(400);
  });
});
