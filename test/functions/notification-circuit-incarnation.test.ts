import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, describe, expect, it } from 'vitest';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId, type TenantId } from '../../src/core/ids.ts';
import { emptyNotifications, userKey } from '../../src/core/notifications.ts';
import { openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import type { Mailer, MailMessage } from '../../src/functions/notification-channels.ts';
import { createNotificationHandler } from '../../src/functions/notification-handler.ts';
import { deliveryMessageFor, NOTIFICATION_QUEUE } from '../../src/functions/notification-message.ts';
import { renewAccess, writeUserNotifications } from '../../src/functions/notification-preferences.ts';
import { tenantDataFor } from '../../src/ports/placement-data.ts';
import { makeJob } from '../contract/fixtures.ts';
import { newTenantId } from '../support/server.ts';
import { firstDelivery } from '../support/sqs-event.ts';

const dir = mkdtempSync(join(tmpdir(), 'silopool-notification-incarnation-'));
const platform = openEmbeddedPlatform(dir);
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The platform's SMTP server as the handler sees it: it refuses mail to `refused` addresses, takes the rest. */
const sent: MailMessage[] = [];
const refused = new Set<string>();
const mailer: Mailer = {
  async send(message) {
    if (refused.has(message.to)) throw new Error('550 mailbox unavailable');
    sent.push(message);
  },
};

/** The tenant (onboarded now) with one user mailed at `address`, and the SQS event of one email to them. */
async function tenantWithMailedUser(id: TenantId, address: string): Promise<SQSEvent> {
  const { tenant } = await createTenant(platform, { id, name: 'Notified' });
  const data = tenantDataFor(platform.stores, tenant);
  const subject = `user-${address}`;
  await writeUserNotifications(data.objects, {
    ...emptyNotifications(subject),
    email: { address, verified: true },
    optIn: { email: true, push: false },
  });
  await renewAccess(data.objects, subject, Date.now() + 3_600_000, tenant.incarnation);
  const job = makeJob(tenant.id, { status: 'succeeded' });
  await data.jobs.create(job);
  const { body } = deliveryMessageFor(
    { kind: 'job', tenantId: tenant.id, jobId: job.id, status: 'succeeded' },
    'email',
    userKey(subject),
  );
  return firstDelivery(NOTIFICATION_QUEUE, job.id, body);
}

// The notification function keeps each tenant's channel circuit as long as its instance lives: keyed by
// tenant id, the next customer under an offboarded id had its users' emails deferred, unattempted, for as
// long as its predecessor's failures kept the circuit open.
describe("the notification function's circuits and a tenant id onboarded again", () => {
  it("mails the new tenant's users at once, whatever its predecessor's deliveries did", async () => {
    const handler = createNotificationHandler({ ...platform, mailer });
    const id = parseTenantId(newTenantId('mail-reuse'));
    refused.add('gone@old.example');
    const before = await tenantWithMailedUser(id, 'gone@old.example');
    // Failures until the circuit opens (5 in a row by default).
    for (let i = 0; i < 5; i++) expect((await handler(before)).batchItemFailures).toHaveLength(1);

    await platform.directory.delete(id);
    await new Promise((r) => setTimeout(r, 5));
    const after = await tenantWithMailedUser(id, 'new@customer.example');
    expect((await handler(after)).batchItemFailures).toEqual([]);
    expect(sent.map((m) => m.to)).toEqual(['new@customer.example']);
  }, 30_000);
});
