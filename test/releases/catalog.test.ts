import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFileReleasePointer } from '../../src/adapters/embedded/release-pointer.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { emptyConfig, type Placement, type Tenant } from '../../src/core/tenant.ts';
import { openEmbeddedReleaseCatalog } from '../../src/entry/embedded-wiring.ts';
import { fundsModel } from '../../src/models/funds/index.ts';
import { modelForJob, modelForSubmit, variantsFor } from '../../src/models/model-selection.ts';
import { openReleaseCatalog } from '../../src/models/release-catalog.ts';
import { newTenantId } from '../support/server.ts';
import { publishRelease } from './fixtures.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'silopool-releases-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The incarnation the tenants below are onboarded in, and their variants made for. */
const INCARNATION = 'inc-first';

function tenant(id: string, placement: Placement, extra: Partial<Tenant> = {}): Tenant {
  const now = new Date().toISOString();
  return {
    id: parseTenantId(id),
    name: id,
    status: 'active',
    placement,
    plan: 'enterprise',
    config: emptyConfig(),
    apiKeys: [],
    createdAt: now,
    incarnation: INCARNATION,
    updatedAt: now,
    version: 1,
    ...extra,
  };
}

describe('the model a job runs on (the handler’s one call)', () => {
  const owner = newTenantId('own');
  const other = newTenantId('oth');
  const variant = `finance-${owner}`;
  publishRelease(dataDir, 'rv', {
    models: { funds: { version: '1.2.0', body: "version: '1.2.0'" } },
    variants: [
      {
        name: variant,
        model: 'finance',
        tenantId: owner,
        tenantIncarnation: INCARNATION,
        version: '1.0.0',
        body: "version: '1.0.0'",
      },
    ],
  });
  const catalog = openEmbeddedReleaseCatalog(join(dataDir, 'releases'));

  it('runs a variant only for its tenant, in its dedicated lane, on a release that carries it', async () => {
    const job = { model: 'finance', modelVariant: variant };
    const mine = await modelForJob(catalog, tenant(owner, 'dedicated', { release: 'rv' }), job, 'dedicated');
    expect(mine.record).toEqual({ modelVersion: '1.0.0', modelVariant: variant, release: 'rv' });
    // A job of another tenant naming it (a record changed behind the API), a shared lane, another release.
    const refused = [
      modelForJob(catalog, tenant(other, 'dedicated', { release: 'rv' }), job, 'dedicated'),
      modelForJob(catalog, tenant(owner, 'dedicated', { release: 'rv' }), job, 'shared'),
      modelForJob(catalog, tenant(owner, 'dedicated'), job, 'dedicated'),
    ];
    for (const result of refused) await expect(result).rejects.toMatchObject({ code: 'variant_unavailable' });
  });

  // A tenant id offboarded and onboarded again is another customer (another incarnation): bound to the id
  // alone, the variant was listed to it and ran its predecessor's calculation once it was dedicated.
  it("offers and runs a variant for its own tenant's incarnation only, not a new tenant of the same id", async () => {
    const successor = tenant(owner, 'dedicated', { release: 'rv', incarnation: 'inc-second' });
    expect(await variantsFor(catalog, successor)).toEqual([]);
    expect(
      (await variantsFor(catalog, tenant(owner, 'dedicated', { release: 'rv' }))).map((v) => v.name),
    ).toEqual([variant]);
    await expect(
      modelForJob(catalog, successor, { model: 'finance', modelVariant: variant }, 'dedicated'),
    ).rejects.toMatchObject({ code: 'variant_unavailable' });
    await expect(modelForSubmit(catalog, successor, variant)).rejects.toMatchObject({
      code: 'unknown_model',
      status: 404,
    });
    // A record from before incarnations existed is its `createdAt` incarnation, not a wildcard.
    const legacy = tenant(owner, 'dedicated', { release: 'rv', incarnation: undefined });
    expect(await variantsFor(catalog, legacy)).toEqual([]);
  });

  it('a pin wins over the release; an unknown model is the usual 404', async () => {
    const pinned = tenant(owner, 'dedicated', { release: 'rv', pins: { funds: fundsModel.version } });
    expect((await modelForJob(catalog, pinned, { model: 'funds' }, 'dedicated')).record).toEqual({
      modelVersion: fundsModel.version,
      release: 'builtin',
    });
    const follows = tenant(owner, 'dedicated', { release: 'rv' });
    expect((await modelForJob(catalog, follows, { model: 'funds' }, 'dedicated')).record.modelVersion).toBe(
      '1.2.0',
    );
    await expect(modelForJob(catalog, follows, { model: variant }, 'dedicated')).rejects.toMatchObject({
      code: 'unknown_model',
      status: 404,
    });
  });
});

describe('an upgrade to a new major version', () => {
  const id = newTenantId('maj');
  publishRelease(dataDir, 'r-major', { models: { finance: { version: '2.0.0', body: "version: '2.0.0'" } } });
  const catalog = openEmbeddedReleaseCatalog(join(dataDir, 'releases'));

  it('runs a job accepted before it on the version it was accepted for, new jobs on the new one', async () => {
    const upgraded = tenant(id, 'dedicated', { release: 'r-major' });
    const queuedBefore = { model: 'finance', modelVersion: '1.1.3' };
    expect((await modelForJob(catalog, upgraded, queuedBefore, 'dedicated')).record).toEqual({
      modelVersion: '1.1.3',
      release: 'builtin',
    });
    const acceptedAfter = { model: 'finance', modelVersion: '2.0.0' };
    expect((await modelForJob(catalog, upgraded, acceptedAfter, 'dedicated')).record.modelVersion).toBe(
      '2.0.0',
    );
  });
});

// Two variants of one name in a release (for two tenants): the later silently replaced the earlier, so the
// first tenant's jobs of its variant were refused as unavailable while the release loaded as valid.
describe('a release naming one variant twice', () => {
  it('fails to load, naming the second', async () => {
    const a = newTenantId('dup');
    const b = newTenantId('dup');
    publishRelease(dataDir, 'rdup', {
      variants: [
        {
          name: 'finance-custom',
          model: 'finance',
          tenantId: a,
          tenantIncarnation: INCARNATION,
          version: '1.0.0',
          body: "version: '1.0.0'",
        },
        {
          name: 'finance-custom',
          model: 'finance',
          tenantId: b,
          tenantIncarnation: INCARNATION,
          version: '1.0.0',
          body: "version: '1.0.0'",
        },
      ],
    });
    const catalog = openEmbeddedReleaseCatalog(join(dataDir, 'releases'));
    await expect(catalog.get('rdup')).rejects.toThrow('/variants/1/name names a variant already');
  });
});

describe('a release whose variant names no tenant incarnation', () => {
  it('fails to load, saying where to read the incarnation', async () => {
    const owner = newTenantId('noinc');
    publishRelease(dataDir, 'rnoinc', {
      variants: [
        {
          name: `finance-${owner}`,
          model: 'finance',
          tenantId: owner,
          version: '1.0.0',
          body: "version: '1.0.0'",
        },
      ],
    });
    const catalog = openEmbeddedReleaseCatalog(join(dataDir, 'releases'));
    await expect(catalog.get('rnoinc')).rejects.toThrow(
      `/variants/0/tenantIncarnation must name the incarnation of the tenant it was made for (GET /v1/admin/tenants/${owner} → incarnation)`,
    );
  });
});

// Every submit asks which release is current (a `stat` of `current.json` on the embedded backend): once,
// for both of its questions (the tenant's variant, then the model and version), not once per question.
describe('the model a submit names', () => {
  it('is chosen with one read of the release pointer, and follows the pointer when it moves', async () => {
    const owner = newTenantId('ptr');
    publishRelease(dataDir, 'rptr', {
      variants: [
        {
          name: `finance-${owner}`,
          model: 'finance',
          tenantId: owner,
          tenantIncarnation: INCARNATION,
          version: '1.0.0',
          body: "version: '1.0.0'",
        },
      ],
    });
    const dir = join(dataDir, 'releases');
    const file = createFileReleasePointer(dir);
    let reads = 0;
    const catalog = openReleaseCatalog(dir, {
      current: () => {
        reads++;
        return file.current();
      },
      setCurrent: (id) => file.setCurrent(id),
    });
    const shared = tenant(owner, 'shared');
    expect((await modelForSubmit(catalog, shared, 'finance')).version).toBe('1.1.3');
    expect(reads).toBe(1);
    const dedicated = tenant(owner, 'dedicated');
    await expect(modelForSubmit(catalog, dedicated, `finance-${owner}`)).rejects.toMatchObject({
      code: 'unknown_model',
    });
    await catalog.setCurrent('rptr');
    expect((await modelForSubmit(catalog, dedicated, `finance-${owner}`)).variant).toBe(`finance-${owner}`);
    expect(reads).toBe(3);
  });
});
