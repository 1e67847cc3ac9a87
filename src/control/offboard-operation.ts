import { createHash } from 'node:crypto';
import { unzipSync } from 'fflate';
import { backoffMs } from '../core/backoff.ts';
import { ConditionFailedError, ConflictError, NotFoundError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import { incarnationOf, type Placement, type Tenant } from '../core/tenant.ts';
import type { Operation } from '../ports/operation-store.ts';
import { StoppedError } from '../ports/tenant-infrastructure.ts';
import { rememberFormerTenant } from './former-tenants.ts';
import { meterStoreBeforeRemoval } from './meter.ts';
import { allJobs } from './move-data.ts';
import { beginOffboarding, cancelQueued, dataOf, exportTenant, type OffboardDeps } from './offboard.ts';
import {
  eraseArtifacts,
  eraseDedicated,
  eraseJobRecords,
  eraseOtherOperations,
  eraseQueueTraces,
  eraseRemains,
  findRemains,
  type Offboarded,
} from './offboard-erase.ts';
import { changeOperation, finishOperation, newOperation, STEP_RETRY, setStep } from './operations.ts';

export const OFFBOARD_STEPS = [
  'stop new work and cancel queued jobs',
  'let running jobs finish',
  'export jobs and artifacts',
  'remove queued messages and dead letters',
  'remove job records',
  'remove artifacts',
  'remove dedicated lanes and store',
  'remove other operations',
  'check that nothing of the tenant remains',
  'remove the tenant record',
] as const;
const [STOP, WAIT, EXPORT, QUEUES, RECORDS, ARTIFACTS, DEDICATED, OPERATIONS, SCAN, RECORD] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
];

/** How many times the final check removes what it found and looks again before the step counts as failed. */
const SCAN_ROUNDS = 3;

/** Where an offboarding's export is kept: the shared store, outside every tenant's prefix. */
export function exportKey(op: Pick<Operation, 'id'>): string {
  return `exports/${op.id}.zip`;
}

/**
 * One offboarding per tenant incarnation: the id is derived from it, so two requests racing create one
 * operation (the store's create is conditional), and the id names no tenant.
 */
export function offboardOperationId(tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>): string {
  const incarnation = incarnationOf(tenant);
  return `op_${createHash('sha256').update(`offboard\0${tenant.id}\0${incarnation}`).digest('hex').slice(0, 32)}`;
}

/**
 * Starts offboarding a tenant, or answers the offboarding already in flight (also once the tenant record
 * is gone, at the very end): records the operation, then marks the tenant `offboarding` (its credentials
 * stop resolving). NotFoundError when there is neither; ConflictError while it moves.
 */
export async function newOffboardOperation(deps: OffboardDeps, rawId: string): Promise<Operation> {
  const tenantId = parseTenantId(rawId, '/params/id');
  const inFlight = await runningOffboard(deps, tenantId);
  if (inFlight) return inFlight;
  const tenant = await deps.directory.get(tenantId);
  if (!tenant) throw new NotFoundError(`Tenant "${tenantId}"`);
  if (tenant.move)
    throw new ConflictError(
      `Tenant ${tenantId} is moving; offboard it when the move is done.`,
      'move_in_progress',
    );
  const op: Operation = {
    ...newOperation('offboard', tenant.id, [...OFFBOARD_STEPS], {
      placement: tenant.placement,
      incarnation: incarnationOf(tenant),
    }),
    id: offboardOperationId(tenant),
  };
  let started = op;
  try {
    await deps.operations.create(op);
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
    started = await reopen(deps, op.id);
  }
  // Recorded first, so a crash here still ends in an offboarding: its first step marks the tenant.
  await beginOffboarding(deps, tenantId);
  return started;
}

async function runningOffboard(deps: OffboardDeps, tenantId: TenantId): Promise<Operation | undefined> {
  return (await deps.operations.listByTenant(tenantId)).find(
    (op) => op.kind === 'offboard' && op.status === 'running',
  );
}

/** The same request again after this incarnation's offboarding failed: it runs again from where it stopped. */
async function reopen(deps: OffboardDeps, id: string): Promise<Operation> {
  return changeOperation(deps.operations, id, (current) => {
    if (current.status !== 'failed') return current;
    const { error: _error, ...rest } = current;
    return { ...rest, status: 'running' };
  });
}

/** Ends the operation as failed (only for what no retry can mend: the tenant is gone before its export). */
class OffboardFailed extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Offboarding as an operation, on both backends: export first (durable, in the shared store under
 * `exportKey`, downloadable from `GET …/operations/{id}/export`), then removal one concern per step, the
 * check that nothing remains, and the tenant record last (until then it stays `offboarding`: visible,
 * refusing work, and holding its id so no new tenant takes it mid-way). Each step is marked running
 * before it acts and done after; every step is idempotent, so after a crash the operation resumes at the
 * step it was in. A failing step is retried with backoff; `signal` pauses it (it resumes later).
 */
export async function driveOffboard(
  deps: OffboardDeps,
  started: Operation,
  signal: AbortSignal,
): Promise<void> {
  const id = started.id;
  let op = (await deps.operations.get(id)) ?? started;
  const tenantId = op.tenantId;
  const target = (): Offboarded => ({
    tenantId,
    placement: op.params.placement as Placement,
    jobIds,
    operationId: id,
    ...(op.params.incarnation !== undefined ? { incarnation: op.params.incarnation } : {}),
  });
  let jobIds: string[] = [];

  async function step(index: number, act: () => Promise<string>): Promise<void> {
    if (op.steps[index]?.status === 'done') return;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new StoppedError('The offboarding paused; it resumes where it stopped.');
      op = await setStep(deps.operations, id, index, 'running');
      try {
        const detail = await act();
        op = await setStep(deps.operations, id, index, 'done', detail);
        return;
      } catch (error) {
        if (signal.aborted || error instanceof StoppedError || error instanceof OffboardFailed) throw error;
        const message = (error as Error)?.message ?? String(error);
        deps.log?.('warn', 'offboarding step failed; retrying', {
          operationId: id,
          step: OFFBOARD_STEPS[index],
          error: message,
        });
        op = await setStep(
          deps.operations,
          id,
          index,
          'running',
          `attempt ${attempt} failed: ${message}; retrying`,
        );
        await pause(backoffMs(attempt, STEP_RETRY), signal);
      }
    }
  }

  try {
    await step(STOP, async () => {
      const tenant = await ownTenant(deps, op);
      if (!tenant)
        throw new OffboardFailed('tenant_gone', 'The tenant no longer exists; nothing was exported.');
      const marked = await beginOffboarding(deps, tenantId);
      // A move that began before the mark has finished by now (the mark waits for it): record where it ended.
      op = await changeOperation(deps.operations, id, (o) => ({
        ...o,
        params: { ...o.params, placement: marked.placement },
      }));
      await deps.onRoutingChange?.();
      const { cancelled } = await cancelQueued(dataOf(deps, marked));
      return `${cancelled} queued jobs cancelled`;
    });
    await step(WAIT, async () => {
      const data = dataOf(deps, { id: tenantId, placement: target().placement });
      const deadline = Date.parse(op.createdAt) + (deps.waitForRunningMs ?? 60_000);
      for (;;) {
        const round = await cancelQueued(data);
        if (round.settled) return 'no job of the tenant is queued or running';
        if (Date.now() > deadline) return 'jobs still running after the wait are exported as they are';
        await pause(500, signal);
      }
    });
    await step(EXPORT, async () => {
      const tenant = await ownTenant(deps, op);
      if (!tenant) throw new OffboardFailed('tenant_gone', 'The tenant disappeared before its export.');
      // Its last usage is in the ledger before its job records go (the ledger outlives the tenant).
      await meterStoreBeforeRemoval(deps.usage, dataOf(deps, tenant).jobs);
      // Its month is billed on its plan after its record goes.
      await rememberFormerTenant(deps.billing, tenant);
      const exported = await exportTenant(tenant, dataOf(deps, tenant));
      // Written whole before the operation points at it (a put is atomic), so a recorded export is complete.
      await deps.stores.objects({ kind: 'shared' }).put(exportKey(op), exported.zip, 'application/zip');
      op = await changeOperation(deps.operations, id, (o) => ({
        ...o,
        params: {
          ...o.params,
          export: exportKey(op),
          exportBytes: String(exported.zip.byteLength),
          exportJobs: String(exported.jobs.length),
          exportObjects: String(exported.objects),
        },
      }));
      return `${exported.jobs.length} jobs and ${exported.objects} objects, ${exported.zip.byteLength} bytes`;
    });
    jobIds = await exportedJobIds(deps, op);
    await step(QUEUES, async () => {
      // Jobs not in the export (none should be) still have their records here: their ids count too.
      const data = dataOf(deps, { id: tenantId, placement: target().placement });
      jobIds = [...new Set([...jobIds, ...(await allJobs(data)).map((j) => j.id)])];
      return eraseQueueTraces(deps, target());
    });
    await step(RECORDS, () => eraseJobRecords(deps, target()));
    await step(ARTIFACTS, () => eraseArtifacts(deps, target()));
    await step(DEDICATED, () =>
      eraseDedicated(deps, target(), {
        signal,
        report: async (detail) => {
          op = await setStep(deps.operations, id, DEDICATED, 'running', detail);
        },
      }),
    );
    await step(OPERATIONS, () => eraseOtherOperations(deps, target()));
    await step(SCAN, async () => {
      const removed: string[] = [];
      for (let round = 1; ; round++) {
        const remains = await findRemains(deps, target());
        if (remains.length === 0) break;
        if (round > SCAN_ROUNDS)
          throw new Error(`still found after ${SCAN_ROUNDS} rounds: ${remains.join('; ')}`);
        removed.push(...remains);
        await eraseRemains(deps, target());
      }
      const scan = { checkedAt: new Date().toISOString(), remains: [], removedOnCheck: removed };
      op = await changeOperation(deps.operations, id, (o) => ({
        ...o,
        params: { ...o.params, scan: JSON.stringify(scan) },
      }));
      return removed.length === 0
        ? 'nothing of the tenant remains'
        : `nothing of the tenant remains (removed on the check: ${removed.join('; ')})`;
    });
    await step(RECORD, async () => {
      if (await ownTenant(deps, op)) await deps.directory.delete(tenantId);
      await deps.onRoutingChange?.();
      if (await ownTenant(deps, op)) throw new Error('The tenant record is still there.');
      await deps.eraser?.eraseRecordTraces?.(tenantId);
      return 'the tenant record is gone';
    });
  } catch (error) {
    if (!(error instanceof OffboardFailed)) throw error;
    await finishOperation(deps.operations, id, 'failed', { code: error.code, message: error.message });
    return;
  }
  await finishOperation(deps.operations, id, 'succeeded');
  deps.log?.('info', 'offboarding finished', { operationId: id, tenantId });
}

/** The tenant this offboarding is for, if its record is still there (a new tenant under the same id is not it). */
async function ownTenant(deps: OffboardDeps, op: Operation): Promise<Tenant | undefined> {
  const tenant = await deps.directory.get(op.tenantId);
  if (!tenant) return undefined;
  const incarnation = incarnationOf(tenant);
  return op.params.incarnation === undefined || op.params.incarnation === incarnation ? tenant : undefined;
}

/** The job ids in the export (its `jobs/{id}.json` names), read without inflating anything. */
async function exportedJobIds(deps: OffboardDeps, op: Operation): Promise<string[]> {
  const stored = op.params.export
    ? await deps.stores.objects({ kind: 'shared' }).get(op.params.export)
    : undefined;
  if (!stored) return [];
  const ids: string[] = [];
  unzipSync(stored.body, {
    filter: (file) => {
      const match = /^jobs\/([^/]+)\.json$/.exec(file.name);
      if (match) ids.push(match[1]!);
      return false;
    },
  });
  return ids;
}

/** Offboards a tenant to the end in this process (the CLI without a server) and answers its export. */
export async function offboardNow(
  deps: OffboardDeps,
  rawId: string,
): Promise<{ operation: Operation; zip: Uint8Array }> {
  const started = await newOffboardOperation(deps, rawId);
  await driveOffboard(deps, started, new AbortController().signal);
  const operation = await deps.operations.get(started.id);
  if (operation?.status !== 'succeeded')
    throw new ConflictError(
      `The offboarding failed: ${operation?.error?.message ?? 'no reason given'}`,
      'offboard_failed',
    );
  const stored = await deps.stores
    .objects({ kind: 'shared' })
    .get(operation.params.export ?? exportKey(operation));
  if (!stored) throw new NotFoundError(`The export of ${operation.tenantId}`);
  return { operation, zip: stored.body };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StoppedError('The offboarding paused; it resumes.'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StoppedError('The offboarding paused; it resumes.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
