import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../src/control/dead-letters.ts';
import { decodeJobMessage, encodeJobMessage } from '../../src/core/messages.ts';
import { dedicatedQueueName } from '../../src/core/placement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { deadLetterQueueName } from '../../src/ports/message-queue.ts';
import { makeJob, makeTenant, randomTenantId } from '../contract/fixtures.ts';

// A dedicated tenant's job record is in its own store, which its function process writes: a process that
// set `attempts` back to 1 and dropped `billedBefore` on its failed finish had the redrive write
// `billedBefore.attempts` 1 again, so the redriven run's record (`…/compute_mb_ms/after-1`) took the id of an
// earlier one and was never billed. The redrive now grows the attempts past the dead letter's own copy (the
// message the control plane sent) and sends the new `billedBefore` with the job, where its host reads it.
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function open(): EmbeddedPlatform {
  const dir = mkdtempSync(join(tmpdir(), 'silopool-redrive-billed-'));
  const platform = openEmbeddedPlatform(dir);
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => platform.close());
  return platform;
}

describe('redriving a dead letter whose record its process rewrote', () => {
  it('bills the later run under a new id, carried in the message the host bills against', async () => {
    const platform = open();
    const tenantId = randomTenantId('rbb');
    const ref = { kind: 'dedicated' as const, tenantId };
    await platform.directory.create(makeTenant(tenantId, { placement: 'dedicated' }));
    await platform.stores.provision(ref);
    const source = dedicatedQueueName(tenantId, 'finance');
    await platform.queue.createQueue(source, { visibilityTimeoutSec: 30 });
    await platform.queue.createQueue(deadLetterQueueName(source), { visibilityTimeoutSec: 30 });
    const at = new Date().toISOString();
    // Its third finish, as the process left it: one attempt, nothing billed before.
    const job = makeJob(tenantId, {
      status: 'failed',
      attempts: 1,
      startedAt: at,
      finishedAt: at,
      computeMs: 10,
      computeMbMs: 10_240,
      memoryMb: 1024,
      error: { code: 'dead_lettered', message: 'its message was dead-lettered' },
    });
    await platform.stores.jobs(ref).forTenant(tenantId).create(job);
    // The control plane's copy, from the redrive before: two finishes billed through attempt 3.
    await platform.queue.send(deadLetterQueueName(source), {
      body: encodeJobMessage({
        tenantId,
        jobId: job.id,
        model: 'finance',
        billedBefore: { attempts: 3, computeMbMs: 50_000 },
      }),
      groupId: tenantId,
    });

    expect(await redriveDeadLetters(platform, source)).toEqual({ moved: 1 });

    const [sent] = await platform.queue.receive(source, { maxMessages: 1, visibilityTimeoutSec: 30 });
    const message = decodeJobMessage(sent!.body);
    expect(message?.billedBefore).toEqual({ attempts: 4, computeMbMs: 10_240 });
    const requeued = await platform.stores.jobs(ref).forTenant(tenantId).get(job.id);
    expect(requeued).toMatchObject({ status: 'queued', billedBefore: { attempts: 4 } });
  });
});

describe('a job message', () => {
  it('carries a billedBefore only when it is one', () => {
    const base = {
      v: 1,
      tenantId: randomTenantId('m'),
      jobId: makeJob(randomTenantId('m')).id,
      model: 'finance',
    };
    for (const billedBefore of [
      { attempts: 0, computeMbMs: 1 },
      { attempts: 1.5, computeMbMs: 1 },
      { attempts: 2 },
      'x',
    ])
      expect(decodeJobMessage(JSON.stringify({ ...base, billedBefore }))).toEqual(base);
    expect(
      decodeJobMessage(JSON.stringify({ ...base, billedBefore: { attempts: 2, computeMbMs: -5 } })),
    ).toEqual({
      ...base,
      billedBefore: { attempts: 2, computeMbMs: 0 },
    });
  });
});
