import { once } from 'node:events';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toProblem } from '../../src/api/problem.ts';
import { exportUsage, setBillingCustomer } from '../../src/control/billing-export.ts';
import { createTenant } from '../../src/control/tenants.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { type EmbeddedPlatform, openEmbeddedPlatform } from '../../src/entry/embedded-wiring.ts';
import { randomTenantId } from '../contract/fixtures.ts';

let dir: string;
let platform: EmbeddedPlatform;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'silopool-export-torn-'));
  platform = openEmbeddedPlatform(dir);
});
afterEach(async () => {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A tenant with a customer id and two usage records of `at`'s day (a second from now), and what exports take. */
async function usageToExport() {
  const id = randomTenantId('torn') as TenantId;
  await createTenant(
    { directory: platform.directory, queue: platform.queue, stores: platform.stores },
    { id, name: 'Torn' },
  );
  const deps = { billing: platform.billing, directory: platform.directory, usage: platform.usage };
  await setBillingCustomer(deps, id, 'cus_Torn');
  const at = new Date(Date.now() + 1000).toISOString();
  await platform.usage.record(
    ['j1', 'j2'].map((jobId) => ({
      id: `job/${id}/${jobId}/jobs`,
      tenantId: id,
      meter: 'jobs' as const,
      model: 'finance',
      quantity: 1,
      at,
      day: at.slice(0, 10),
    })),
  );
  return { deps, at, id };
}

/**
 * An export to a file sink cut short (the server killed mid-append, a full disk taking part of a write)
 * leaves a torn last line, and the day is not marked exported, so the next export sends it again. That
 * export appended its events right after the fragment: the first of them shared its line, so a reader of
 * the JSON Lines file lost that usage event (counted never), whatever its identifier promised.
 */
describe('an export after one cut short', () => {
  it('starts its events on a line of their own, so each is read whole once', async () => {
    const { deps, at, id } = await usageToExport();
    const path = join(dir, 'events.jsonl');
    const range = { from: at.slice(0, 10), to: at.slice(0, 10) };
    const tomorrow = Date.parse(at) + 2 * 86_400_000;
    // What the cut-short export left: its first event torn.
    await exportUsage(deps, { kind: 'file', path }, range, tomorrow);
    const whole = readFileSync(path, 'utf8');
    rmSync(path);
    appendFileSync(path, whole.slice(0, 20));

    await exportUsage(deps, { kind: 'file', path }, range, tomorrow);
    const read = new Map<string, number>();
    expect(readFileSync(path, 'utf8').startsWith(whole.slice(0, 20))).toBe(true);
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      try {
        const event = JSON.parse(line) as { identifier: string };
        read.set(event.identifier, (read.get(event.identifier) ?? 0) + 1);
      } catch {
        // The torn fragment: a reader skips it.
      }
    }
    // Each event read whole, once.
    expect([...read.keys()].sort()).toEqual([`job/${id}/j1/jobs`, `job/${id}/j2/jobs`]);
    expect(readFileSync(path, 'utf8').endsWith('\n')).toBe(true);
  });
});

// The operator's export path unusable (a file where its folder belongs, no such folder, no permission) was a
// bare 500 from POST /v1/admin/billing/export: it is a 503 `billing_export_unwritable` naming the path and
// what to change, and the day is not marked exported (the next export sends it).
describe('an export to a file sink whose path cannot be written', () => {
  for (const [errno, under] of [
    ['ENOTDIR', 'a-file'],
    ['ENOENT', 'no-such-folder'],
  ] as const)
    it(`is a 503 billing_export_unwritable naming the path (${errno})`, async () => {
      const { deps, at } = await usageToExport();
      writeFileSync(join(dir, 'a-file'), 'in the way');
      const path = join(dir, under, 'events.jsonl');
      const range = { from: at.slice(0, 10), to: at.slice(0, 10) };
      const error = await exportUsage(
        deps,
        { kind: 'file', path },
        range,
        Date.parse(at) + 2 * 86_400_000,
      ).catch((e: unknown) => e);
      expect(toProblem(error)).toMatchObject({ status: 503, code: 'billing_export_unwritable', path, errno });
      expect(toProblem(error).detail).toContain(path);
      expect(await platform.billing.get('B#exported', range.from)).toBeUndefined();
    });
});

// A URL sink that failed (refused, unreachable) was a bare Error: a 500 from POST /v1/admin/billing/export,
// as if the request or the server were at fault. It is the provider's: a 502 `billing_sink_failed` naming
// the sink's origin only (its path and query may hold a token), and the day is not marked exported.
describe('an export to a URL sink that fails', () => {
  async function failingExport(url: string) {
    const { deps, at } = await usageToExport();
    const range = { from: at.slice(0, 10), to: at.slice(0, 10) };
    const error = await exportUsage(
      deps,
      { kind: 'http', url },
      range,
      Date.parse(at) + 2 * 86_400_000,
    ).catch((e: unknown) => e);
    expect(await platform.billing.get('B#exported', range.from)).toBeUndefined();
    return toProblem(error);
  }

  it('is a 502 with the status the sink answered', async () => {
    const server = createServer((_req, res) => res.writeHead(503).end('down')).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const problem = await failingExport(`http://127.0.0.1:${port}/meter?token=secret`);
      expect(problem).toMatchObject({ status: 502, code: 'billing_sink_failed', upstreamStatus: 503 });
      expect(problem.detail).toContain(`http://127.0.0.1:${port}`);
      expect(problem.detail).not.toContain('secret');
    } finally {
      server.close();
    }
  });

  it('is a 502 when nothing listens there', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const problem = await failingExport(`http://127.0.0.1:${port}/meter`);
    expect(problem).toMatchObject({ status: 502, code: 'billing_sink_failed' });
    expect(problem.detail).toContain('ECONNREFUSED');
  });
});
