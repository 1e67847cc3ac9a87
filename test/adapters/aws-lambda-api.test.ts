import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQueue } from '../../src/control/lanes.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import { type AwsPorts, createAwsPorts } from '../../src/entry/aws-wiring.ts';
import { listModels } from '../../src/models/registry.ts';
import { publishRelease } from '../releases/fixtures.ts';
import { type AwsEmulators, startAwsEmulators } from '../support/aws-emulators.ts';
import { newTenantId } from '../support/server.ts';

// The API function and the control function as Lambda runs them, invoked in this process with API Gateway
// (HTTP API, payload 2.0) events against the SQS/S3/DynamoDB emulators: tokens from an OIDC issuer the
// test runs (its JWKS over HTTP), a move the API only records, the control function driving it.
let aws: AwsEmulators;
let ports: AwsPorts;
let jwks: Server;
let issuer: string;
let sign: (claims: Record<string, unknown>) => Promise<string>;
let api: (event: unknown, context: unknown) => Promise<unknown>;

// A release in the functions' bundle (SILOPOOL_RELEASES_DIR), as a deployment would ship it.
const releasesRoot = mkdtempSync(join(tmpdir(), 'silopool-lambda-releases-'));
publishRelease(releasesRoot, 'r2', { models: { finance: { version: '1.2.0', body: "version: '1.2.0'" } } });

beforeAll(async () => {
  aws = await startAwsEmulators();
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  sign = (claims) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('silopool-client')
      .setSubject(String(claims.sub ?? 'someone'))
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
  Object.assign(process.env, await aws.platformEnv(), {
    SILOPOOL_OIDC_ISSUER: issuer,
    SILOPOOL_OIDC_CLIENT_ID: 'silopool-client',
    SILOPOOL_OIDC_JWKS_URL: `${issuer}/.well-known/jwks.json`,
    SILOPOOL_MOVE_RUNNER: 'scheduled',
    SILOPOOL_RELEASES_DIR: join(releasesRoot, 'releases'),
  });
  ports = createAwsPorts(process.env);
  // The platform stack creates the shared lanes; here the test does.
  for (const model of listModels()) await ensureQueue(ports.queue, sharedQueueName(model.name));
  ({ handler: api } = (await import('../../src/entry/lambda-api.ts')) as never);
}, 60_000);
afterAll(async () => {
  await ports?.close();
  await aws?.stop();
  await new Promise((r) => jwks?.close(r));
  rmSync(releasesRoot, { recursive: true, force: true });
});

interface Answer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

async function call(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
  const [rawPath, rawQueryString = ''] = path.split('?');
  const event = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: {
      authorization: `Bearer ${token}`,
      host: 'api.example.com',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    requestContext: {
      accountId: '000000000000',
      apiId: 'api',
      domainName: 'api.example.com',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: `r-${Math.random()}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body !== undefined
      ? { body: JSON.stringify(body), isBase64Encoded: false }
      : { isBase64Encoded: false }),
  };
  return (await api(event, { getRemainingTimeInMillis: () => 30_000 })) as Answer;
}

describe('the API and control functions on Lambda', () => {
  it('onboards and submits with OIDC tokens, records a move the control function then drives, serves the advisor', async () => {
    const operator = await sign({ sub: 'ops', 'cognito:groups': ['operator'] });
    const id = newTenantId('lam');
    const created = await call('POST', '/v1/admin/tenants', operator, { id, name: 'Lambda Co' });
    expect(created.statusCode, created.body).toBe(201);

    const user = await sign({ sub: 'alice', 'custom:tenants': id, 'cognito:groups': ['user'] });
    const submitted = await call('POST', '/v1/models/finance/jobs', user, { input: { revenue: 1_000_000 } });
    expect(submitted.statusCode, submitted.body).toBe(202);
    // A tenant's user cannot reach the operator routes, here either, however the path is spelled: the
    // matched route's audience decides on Lambda as on the local server.
    for (const path of [
      '/v1/admin/advisor',
      '/v1/%61dmin/advisor',
      '/%761/admin/tenants',
      '/v1/adm%69n/tenants',
    ]) {
      expect((await call('GET', path, user)).statusCode, path).toBe(403);
      expect((await call('GET', path, 'not-a-token')).statusCode, path).toBe(401);
    }

    const advice = await call('GET', '/v1/admin/advisor', operator);
    expect(advice.statusCode, advice.body).toBe(200);
    const items = (JSON.parse(advice.body) as { items: { tenantId: string; action: string }[] }).items;
    expect(items.find((r) => r.tenantId === id)?.action).toBe('keep');

    // The API records the move and answers; nothing drives it in this frozen-between-requests process.
    const move = await call('POST', `/v1/admin/tenants/${id}/placement`, operator, {
      placement: 'dedicated',
    });
    expect(move.statusCode, move.body).toBe(202);
    const opUrl = move.headers.location!;
    await new Promise((r) => setTimeout(r, 300));
    const recorded = JSON.parse((await call('GET', opUrl, operator)).body) as {
      status: string;
      steps: { status: string }[];
    };
    expect(recorded.status).toBe('running');
    expect(recorded.steps.every((s) => s.status === 'pending')).toBe(true);

    // The submitted job is still queued (no model function runs in this test): the move drains it first.
    const job = JSON.parse(submitted.body) as { id: string };
    const { handler: controlHandler } = await import('../../src/entry/lambda-control.ts');
    const drive = controlHandler({}, { getRemainingTimeInMillis: () => 120_000 });
    // Let the control function's drain see the job finish: run it as the model function would.
    const { createModelHandler } = await import('../../src/functions/model-handler.ts');
    const { toSqsEvent } = await import('../../src/runtime/sqs-event.ts');
    const model = createModelHandler({
      directory: ports.directory,
      dataFor: ports.dataFor,
    });
    const lane = sharedQueueName('finance');
    const messages = await ports.queue.receive(lane, { maxMessages: 10, visibilityTimeoutSec: 30 });
    const result = await model(toSqsEvent(lane, messages, 'us-east-1'));
    expect(result.batchItemFailures).toEqual([]);
    for (const m of messages) await ports.queue.delete(lane, m.receiptHandle);
    expect((await drive).operations).toBe(1);

    const done = JSON.parse((await call('GET', opUrl, operator)).body) as { status: string };
    expect(done.status).toBe('succeeded');
    const tenant = JSON.parse((await call('GET', `/v1/admin/tenants/${id}`, operator)).body) as {
      placement: string;
    };
    expect(tenant.placement).toBe('dedicated');
    // The job ran shared, then its record moved with the tenant: still readable by its user.
    const read = await call('GET', `/v1/jobs/${job.id}`, user);
    expect(read.statusCode).toBe(200);
    expect((JSON.parse(read.body) as { status: string }).status).toBe('succeeded');
  }, 60_000);

  it('records an upgrade that the control function then rolls out: the Lambda API starts it, the control Lambda drives it', async () => {
    const operator = await sign({ sub: 'ops', 'cognito:groups': ['operator'] });
    const id = newTenantId('lrel');
    const created = await call('POST', '/v1/admin/tenants', operator, {
      id,
      name: 'Upgraded',
      placement: 'dedicated',
    });
    expect(created.statusCode, created.body).toBe(201);
    const listed = JSON.parse((await call('GET', '/v1/admin/releases', operator)).body) as {
      current: string;
      items: { id: string }[];
    };
    expect(listed.items.map((r) => r.id)).toContain('r2');

    const started = await call('POST', '/v1/admin/releases/r2/rollout', operator, {
      canary: id,
      observeSec: 0,
    });
    expect(started.statusCode, started.body).toBe(202);
    const opUrl = started.headers.location!;
    // Recorded, not driven: this process freezes between requests.
    await new Promise((r) => setTimeout(r, 300));
    expect((JSON.parse((await call('GET', opUrl, operator)).body) as { status: string }).status).toBe(
      'running',
    );
    expect((await ports.directory.get(id as never))?.release).toBeUndefined();

    const { handler: controlHandler } = await import('../../src/entry/lambda-control.ts');
    await controlHandler({}, { getRemainingTimeInMillis: () => 120_000 });
    const done = JSON.parse((await call('GET', opUrl, operator)).body) as { status: string };
    expect(done.status).toBe('succeeded');
    expect((await ports.directory.get(id as never))?.release).toBe('r2');
    // The API reads the current-release pointer again within 5 s (src/adapters/aws/release-pointer.ts).
    let current = '';
    for (const end = Date.now() + 10_000; current !== 'r2' && Date.now() < end; ) {
      current = (JSON.parse((await call('GET', '/v1/admin/releases', operator)).body) as { current: string })
        .current;
      if (current !== 'r2') await new Promise((r) => setTimeout(r, 250));
    }
    expect(current).toBe('r2');
  }, 90_000);
});
