import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteOperationStore } from '../../src/adapters/embedded/operation-store.ts';
import { laneInfrastructure } from '../../src/control/lanes.ts';
import { createMoveRunner, type MoveRunner } from '../../src/control/placement-move.ts';
import { createTenant } from '../../src/control/tenants.ts';
import { parseTenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { newTenantId } from '../support/server.ts';
import { until } from './helpers.ts';

let dir: string;
let platform: EmbeddedPlatform;
const runners: MoveRunner[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-move-drivers-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await Promise.all(runners.splice(0).map((r) => r.stop()));
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

// Two processes may be told to drive moves (the API function with SILOPOOL_MOVE_RUNNER=here beside the
// control function): both drove the same move at once, each provisioning, draining, copying and cleaning up.
describe('a placement move driven by two processes', () => {
  it('is driven by one of them only (a lease in its record): the other runs none of its steps', async () => {
    const id = parseTenantId(newTenantId('mv2d'));
    await createTenant(platform, { id, name: 'Two drivers' });
    const lanes = laneInfrastructure(platform);
    const deploys = [0, 0];
    const make = (drive: 'here' | 'elsewhere', n = 0) => {
      const r = createMoveRunner({
        ...platform,
        operations: createSqliteOperationStore(platform.db),
        infrastructure: {
          ...lanes,
          deploy: async (tenant, options) => {
            deploys[n]!++;
            // Long enough for the other driver to have begun too, were it driving.
            await new Promise((r) => setTimeout(r, 200));
            return lanes.deploy(tenant, options);
          },
        },
        drive,
        graceMs: 10,
        pollMs: 10,
        retryMs: 20,
      });
      runners.push(r);
      return r;
    };
    const op = await make('elsewhere').start(id, 'dedicated');
    const drivers = [make('here', 0), make('here', 1)];
    await Promise.all(drivers.map((d) => d.resume()));
    const operations = createSqliteOperationStore(platform.db);
    await until('the move to end', async () => (await operations.get(op.id))?.status !== 'running');
    expect((await operations.get(op.id))?.status).toBe('succeeded');
    expect((await platform.directory.get(id))?.placement).toBe('dedicated');
    expect(deploys.filter((n) => n > 0)).toEqual([1]);
  });
});
