import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMove, startOffboard, submit, waitForOperation } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';
import { publishRelease, startRollout, tenantRecord } from './fixtures.ts';

let server: TestServer;
const tenants: Record<'owner' | 'other' | 'shared', { id: string; apiKey: string }> = {} as never;
let variant: string;

beforeAll(async () => {
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  for (const [role, placement] of [
    ['owner', 'dedicated'],
    ['other', 'dedicated'],
    ['shared', 'shared'],
  ] as const) {
    const id = newTenantId(role);
    tenants[role] = { id, apiKey: (await server.createTenant(id, { placement, plan: 'enterprise' })).apiKey };
  }
  // The owner's own calculation: the same schema, its revenue counted twice (a tenant's own business rule).
  variant = `finance-${tenants.owner.id}`;
  publishRelease(server.dataDir, 'rv', {
    variants: [
      {
        name: variant,
        model: 'finance',
        tenantId: tenants.owner.id,
        tenantIncarnation: String((await tenantRecord(server, tenants.owner.id)).incarnation),
        version: '1.1.3',
        body: 'run: (input, rules) => base.run({ ...input, revenue: input.revenue * 2 }, rules)',
      },
    ],
  });
  const op = await startRollout(server, 'rv', { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
}, 90_000);

afterAll(async () => {
  await server?.stop();
});

async function modelNames(apiKey: string): Promise<string[]> {
  const res = await server.api('/v1/models', { token: apiKey });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: { name: string }[] }).items.map((m) => m.name);
}

async function problemOf(res: Response) {
  return { status: res.status, ...((await res.json()) as { code: string; detail: string }) };
}

describe("a tenant's own variant of a model", () => {
  it('is listed and runs only for its tenant, in its dedicated lane, and the job records it', async () => {
    expect(await modelNames(tenants.owner.apiKey)).toEqual(
      expect.arrayContaining(['finance', 'funds', variant]),
    );
    const own = await waitForJob(
      server,
      tenants.owner.apiKey,
      (await submit(server, tenants.owner.apiKey, { revenue: 1_000_000 }, {}, variant)).id,
    );
    const plain = await waitForJob(
      server,
      tenants.owner.apiKey,
      (await submit(server, tenants.owner.apiKey, { revenue: 1_000_000 })).id,
    );
    expect(own).toMatchObject({
      status: 'succeeded',
      model: 'finance',
      modelVariant: variant,
      release: 'rv',
    });
    expect(plain).toMatchObject({ status: 'succeeded', model: 'finance' });
    expect(plain.modelVariant).toBeUndefined();
    const ev = (job: Record<string, unknown>) => (job.summary as { enterpriseValue: number }).enterpriseValue;
    expect(ev(own)).not.toBe(ev(plain));
    // The variant's numbers are the shared model's on twice the revenue.
    const doubled = await waitForJob(
      server,
      tenants.owner.apiKey,
      (await submit(server, tenants.owner.apiKey, { revenue: 2_000_000 })).id,
    );
    expect(ev(own)).toBe(ev(doubled));
  }, 60_000);

  it('answers any other tenant the same 404 as a model that does not exist', async () => {
    for (const who of [tenants.other, tenants.shared]) {
      expect(await modelNames(who.apiKey)).not.toContain(variant);
      const missing = `finance-${newTenantId('none')}`;
      for (const [path, method] of [
        ['/v1/models/{m}/jobs', 'POST'],
        ['/v1/models/{m}', 'GET'],
      ] as const) {
        const init = { method, token: who.apiKey, ...(method === 'POST' ? { body: '{"input":{}}' } : {}) };
        const asked = await problemOf(await server.api(path.replace('{m}', variant), init));
        const none = await problemOf(await server.api(path.replace('{m}', missing), init));
        expect(asked.status).toBe(404);
        // Identical but for the name asked.
        expect(JSON.stringify(asked).replaceAll(variant, 'X')).toBe(
          JSON.stringify(none).replaceAll(missing, 'X'),
        );
      }
    }
  });
});

describe('contract regions', () => {
  async function setRegion(id: string, region: unknown) {
    return server.api(`/v1/admin/tenants/${id}/region`, {
      method: 'PUT',
      token: server.operatorToken,
      body: JSON.stringify({ region }),
    });
  }

  it("records a tenant's region and refuses placements that cannot honour it", async () => {
    const shared = await problemOf(await setRegion(tenants.shared.id, 'eu-central-1'));
    expect(shared).toMatchObject({ status: 409, code: 'region_requires_dedicated' });
    // The embedded backend runs dedicated lanes on this machine only: another Region is refused.
    const dedicated = await problemOf(await setRegion(tenants.other.id, 'eu-central-1'));
    expect(dedicated).toMatchObject({ status: 422, code: 'region_unavailable' });
    expect((await setRegion(tenants.other.id, 'not a region')).status).toBe(400);
    expect((await tenantRecord(server, tenants.other.id)).region).toBeUndefined();
    expect((await setRegion(tenants.other.id, 'local')).status).toBe(200);
    expect((await tenantRecord(server, tenants.other.id)).region).toBe('local');
    expect((await setRegion(tenants.other.id, null)).status).toBe(200);
    expect((await tenantRecord(server, tenants.other.id)).region).toBeUndefined();
  });
});

describe('silopool release (CLI)', () => {
  const run = promisify(execFile);
  const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
  const cli = (...args: string[]) =>
    run(process.execPath, [BIN, ...args], { env: { ...process.env, DATA_DIR: server.dataDir } });

  it('lists releases, pins a tenant, and rolls a release out with progress', async () => {
    const listed = JSON.parse((await cli('release', 'list', '--json')).stdout) as {
      items: { id: string; current: boolean }[];
    };
    expect(listed.items.find((r) => r.current)?.id).toBe('rv');
    const pinned = JSON.parse(
      (await cli('release', 'pin', tenants.shared.id, 'finance@1.1.3', '--json')).stdout,
    );
    expect(pinned.pins).toEqual({ finance: '1.1.3' });
    expect((await cli('release', 'pin', tenants.shared.id)).stdout).toContain('follows its release');
    publishRelease(server.dataDir, 'rcli', {
      models: { funds: { version: '1.2.0', body: "version: '1.2.0'" } },
    });
    const { stdout, stderr } = await cli('release', 'rollout', 'rcli', '--observe', '0');
    expect(stdout).toMatch(/Upgrade op_\w+: succeeded/);
    expect(stderr).toContain('wave 1 (canary)');
    expect((await tenantRecord(server, tenants.owner.id)).release).toBe('rcli');
    await expect(cli('release', 'rollout', 'missing')).rejects.toMatchObject({
      code: 1,
      // The CLI prints a problem as one line, `silopool: {title}: {detail}` (src/cli/main.ts).
      stderr: expect.stringContaining('Not Found: Release "missing" was not found.'),
    });
  }, 60_000);
});

describe('a demoted tenant', () => {
  it('follows the current release again (its own is dropped with its dedicated lanes)', async () => {
    expect((await tenantRecord(server, tenants.owner.id)).release).toBeDefined();
    const op = await startMove(server, tenants.owner.id, 'shared');
    expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
    const record = await tenantRecord(server, tenants.owner.id);
    expect(record.placement).toBe('shared');
    expect(record.release).toBeUndefined();
    // Its variant is neither listed nor runnable while it is shared.
    expect(await modelNames(tenants.owner.apiKey)).not.toContain(variant);
  }, 90_000);
});

// A tenant id offboarded and onboarded again is another customer. Bound to the id alone, the variant made
// for the former tenant was listed to the new one and ran its predecessor's calculation once it was
// dedicated; now a variant names the incarnation it was made for (`tenantIncarnation`).
describe('a tenant id onboarded again', () => {
  it("is another customer: its predecessor's variant is neither listed nor runnable", async () => {
    const id = tenants.owner.id;
    const former = String((await tenantRecord(server, id)).incarnation);
    const off = await startOffboard(server, id);
    expect((await waitForOperation(server, off.id, 60_000)).status).toBe('succeeded');
    // The release the platform runs carries the former tenant's variant, made for its incarnation.
    publishRelease(server.dataDir, 'rformer', {
      variants: [
        {
          name: variant,
          model: 'finance',
          tenantId: id,
          tenantIncarnation: former,
          version: '1.1.3',
          body: 'run: (input, rules) => base.run({ ...input, revenue: input.revenue * 2 }, rules)',
        },
      ],
    });
    const op = await startRollout(server, 'rformer', { observeSec: 0 });
    expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
    const { apiKey } = await server.createTenant(id, { placement: 'dedicated', plan: 'enterprise' });
    expect(String((await tenantRecord(server, id)).incarnation)).not.toBe(former);
    expect(await modelNames(apiKey)).not.toContain(variant);
    const asked = await problemOf(
      await server.api(`/v1/models/${variant}/jobs`, {
        method: 'POST',
        token: apiKey,
        body: JSON.stringify({ input: { revenue: 1_000_000 } }),
      }),
    );
    expect(asked).toMatchObject({ status: 404, code: 'unknown_model' });
  }, 120_000);
});
