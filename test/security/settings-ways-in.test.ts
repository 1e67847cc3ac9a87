import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantsFile } from '../../src/control/apply.ts';
import { ensureQueue } from '../../src/control/lanes.ts';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant, updateTenant } from '../../src/control/tenants.ts';
import { ValidationError } from '../../src/core/errors.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { sharedQueueName } from '../../src/core/placement.ts';
import type { Tenant } from '../../src/core/tenant.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import { laneDataFor, tenantDataFor } from '../../src/ports/placement-data.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { newTenantId } from '../support/server.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-ways-in-'));
  platform = openEmbeddedPlatform(dir);
  await ensureQueue(platform.queue, sharedQueueName('finance'), {});
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

function problemPaths(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).problems.map((p) => p.path);
  }
  throw new Error('expected a ValidationError');
}

describe('the settings schema on the other ways in', () => {
  it('apply tenants.yaml: a hostile config fails the plan, naming tenant index and field', () => {
    const paths = problemPaths(() =>
      parseTenantsFile(`tenants:
  - id: pp-one
    config:
      rules:
        finance:
          ranges:
            loan.__proto__: { minimum: 1 }
          defaults: { years: ten }
  - id: pp-two
    config:
      __proto__: { rules: {} }
      formatting: { sheetNames: { Inputs: Summary }, locale: "${'x'.repeat(5000)}" }
  - id: pp-three
    config: { rules: null }
`),
    );
    expect(paths).toEqual(
      expect.arrayContaining([
        '/tenants/0/config/rules/finance/ranges/loan.__proto__',
        '/tenants/0/config/rules/finance/defaults/years',
        '/tenants/1/config/__proto__',
        '/tenants/1/config/formatting/sheetNames/Inputs',
        '/tenants/1/config/formatting/locale',
        '/tenants/2/config/rules',
      ]),
    );
    expect(({} as Record<string, unknown>)['rules']).toBeUndefined();
  });

  it('the CLI on a DATA_DIR (control functions, no server): create and update refuse bad settings', async () => {
    const id = newTenantId('cli');
    await expect(
      createTenant(platform, {
        id,
        name: 'CLI',
        config: { rules: { finance: { defaults: { years: 'ten' } } } },
      }),
    ).rejects.toMatchObject({
      problems: [expect.objectContaining({ path: '/config/rules/finance/defaults/years' })],
    });
    expect(await platform.directory.get(parseTenantId(id))).toBeUndefined();
    await createTenant(platform, { id, name: 'CLI' });
    await expect(
      updateTenant(platform, parseTenantId(id), { config: { formatting: { currency: 'ABC' } } as never }),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      updateTenant(platform, parseTenantId(id), { config: 'all' as never }),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  it('a job whose tenant’s formatting went bad behind the API fails naming the field; the other tenant’s job runs', async () => {
    const bad = (await createTenant(platform, { id: newTenantId('bad'), name: 'Bad' })).tenant;
    const good = (await createTenant(platform, { id: newTenantId('good'), name: 'Good' })).tenant;
    const submit = (tenant: Tenant) =>
      submitJob(platform.intake, {
        tenant,
        data: tenantDataFor(platform.stores, tenant),
        model: 'finance',
        input: {},
      });
    const badJob = (await submit(bad)).job;
    const goodJob = (await submit(good)).job;
    // Written through the directory port, as an older version or a hand edit could.
    await platform.directory.update(
      {
        ...bad,
        config: { ...bad.config, formatting: { sheetNames: { Inputs: 'Summary' } } },
        version: bad.version + 1,
      },
      bad.version,
    );
    const queue = sharedQueueName('finance');
    const handler = createModelHandler({
      directory: platform.directory,
      dataFor: laneDataFor(platform.stores),
    });
    for (;;) {
      const messages = await platform.queue.receive(queue, {
        maxMessages: 10,
        visibilityTimeoutSec: 30,
        waitTimeSec: 1,
      });
      if (messages.length === 0) break;
      expect((await handler(toSqsEvent(queue, messages))).batchItemFailures).toEqual([]);
    }
    const failed = await tenantDataFor(platform.stores, bad).jobs.get(badJob.id);
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toMatchObject({ code: 'tenant_settings_invalid' });
    expect(failed?.error?.message).toContain('/config/formatting/sheetNames/Inputs');
    expect(failed?.error?.message).toContain(bad.id);
    const succeeded = await tenantDataFor(platform.stores, good).jobs.get(goodJob.id);
    expect(succeeded?.status).toBe('succeeded');
  });
});
