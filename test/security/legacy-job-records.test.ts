import { join } from 'node:path';
import Database from 'better-sqlite3';
import { strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJobId } from '../../src/core/ids.ts';
import { exportOf, startOffboard, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer } from '../support/server.ts';
import { type SmtpInbox, startSmtpInbox } from '../support/smtp-inbox.ts';

/**
 * Records written before failures were split into a tenant's sentence and the operators' `internal` cause
 * still hold the raw text (OS, SDK and database messages naming paths, hosts, SQL and tables; operators'
 * identities). Written here in those old shapes straight into the store's SQLite file, then read over HTTP:
 * the tenant sees none of it on any way out, operators still see it all.
 */
const SECRETS = [
  '/srv/silopool-prod/data',
  'db7.internal.platform.example',
  'SELECT doc FROM job_items',
  'ops-dave@platform.example',
  'silopool-jobs-other',
  "reading 'secretField'",
  'ECONNREFUSED',
];
const RAW_ENOENT =
  "ENOENT: no such file or directory, open '/srv/silopool-prod/data/objects/tenants/x/jobs/a'";
const RAW_SQL = "SqliteError: no such table: job_items_v2 (SELECT doc FROM job_items WHERE pk = 'T#other')";
const RAW_NET = 'connect ECONNREFUSED 10.0.3.7:5432 (db7.internal.platform.example)';
const RAW_TYPE = "TypeError: Cannot read properties of undefined (reading 'secretField')";
const RAW_TYPED_5XX =
  "Tenant x's table silopool-jobs-other or bucket silopool-x-123456789012-eu-west-1 does not exist yet in eu-west-1.";

let server: TestServer;
let inbox: SmtpInbox;
let tenant: string;
let apiKey: string;
const ids = { exhausted: newJobId(), modelBug: newJobId(), typed: newJobId(), clean: newJobId() };

function legacyRecord(id: string, patch: Record<string, unknown>) {
  const at = new Date().toISOString();
  return {
    id,
    tenantId: tenant,
    model: 'finance',
    modelVersion: '1.0.0',
    status: 'failed',
    input: {},
    effectiveInput: {},
    rules: {},
    artifacts: [],
    attempts: 2,
    cost: 1,
    priority: 0,
    createdAt: at,
    updatedAt: at,
    finishedAt: at,
    version: 5,
    ...patch,
  };
}

/** Each old shape a release wrote, one record each. */
function oldRecords() {
  const at = (s: number) => new Date(Date.now() - 60_000 + s * 1000).toISOString();
  return [
    legacyRecord(ids.exhausted, {
      error: { code: 'retries_exhausted', message: `The job failed on every attempt: ${RAW_ENOENT}` },
      story: {
        events: [
          { step: 'submitted', at: at(0) },
          { step: 'attempt_failed', at: at(1), attempt: 1, detail: RAW_SQL },
          { step: 'attempt_failed', at: at(2), attempt: 2, detail: `connect: ${RAW_NET}` },
          { step: 'retried', at: at(3), attempt: 2, detail: 'by ops-dave@platform.example' },
          {
            step: 'failed',
            at: at(4),
            attempt: 2,
            detail: `retries_exhausted: The job failed on every attempt: ${RAW_ENOENT}`,
            internal: RAW_ENOENT,
          },
        ],
        logs: [
          {
            at: at(1),
            level: 'error',
            message: 'attempt failed; it will be retried',
            fields: { error: RAW_NET },
          },
          {
            at: at(4),
            level: 'error',
            message: 'retries exhausted',
            fields: { attempts: 2 },
            internal: RAW_SQL,
          },
          {
            at: at(3),
            level: 'info',
            message: 'job retried',
            fields: { by: 'by ops-dave@platform.example' },
          },
        ],
      },
    }),
    legacyRecord(ids.modelBug, {
      error: { code: 'model_error', message: RAW_TYPE },
      story: {
        events: [{ step: 'failed', at: at(5), attempt: 1, detail: `model_error: ${RAW_TYPE}` }],
        logs: [{ at: at(5), level: 'warn', message: 'job failed', fields: { code: 'model_error' } }],
      },
    }),
    // Written by the release that split failures, before typed platform faults were hidden too.
    legacyRecord(ids.typed, {
      error: {
        code: 'retries_exhausted',
        message: `The job failed on every attempt (unavailable): ${RAW_TYPED_5XX}`,
      },
      story: {
        events: [{ step: 'attempt_failed', at: at(6), attempt: 1, detail: `unavailable: ${RAW_TYPED_5XX}` }],
        logs: [{ at: at(6), level: 'error', message: RAW_TYPED_5XX, fields: { code: 'unavailable' } }],
      },
    }),
    // A failure written for the tenant (the input's own problem) keeps its message.
    legacyRecord(ids.clean, {
      error: { code: 'validation_failed', message: '/input/years must be at most 50' },
      story: {
        events: [{ step: 'failed', at: at(7), detail: 'validation_failed: /input/years must be at most 50' }],
        logs: [],
      },
    }),
  ];
}

beforeAll(async () => {
  inbox = await startSmtpInbox();
  server = await startTestServer({ env: { SILOPOOL_SMTP_URL: inbox.url } });
  tenant = newTenantId('old');
  ({ apiKey } = await server.createTenant(tenant));
  // Straight into the shared job table, as an older release left it (the server has it open: WAL).
  const db = new Database(join(server.dataDir, 'jobs.sqlite'), { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const insert = db.prepare(
      'INSERT INTO job_items (pk, sk, doc, version, status, model) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const record of oldRecords()) {
      insert.run(
        `T#${tenant}`,
        `JOB#${record.id}`,
        JSON.stringify(record),
        record.version,
        'failed',
        'finance',
      );
    }
  } finally {
    db.close();
  }
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await inbox?.close();
});

function expectNothingRaw(text: string) {
  for (const secret of SECRETS) expect(text, `"${secret}" in ${text.slice(0, 400)}`).not.toContain(secret);
  expect(text).not.toContain('"internal":"');
}

async function tenantText(path: string): Promise<string> {
  const res = await server.api(path, { token: apiKey });
  expect(res.status, path).toBe(200);
  return res.text();
}

describe('an old job record read by its tenant', () => {
  it('the job, its list, timeline and log show codes and fixed sentences, never the raw cause', async () => {
    expectNothingRaw(await tenantText('/v1/jobs?limit=50'));
    for (const id of Object.values(ids)) {
      expectNothingRaw(await tenantText(`/v1/jobs/${id}`));
      expectNothingRaw(await tenantText(`/v1/jobs/${id}/timeline`));
      expectNothingRaw(await tenantText(`/v1/jobs/${id}/logs`));
    }
    const exhausted = JSON.parse(await tenantText(`/v1/jobs/${ids.exhausted}`)) as {
      error: { code: string; message: string };
    };
    expect(exhausted.error.code).toBe('retries_exhausted');
    expect(exhausted.error.message).toMatch(/^The job failed on every attempt \(internal\): /);
    const model = JSON.parse(await tenantText(`/v1/jobs/${ids.modelBug}`)) as { error: { code: string } };
    expect(model.error.code).toBe('model_error');
    const timeline = JSON.parse(await tenantText(`/v1/jobs/${ids.exhausted}/timeline`)) as {
      steps: { step: string; detail?: string }[];
    };
    expect(timeline.steps.map((s) => s.detail)).toEqual([
      undefined,
      expect.stringMatching(/^internal: /),
      expect.stringMatching(/^internal: Something went wrong/),
      'by an operator',
      expect.stringMatching(/^retries_exhausted: The job failed on every attempt \(internal\)/),
    ]);
    const typed = await tenantText(`/v1/jobs/${ids.typed}`);
    expect(typed).toContain('(unavailable): A platform service failed');
  });

  it('a failure written for the tenant keeps its words', async () => {
    const clean = await tenantText(`/v1/jobs/${ids.clean}`);
    expect(clean).toContain('/input/years must be at most 50');
    expect(await tenantText(`/v1/jobs/${ids.clean}/timeline`)).toContain('/input/years must be at most 50');
  });

  it("the event stream's status event is judged the same way", async () => {
    for (const id of [ids.exhausted, ids.modelBug, ids.typed]) {
      const res = await server.api(`/v1/jobs/${id}/events`, {
        token: apiKey,
        headers: { accept: 'text/event-stream' },
      });
      const text = await res.text(); // a finished job's stream ends after its status
      expect(text).toContain('event: status');
      expectNothingRaw(text);
    }
  });
});

describe('an old job record read by an operator', () => {
  it('shows the raw cause, as written', async () => {
    const res = await server.api(`/v1/admin/tenants/${tenant}/jobs/${ids.exhausted}`, {
      token: server.operatorToken,
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toContain('ops-dave@platform.example');
    expect(text).toContain('/srv/silopool-prod/data');
    expect(text).toContain('job_items_v2');
    expect(text).toContain('"internal":"');
  });
});

describe('the offboarding export, which goes to the tenant', () => {
  it("holds each job as the tenant may see it, and users' settings as the API shows them", async () => {
    // A user with a pending email code and a browser subscribed to Web Push.
    const user = await server.mintToken({ tenants: [tenant], user: 'pat' });
    const email = await server.api('/v1/me/notifications/email', {
      method: 'PUT',
      token: user,
      body: JSON.stringify({ address: 'pat@example.com' }),
    });
    expect(email.status, await email.text()).toBeLessThan(300);
    const pushSecret = 'QUJDREVGR0hJSktMTU5PUA';
    const push = await server.api('/v1/me/notifications/push', {
      method: 'POST',
      token: user,
      body: JSON.stringify({
        endpoint: 'https://push.example.com/send/capability-token-123',
        keys: { p256dh: `B${'A'.repeat(86)}`, auth: pushSecret },
      }),
    });
    expect(push.status, await push.text()).toBe(201);
    const op = await startOffboard(server, tenant);
    expect((await waitForOperation(server, op.id)).status).toBe('succeeded');
    const files = await exportOf(server, op.id);
    const names = Object.keys(files).filter((n) => n.startsWith('jobs/'));
    expect(names.sort()).toEqual(
      Object.values(ids)
        .map((id) => `jobs/${id}.json`)
        .sort(),
    );
    for (const name of names) expectNothingRaw(strFromU8(files[name]!));
    const settings = Object.keys(files).filter((n) => n.startsWith('objects/notifications/users/'));
    expect(settings).toHaveLength(1);
    const exported = strFromU8(files[settings[0]!]!);
    expect(JSON.parse(exported)).toMatchObject({
      email: { address: 'pat@example.com', verified: false },
      push: [{ origin: 'https://push.example.com' }],
    });
    for (const secret of ['codeSha256', 'codeAttempts', 'capability-token-123', pushSecret, 'p256dh'])
      expect(exported).not.toContain(secret);
    const clean = JSON.parse(strFromU8(files[`jobs/${ids.clean}.json`]!)) as { error: { message: string } };
    expect(clean.error.message).toBe('/input/years must be at most 50');
  }, 60_000);
});
