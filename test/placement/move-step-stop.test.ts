import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/core/job.ts';
import type { StoreRef } from '../../src/core/placement.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { moveDataInWorker } from '../../src/entry/move-data-worker.ts';
import { tenantDataAt } from '../../src/ports/stores.ts';
import { makeJob, randomTenantId } from '../contract/fixtures.ts';

const JOBS = 3000;
const dataDir = mkdtempSync(join(tmpdir(), 'silopool-move-stop-'));
const tenantId = randomTenantId('stop');
const source: StoreRef = { kind: 'shared' };
const target: StoreRef = { kind: 'dedicated', tenantId };
let platform: EmbeddedPlatform;

beforeAll(async () => {
  platform = openEmbeddedPlatform(dataDir);
  const data = tenantDataAt(platform.stores, source, tenantId);
  const body = new Uint8Array(2048).fill(7);
  const sha256 = createHash('sha256').update(body).digest('hex');
  for (let i = 0; i < JOBS; i++) {
    const job = makeJob(tenantId, { status: 'succeeded' });
    const key = artifactKey(job.id, 'workbook.xlsx');
    const contentType = 'application/octet-stream';
    await data.jobs.create({
      ...job,
      artifacts: [{ name: 'workbook.xlsx', contentType, size: 2048, sha256, key }],
    });
    await data.objects.put(key, body, contentType);
  }
  await platform.stores.provision(target);
}, 120_000);

afterAll(async () => {
  await platform?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

// A server stopping (SIGTERM) stops its move runner, which waited for the step under way: a copy of a
// big tenant held the stop for the whole copy, past the shutdown grace. The step's thread is ended instead,
// and the step runs again (it is idempotent) when the move resumes.
describe("a move's data step in its worker thread", () => {
  it('ends when the move runner stops, and runs to the end when asked again', async () => {
    const steps = moveDataInWorker(dataDir);
    const stop = new AbortController();
    let reports = 0;
    const copy = steps.copy(
      tenantId,
      source,
      target,
      async () => {
        // The first progress report (200 of 3,000 records): the copy is under way.
        if (++reports === 1) stop.abort();
      },
      stop.signal,
    );
    await expect(copy).rejects.toThrow('stopped');
    expect(reports).toBeGreaterThan(0);
    // Asked again (the move resumed), the same step finishes, and the copy is whole.
    const summary = await steps.copy(tenantId, source, target, async () => undefined);
    expect(summary).toMatch(new RegExp(`^${JOBS} job records`));
    const checked = await steps.verify(tenantId, source, target);
    expect(checked.problems).toEqual([]);
  }, 120_000);

  it('does not start when the runner has stopped already', async () => {
    const stop = new AbortController();
    stop.abort();
    await expect(moveDataInWorker(dataDir).verify(tenantId, source, target, stop.signal)).rejects.toThrow(
      'stopped',
    );
  });
});
