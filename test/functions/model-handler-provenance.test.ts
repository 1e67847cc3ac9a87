import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitJob } from '../../src/control/submit-job.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { laneFor } from '../../src/core/placement.ts';
import type { Formatting, TenantConfig } from '../../src/core/tenant.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { createModelHandler } from '../../src/functions/model-handler.ts';
import { getModel } from '../../src/models/registry.ts';
import { nextVersion } from '../../src/ports/job-store.ts';
import { scopeObjects } from '../../src/ports/object-store.ts';
import { laneDataFor } from '../../src/ports/placement-data.ts';
import { toSqsEvent } from '../../src/runtime/sqs-event.ts';
import { newTenantId } from '../support/server.ts';

// Issue 13, kind 12: the workbook says where it came from, the job says what it was rendered with, and
// a worker refuses a job recorded for a model major version it does not have.
let dir: string;
let platform: EmbeddedPlatform;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-provenance-'));
  platform = openEmbeddedPlatform(dir);
});
afterAll(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const LOGO = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

/** A tenant with one queued finance job; `recordedVersion` rewrites the version the job recorded at submit. */
async function queuedJob(
  formatting: Formatting,
  recordedVersion?: string,
  rules: TenantConfig['rules'] = {},
) {
  const id = parseTenantId(newTenantId('prov'));
  const { tenant } = await createTenant(platform, {
    id,
    name: 'Provenance & Söhne',
    placement: 'dedicated',
    config: { formatting, rules },
  });
  const own = { kind: 'dedicated', tenantId: id } as const;
  const jobs = platform.stores.jobs(own).forTenant(id);
  const objects = scopeObjects(platform.stores.objects(own), id);
  const { job } = await submitJob(platform.intake, {
    tenant,
    data: { jobs, objects },
    model: 'finance',
    input: { revenue: 1_000_000 },
  });
  if (recordedVersion) await jobs.update(nextVersion(job, { modelVersion: recordedVersion }), job.version);
  const queue = laneFor(tenant, 'finance').queue;
  const handler = createModelHandler({
    directory: platform.directory,
    dataFor: laneDataFor(platform.stores),
  });
  const messages = await platform.queue.receive(queue, {
    maxMessages: 1,
    visibilityTimeoutSec: 30,
    waitTimeSec: 1,
  });
  expect(messages).toHaveLength(1);
  // No batch item failure: a refused job is finished, not retried.
  expect((await handler(toSqsEvent(queue, messages))).batchItemFailures).toEqual([]);
  return { tenant, job: (await jobs.get(job.id))!, objects };
}

describe('provenance of a rendered workbook', () => {
  const formatting: Formatting = {
    companyName: 'Acme',
    currency: 'EUR',
    brandColor: 'AA3300',
    logoPng: LOGO,
  };

  it('document properties name the job, tenant, model and version; the job records the formatting', async () => {
    const { tenant, job, objects } = await queuedJob(formatting);
    expect(job.status).toBe('succeeded');
    const model = getModel('finance');
    const { logoPng: _, ...rest } = formatting;
    expect(job.rendering).toEqual({
      formatting: { ...rest, logoPngSha256: createHash('sha256').update(LOGO).digest('hex') },
      formattingSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      modelVersion: model.version,
      // The job's rules: the formatting's currency is a default of the tenant's form.
      rules: { defaults: { currency: 'EUR' } },
      rulesSha256: createHash('sha256').update('{"defaults":{"currency":"EUR"}}').digest('hex'),
      tenantName: 'Provenance & Söhne',
    });
    const stored = await objects.get(job.artifacts[0]!.key);
    const files = unzipSync(stored!.body);
    const core = strFromU8(files['docProps/core.xml']!);
    expect(core).toContain('<dc:title>Company projection and valuation</dc:title>');
    expect(core).toContain(`<dc:identifier>${job.id}</dc:identifier>`);
    expect(core).toContain(`<cp:version>${model.version}</cp:version>`);
    expect(core).toContain(
      `<dcterms:created xsi:type="dcterms:W3CDTF">${job.createdAt.replace(/\.\d{3}Z$/, 'Z')}`,
    );
    expect(strFromU8(files['docProps/app.xml']!)).toContain('<Company>Provenance &amp; Söhne</Company>');
    const custom = strFromU8(files['docProps/custom.xml']!);
    expect(custom).toContain(`name="Silopool tenant id"><vt:lpwstr>${tenant.id}</vt:lpwstr>`);
    expect(custom).toContain(`name="Silopool model"><vt:lpwstr>finance</vt:lpwstr>`);
    const types = strFromU8(files['[Content_Types].xml']!);
    expect(types).toContain('/docProps/core.xml');
    expect(strFromU8(files['_rels/.rels']!)).toContain('Target="docProps/app.xml"');
  });

  it('the same formatting hashes the same whatever its key order; another formatting hashes differently', async () => {
    const a = (await queuedJob(formatting)).job.rendering!;
    const reordered = Object.fromEntries(Object.entries(formatting).reverse()) as Formatting;
    const b = (await queuedJob(reordered)).job.rendering!;
    const c = (await queuedJob({ ...formatting, brandColor: '003366' })).job.rendering!;
    expect(b.formattingSha256).toBe(a.formattingSha256);
    expect(c.formattingSha256).not.toBe(a.formattingSha256);
  });
});

// Session 18: the worker rendered every workbook's data validation from the model's schema, not the one the
// job's tenant rules shape, so a tenant's workbook took values its own submit refuses.
describe("a rendered workbook follows the job's tenant rules", () => {
  it('a range narrows the cell validation and a fixed field is a locked cell', async () => {
    const rules = {
      finance: {
        ranges: { discountRate: { minimum: 0.06, maximum: 0.15 } },
        fixed: { discounting: 'mid-year' },
      },
    };
    const { job, objects } = await queuedJob({}, undefined, rules);
    expect(job.status).toBe('succeeded');
    const inputs = strFromU8(
      unzipSync((await objects.get(job.artifacts[0]!.key))!.body)['xl/worksheets/sheet1.xml']!,
    );
    expect(inputs).toContain('tenant rule: ranges.discountRate');
    expect(inputs).toContain('B15&gt;=0.06,B15&lt;=0.15');
    expect(inputs).toContain('<t xml:space="preserve">fixed by your organisation&apos;s rules</t>');
  });
});

// Session 19: the workbook's validation follows the job's rules (session 18) and its Company is the tenant's
// name, but the rendering record kept only formatting and version: a tenant renamed or given other rules
// could not be told from the record what its old workbooks were made with.
describe('the rendering record reproduces the workbook', () => {
  it('rendering again from the record (rules, tenant name, formatting, version) gives the same bytes', async () => {
    const rules = {
      finance: {
        ranges: { discountRate: { minimum: 0.06, maximum: 0.15 } },
        fixed: { discounting: 'mid-year', revenueGrowth: [0.05, 0.04, 0.03] },
        defaults: { years: 3 },
      },
    };
    const { tenant, job, objects } = await queuedJob(
      { companyName: 'Acme', currency: 'EUR' },
      undefined,
      rules,
    );
    expect(job.status).toBe('succeeded');
    const rendering = job.rendering!;
    expect(rendering.rules).toEqual({
      ...rules.finance,
      defaults: { ...rules.finance.defaults, currency: 'EUR' },
    });
    expect(rendering.rulesSha256).toMatch(/^[0-9a-f]{64}$/);
    // Later the tenant is renamed and its rules change: the record still says what this workbook was made with.
    const current = (await platform.directory.get(tenant.id))!;
    await platform.directory.update(
      {
        ...current,
        name: 'Renamed Ltd',
        config: { ...current.config, rules: {} },
        version: current.version + 1,
      },
      current.version,
    );
    const model = getModel('finance');
    const again = await model.workbook(
      model.run(job.effectiveInput as never, rendering.rules!),
      job.effectiveInput as never,
      rendering.formatting,
      {
        jobId: job.id,
        tenantId: tenant.id,
        tenantName: rendering.tenantName!,
        model: 'finance',
        modelVersion: rendering.modelVersion,
        created: job.createdAt,
      },
      rendering.rules,
    );
    const stored = (await objects.get(job.artifacts[0]!.key))!.body;
    expect(createHash('sha256').update(again).digest('hex')).toBe(job.artifacts[0]!.sha256);
    expect(Buffer.from(again).equals(Buffer.from(stored))).toBe(true);
  });
});

describe('a worker and the model version a job recorded', () => {
  it('refuses a job recorded for another major version: a terminal model_version_unavailable failure', async () => {
    const { job } = await queuedJob({}, '2.0.0');
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('model_version_unavailable');
    expect(job.error?.message).toMatch(/finance 2\.0\.0.*finance 1\.\d+\.\d+/);
    expect(job.artifacts).toEqual([]);
    expect(job.rendering).toBeUndefined();
  });

  it('runs a job recorded for another minor version of the same major', async () => {
    const { job } = await queuedJob({}, '1.99.0');
    expect(job.status).toBe('succeeded');
    expect(job.rendering?.modelVersion).toBe(getModel('finance').version);
  });
});
