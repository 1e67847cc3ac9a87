import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { sendProblem } from '../../src/api/problem.ts';
import { placementRoutes } from '../../src/api/routes/placement.ts';
import { compileRouteSchemas } from '../../src/api/validators.ts';
import { createMoveRunner, type MoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { checkRegion, type RegionPolicy } from '../../src/core/region.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';

/**
 * `POST /v1/admin/tenants/{id}/placement` with `{ placement: dedicated, region }` wrote the tenant's contract
 * region first, by a write of its own, and then started the move. A move refused after it (an id too long
 * for dedicated lanes, an offboarding, a lost race) left a shared tenant with a contract region: every submit
 * of it was then refused (409 region_requires_dedicated) until an operator cleared the region by hand.
 */
const REGIONS: RegionPolicy = { region: 'us-east-1', dedicatedRegions: ['us-east-1', 'eu-west-1'] };

let dir: string;
let platform: EmbeddedPlatform;
let moves: MoveRunner;
let app: FastifyInstance;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-promote-region-'));
  platform = openEmbeddedPlatform(dir);
  const operations = createSqliteOperationStore(platform.db);
  // Recorded here, driven elsewhere: nothing moves during the test.
  moves = createMoveRunner({ ...platform, operations, regions: REGIONS, drive: 'elsewhere' });
  app = Fastify();
  compileRouteSchemas(app);
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  placementRoutes(app, {
    moves,
    operations,
    exports: platform.stores.objects({ kind: 'shared' }),
    functions: () => [],
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await moves.stop();
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

const promote = (id: string, body: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/v1/admin/tenants/${id}/placement`, payload: body });

describe('a promotion into a contract region', () => {
  it('that is refused leaves the tenant as it was: shared, in the platform region, submitting', async () => {
    // 63 characters: a valid tenant id, too long for the queue names of dedicated lanes.
    const id = parseTenantId(`long-${'x'.repeat(58)}`);
    await createTenant(platform, { id, name: 'Long' });
    const res = await promote(id, { placement: 'dedicated', region: 'eu-west-1' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('too long for dedicated placement');
    const tenant = await platform.directory.get(id);
    expect(tenant?.region).toBeUndefined();
    expect(tenant?.move).toBeUndefined();
    // What admission checks for every submit (control/hooks.ts): still nothing to refuse.
    expect(() => checkRegion(tenant?.region, 'shared', REGIONS)).not.toThrow();
  });

  it('to a region the platform cannot deploy to, or with a demotion, changes nothing', async () => {
    const id = parseTenantId('short-one');
    await createTenant(platform, { id, name: 'Short' });
    const unavailable = await promote(id, { placement: 'dedicated', region: 'ap-south-1' });
    expect(unavailable.statusCode).toBe(422);
    const demotion = await promote(id, { placement: 'shared', region: 'eu-west-1' });
    expect(demotion.statusCode).toBe(400);
    expect((await platform.directory.get(id))?.region).toBeUndefined();
  });

  it('that starts records the region with the move, in one write', async () => {
    const id = parseTenantId('moving-one');
    await createTenant(platform, { id, name: 'Moving' });
    const res = await promote(id, { placement: 'dedicated', region: 'eu-west-1' });
    expect(res.statusCode).toBe(202);
    const tenant = await platform.directory.get(id);
    expect(tenant).toMatchObject({ region: 'eu-west-1', placement: 'shared', move: { to: 'dedicated' } });
    expect(tenant?.version).toBe(2);
    // Asked again while it runs: the same operation; another region: refused, the recorded one kept.
    const again = await promote(id, { placement: 'dedicated', region: 'eu-west-1' });
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ id: res.json().id });
    const elsewhere = await promote(id, { placement: 'dedicated', region: 'us-east-1' });
    expect(elsewhere.statusCode).toBe(409);
    expect((await platform.directory.get(id))?.region).toBe('eu-west-1');
  });
});
