import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/adapters/embedded/database.ts';
import { createSqliteUsageLedger } from '../../src/adapters/embedded/usage-ledger.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { storageDayRecord } from '../../src/core/usage.ts';
import { newTenantId } from '../support/server.ts';

const run = promisify(execFile);
const BIN = new URL('../../bin/silopool.mjs', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'silopool-billing-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const cli = (...args: string[]) =>
  run(process.execPath, [BIN, ...args], { env: { ...process.env, DATA_DIR: dataDir } });

describe('silopool usage and statements', () => {
  it('show what a tenant used, cost and owes, as tables and --json', async () => {
    const id = newTenantId('cli') as TenantId;
    await cli('tenants', 'create', id, '--name', 'Cli Co', '--plan', 'enterprise');
    const db = openDatabase(join(dataDir, 'jobs.sqlite'));
    await createSqliteUsageLedger(db).record([storageDayRecord(id, '2026-03-04', 2 * 1024 ** 3)]);
    db.close();
    const usage = JSON.parse((await cli('usage', '--month', '2026-03', '--json')).stdout) as {
      items: { tenantId: string; total: number; usage: { storage_byte_days: number } }[];
    };
    const mine = usage.items.find((i) => i.tenantId === id)!;
    expect(mine.usage.storage_byte_days).toBe(2 * 1024 ** 3);
    expect(mine.total).toBe(1_200_000); // Enterprise's $12,000 base fee, nothing over.
    expect((await cli('usage', '--month', '2026-03')).stdout).toMatch(new RegExp(`${id}.*12000\\.00 USD`));
    const csv = (await cli('statements', id, '--month', '2026-03', '--format', 'csv')).stdout;
    expect(csv.split('\r\n')[0]).toContain('amount_USD');
    // A format it does not have, or one without the month it formats, was a table before, exit 0.
    await expect(cli('statements', id, '--month', '2026-03', '--format', 'pdf')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('Allowed choices are table, csv, html'),
    });
    await expect(cli('statements', id, '--format', 'csv')).rejects.toMatchObject({
      code: 1,
      stderr: "silopool: --format needs --month: it formats one month's statement (--month YYYY-MM).\n",
    });
    const list = JSON.parse((await cli('statements', id, '--json')).stdout) as { status: string }[];
    expect(list.at(-1)!.status).toBe('open');
    await expect(cli('usage', '--month', '2026-13')).rejects.toMatchObject({ code: 1 });
    // A month before the tenant existed, in which its id billed nothing: no statement made up for it.
    await expect(cli('statements', id, '--month', '2020-01')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('was not found'),
    });
  });
});
