import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../src/core/errors.ts';
import type { JobId, TenantId } from '../../src/core/ids.ts';
import { NOTIFICATION_QUEUE, notificationMessageFor } from '../../src/functions/notification-message.ts';
import { WEBHOOK_QUEUE, webhookMessageFor } from '../../src/functions/webhook-message.ts';
import { announcementFromChild } from '../../src/runtime/child-reports.ts';
import { submit, waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A dedicated function process runs model code a release brings, a tenant's own variant among it. What it
// reports to its host over IPC is a request: a status for another tenant's job, or a message to any queue,
// must reach neither that tenant's event streams and metrics nor the queues.
let server: TestServer;
let evil: { id: string; apiKey: string };
let victim: { id: string; apiKey: string };
let victimJob: string;
const variant = () => `finance-${evil.id}`;

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  evil = { id: newTenantId('evil'), apiKey: '' };
  victim = { id: newTenantId('victim'), apiKey: '' };
  evil.apiKey = (await server.createTenant(evil.id, { placement: 'dedicated', plan: 'enterprise' })).apiKey;
  victim.apiKey = (await server.createTenant(victim.id, { plan: 'enterprise' })).apiKey;
  victimJob = (await submit(server, victim.apiKey, { revenue: 1_000_000 })).id;
  expect((await waitForJob(server, victim.apiKey, victimJob)).status).toBe('succeeded');

  const forgedJob = {
    id: victimJob,
    tenantId: victim.id,
    model: 'finance',
    status: 'failed',
    attempts: 1,
    version: 99,
    createdAt: new Date().toISOString(),
  };
  // Its own job's announcement would be sent anyway; these name the victim's job, on a queue of the host.
  const forgedSend = {
    type: 'send',
    id: 990001,
    queue: 'system_webhooks',
    message: {
      body: JSON.stringify({ tenantId: victim.id, jobId: victimJob, status: 'succeeded', version: 3 }),
      groupId: victim.id,
      dedupId: `${victimJob}:succeeded`,
      delaySec: 900,
    },
  };
  const ownButDelayed = {
    type: 'send',
    id: 990002,
    queue: 'system_webhooks',
    message: { ...forgedSend.message, body: forgedSend.message.body.replaceAll(victim.id, evil.id) },
  };
  publishRelease(server.dataDir, 'rx', {
    variants: [
      {
        name: variant(),
        model: 'finance',
        tenantId: evil.id,
        tenantIncarnation: String((await tenantRecord(server, evil.id)).incarnation),
        version: '1.1.3',
        body: `run: (input, rules) => {
          process.send({ type: 'job', job: ${JSON.stringify(forgedJob)} });
          process.send(${JSON.stringify(forgedSend)});
          process.send(${JSON.stringify(ownButDelayed)});
          // Reports that are not ours at all: thrown in the host's listener, one ended the server.
          for (const junk of ['x', 7, { type: 'job' }, { type: 'job', job: null }, { type: 'send', id: 1 },
            { type: 'result', id: 1, response: null }, { type: 'nope' }]) process.send(junk);
          return base.run(input, rules);
        }`,
      },
    ],
  });
  const op = await startRollout(server, 'rx', { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

async function webhookQueue() {
  const res = await server.api('/v1/admin/queues', { token: server.operatorToken });
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as { items: { queue: string; visible: number; delayed: number }[] };
  return items.find((q) => q.queue === 'system_webhooks') ?? { visible: 0, delayed: 0 };
}

describe("a dedicated function process's reports", () => {
  it("relay nothing about another tenant's job, send nothing but its own announcements, and cannot end the server", async () => {
    const before = await webhookQueue();
    const own = await waitForJob(
      server,
      evil.apiKey,
      (await submit(server, evil.apiKey, { revenue: 1_000_000 }, {}, variant())).id,
    );
    // The variant ran (its reports were posted before its result), and its own job is unharmed.
    expect(own).toMatchObject({ status: 'succeeded', modelVariant: variant() });

    const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
    const victimFailed = metrics
      .split('\n')
      .filter((l) => l.startsWith('silopool_jobs_finished_total') && l.includes(`tenant="${victim.id}"`))
      .filter((l) => l.includes('status="failed"'));
    expect(victimFailed.every((l) => l.trim().endsWith(' 0'))).toBe(true);

    // Neither the message naming the victim's job nor the own one with a child-chosen delay was queued
    // as sent: nothing delayed appeared on the webhook queue.
    const after = await webhookQueue();
    expect(after.delayed).toBe(before.delayed);

    // The victim's job is as it finished.
    expect((await waitForJob(server, victim.apiKey, victimJob)).status).toBe('succeeded');
    expect(server.output()).toContain(`reported a job of tenant ${victim.id}; ignored`);
    expect(server.output()).toContain('sent a malformed report; ignored');
    // The server lives on and runs the next job.
    const next = await submit(server, victim.apiKey, { revenue: 2_000_000 });
    expect((await waitForJob(server, victim.apiKey, next.id)).status).toBe('succeeded');
  }, 60_000);
});

describe('announcementFromChild', () => {
  const tenantId = 'acme' as TenantId;
  const job = { id: 'j_01jabcdef0123456789abcdefg' as JobId, tenantId, status: 'succeeded', version: 4 };

  it("passes the process's own announcements as the platform builds them", () => {
    for (const [queue, message] of [
      [WEBHOOK_QUEUE, webhookMessageFor(job)],
      [NOTIFICATION_QUEUE, notificationMessageFor(job)],
    ] as const) {
      expect(
        announcementFromChild(
          tenantId,
          queue,
          { ...message, delaySec: 60, dedupId: 'x' },
          (id) => id === job.id,
        ),
      ).toEqual(message);
    }
  });

  it("refuses other queues, other tenants' jobs and anything but a finished job's announcement", () => {
    const other = { ...job, tenantId: 'other' as TenantId };
    for (const [queue, message] of [
      ['finance', webhookMessageFor(job)],
      [WEBHOOK_QUEUE, webhookMessageFor(other)],
      [NOTIFICATION_QUEUE, notificationMessageFor(other)],
      [WEBHOOK_QUEUE, webhookMessageFor({ ...job, status: 'running' })],
      [WEBHOOK_QUEUE, { body: 'not json' }],
    ] as const) {
      expect(() => announcementFromChild(tenantId, queue, message, () => true)).toThrow(ForbiddenError);
    }
  });

  it('refuses the announcement of a job the process is not running', () => {
    for (const [queue, message] of [
      [WEBHOOK_QUEUE, webhookMessageFor(job)],
      [NOTIFICATION_QUEUE, notificationMessageFor(job)],
    ] as const) {
      expect(() => announcementFromChild(tenantId, queue, message, () => false)).toThrow(/not running/);
    }
  });
});
