import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CurrentTenant,
  type DeclaredTenant,
  describePlanItem,
  parseTenantsFile,
  planApply,
} from '../control/apply.ts';
import { CliError, type OperationJson, type Operator } from './operator.ts';

const BAR = 30;

/** Follows a move operation to its end, drawing a progress bar (a line per step when not on a terminal). */
export async function showMove(
  op: Operator,
  started: OperationJson,
  quiet = false,
  what = 'move',
): Promise<OperationJson> {
  const tty = process.stderr.isTTY && !quiet;
  let current = started;
  let lastLine = '';
  for (;;) {
    const running =
      current.steps.find((s) => s.status === 'running') ?? current.steps.find((s) => s.status === 'pending');
    const pct = Math.round(current.progress * 100);
    const filled = Math.round(current.progress * BAR);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}] ${String(pct).padStart(3)}% ${running?.name ?? current.status}${running?.detail ? ` — ${running.detail}` : ''}`;
    if (!quiet && line !== lastLine) {
      if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
      else process.stderr.write(`${line}\n`);
      lastLine = line;
    }
    if (current.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 300));
    current = await op.getOperation(current.id);
  }
  if (tty) process.stderr.write('\n');
  if (current.status === 'failed')
    throw new CliError(`The ${what} failed: ${current.error?.message ?? 'see the operation'}`);
  return current;
}

/**
 * `silopool apply tenants.yaml`: reads and checks the file (throws ValidationError naming why it is not a
 * tenants file) before it connects, so a bad file touches nothing, not even DATA_DIR; then `runApply`.
 */
export function readTenantsFile(file: string): DeclaredTenant[] {
  return parseTenantsFile(readFileSync(file, 'utf8'));
}

/** Prints the plan that makes the tenants match `desired`, then carries it out step by step. */
export async function runApply(
  op: Operator,
  desired: DeclaredTenant[],
  options: {
    dryRun: boolean;
    exportDir: string;
    json: boolean;
    /** Asked before a plan that offboards anyone; throws to stop before the first change. */
    confirm?(offboarded: string[]): Promise<void>;
  },
): Promise<{ plan: string[]; steps: number }> {
  const current = (await op.listTenants()) as unknown as CurrentTenant[];
  const plan = planApply(desired, current);
  const say = (text: string) => {
    if (!options.json) process.stdout.write(`${text}\n`);
  };
  say(
    plan.length === 0 ? 'Plan: no changes.' : `Plan (${plan.length} change${plan.length === 1 ? '' : 's'}):`,
  );
  for (const item of plan) say(`  ${describePlanItem(item)}`);
  if (options.dryRun || plan.length === 0) return { plan: plan.map(describePlanItem), steps: 0 };
  const offboarded = plan.filter((item) => item.action === 'offboard').map((item) => item.id);
  if (offboarded.length > 0) await options.confirm?.(offboarded);
  for (const item of plan) {
    say(`${describePlanItem(item)} …`);
    switch (item.action) {
      case 'create': {
        const { apiKey } = await op.createTenant({
          id: item.id,
          name: item.tenant.name ?? item.id,
          ...(item.tenant.placement ? { placement: item.tenant.placement } : {}),
          ...(item.tenant.plan ? { plan: item.tenant.plan } : {}),
          ...(item.tenant.config ? { config: item.tenant.config } : {}),
        });
        if (item.tenant.status === 'suspended') await op.updateTenant(item.id, { status: 'suspended' });
        say(`    API key of ${item.id} (shown once): ${apiKey}`);
        break;
      }
      case 'update':
        await op.updateTenant(item.id, item.patch);
        break;
      case 'move':
        await showMove(op, await op.moveTenant(item.id, item.to), options.json);
        break;
      case 'offboard': {
        const path = join(options.exportDir, `${item.id}-export.zip`);
        await offboardToFile(op, item.id, path);
        say(`    export written to ${path}`);
        break;
      }
    }
  }
  return { plan: plan.map(describePlanItem), steps: plan.length };
}

/**
 * Offboards tenant `id` and writes its export zip to `path` (mode 0600: the tenant's financial data).
 * The file is opened before the server is asked, so a path that cannot be written (a missing folder, no
 * permission) stops the command while the tenant still exists; the export, which cannot be asked for
 * again once the tenant is gone, is not lost to a typo. A failed offboarding removes the empty file.
 * @returns the bytes written.
 * @throws Node's SystemError for the path (reported by the CLI as one line), or the server's problem.
 */
export async function offboardToFile(op: Operator, id: string, path: string): Promise<number> {
  const fd = openSync(path, 'w', 0o600);
  let zip: Uint8Array;
  try {
    zip = await op.offboardTenant(id);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  try {
    writeFileSync(fd, zip);
  } finally {
    closeSync(fd);
  }
  return zip.byteLength;
}
