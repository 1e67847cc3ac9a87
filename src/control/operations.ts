import { randomUUID } from 'node:crypto';
import type { BackoffPolicy } from '../core/backoff.ts';
import type { TenantId } from '../core/ids.ts';
import type { Operation, OperationStep, OperationStore, StepStatus } from '../ports/operation-store.ts';
import { retryOnConflict } from './conflicts.ts';

/** A new running operation with its steps pending. */
export function newOperation(
  kind: Operation['kind'],
  tenantId: TenantId,
  steps: string[],
  params: Record<string, string>,
): Operation {
  const now = new Date().toISOString();
  return {
    id: `op_${randomUUID().replaceAll('-', '')}`,
    kind,
    tenantId,
    status: 'running',
    progress: 0,
    steps: steps.map((name) => ({ name, status: 'pending' })),
    params,
    createdAt: now,
    updatedAt: now,
    version: 1,
  };
}

/** Progress: finished steps, plus the part of the running step that reported a fraction. */
export function progressOf(steps: OperationStep[], runningFraction = 0): number {
  const done = steps.filter((s) => s.status === 'done').length;
  const running = steps.some((s) => s.status === 'running') ? Math.min(1, Math.max(0, runningFraction)) : 0;
  return Math.min(1, (done + running) / Math.max(1, steps.length));
}

/**
 * Writes an operation change with compare-and-set, re-reading on a lost race: each writer only changes
 * what it owns (one step, or the final status), so re-applying its change to the newer version is safe. A
 * change that finds nothing to do answers `change`'s argument as it is (`op` itself): no write.
 */
export async function changeOperation(
  store: OperationStore,
  id: string,
  change: (op: Operation) => Operation,
): Promise<Operation> {
  return retryOnConflict(async () => {
    const current = await store.get(id);
    if (!current) throw new Error(`Operation ${id} is gone.`);
    const next = change(current);
    return next === current ? current : store.update(next, current.version);
  }, 11);
}

export function setStep(
  store: OperationStore,
  id: string,
  index: number,
  status: StepStatus,
  detail?: string,
  fraction?: number,
): Promise<Operation> {
  return changeOperation(store, id, (op) => {
    // A step of an ended operation stays as it ended (a second driver's late step of a halted upgrade).
    if (op.status !== 'running') return op;
    const steps = op.steps.map((s, i) => {
      if (i !== index) return s;
      const { detail: _old, ...rest } = s;
      return {
        ...rest,
        status,
        ...(detail !== undefined ? { detail } : status === 'done' && s.detail ? { detail: s.detail } : {}),
      };
    });
    return { ...op, steps, progress: progressOf(steps, fraction) };
  });
}

/** The operation of `id`; throws when it is gone. */
export async function requireOperation(store: OperationStore, id: string): Promise<Operation> {
  const op = await store.get(id);
  if (!op) throw new Error(`Operation ${id} is gone.`);
  return op;
}

/** Adds `params` to an operation's params (compare-and-set, like every change of it). */
export function setOperationParams(
  store: OperationStore,
  id: string,
  params: Record<string, string>,
): Promise<Operation> {
  return changeOperation(store, id, (op) => ({ ...op, params: { ...op.params, ...params } }));
}

/**
 * Ends a running operation `succeeded` (progress 1) or `failed` (progress of its steps done), with `error` if
 * given: as it is, or made from the operation as it is when the ending is written (in the same
 * compare-and-set, so a cause recorded in its params until then, an operator's abort, is in it). An
 * operation ends once: one already ended is answered as it is, unchanged. Two processes may drive one
 * operation (an upgrade's control function and an API or server told to drive too): the one that ended it
 * second wrote its ending over the first's (`succeeded` over `rolled_back`).
 */
export function finishOperation(
  store: OperationStore,
  id: string,
  status: 'succeeded' | 'failed',
  error?: Operation['error'] | ((op: Operation) => Operation['error']),
): Promise<Operation> {
  return changeOperation(store, id, (op) => {
    if (op.status !== 'running') return op;
    const ending = typeof error === 'function' ? error(op) : error;
    return {
      ...op,
      status,
      progress: status === 'succeeded' ? 1 : progressOf(op.steps),
      ...(ending ? { error: ending } : {}),
    };
  });
}

/**
 * A number an operation recorded in `params[name]` (a count, ms, a factor), or `fallback` when it recorded
 * none. @throws SyntaxError naming the param when it holds no finite number of 0 or more (a record changed
 * outside Silopool): read as NaN, a wave's watch never ended (`left <= 0` is false for NaN, so the driver
 * polled every millisecond) and a `minJobs` of NaN judged every tenant observed. An upgrade's driver stops on
 * it as on any damaged record (`permanentRolloutFailure`).
 */
export function numberParam(op: Operation, name: string, fallback: number): number {
  const recorded = op.params[name];
  if (recorded === undefined) return fallback;
  const value = Number(recorded);
  if (recorded.trim() === '' || !Number.isFinite(value) || value < 0)
    throw new SyntaxError(`params.${name} is ${JSON.stringify(recorded)}, not a number of 0 or more`);
  return value;
}

/** The operation as the API shows it (the web console polls exactly this shape). */
export function operationView(op: Operation) {
  return {
    id: op.id,
    kind: op.kind,
    tenantId: op.tenantId,
    status: op.status,
    progress: op.progress,
    steps: op.steps,
    from: op.params.from,
    to: op.params.to,
    ...(op.kind === 'offboard' ? offboardView(op) : {}),
    ...(op.kind === 'rollout' ? rolloutView(op) : {}),
    ...(op.error ? { error: op.error } : {}),
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
  };
}

/**
 * An upgrade's release and waves (tenant ids, canary first), and the rule its waves are judged by (seconds and
 * jobs; absent on an upgrade recorded before it had one).
 */
function rolloutView(op: Operation) {
  // As recorded, not `numberParam`: the view of a damaged upgrade must still answer (a damaged number: null).
  const recorded = (name: string, per = 1) =>
    op.params[name] === undefined ? undefined : Number(op.params[name]) / per;
  const evidence = {
    observeSec: recorded('observeMs', 1000),
    minJobs: recorded('minJobs'),
    maxObserveSec: recorded('maxObserveMs', 1000),
  };
  return {
    release: op.params.release,
    waves: JSON.parse(op.params.waves ?? '[]') as string[][],
    ...Object.fromEntries(Object.entries(evidence).filter(([, v]) => v !== undefined)),
  };
}

/** An offboarding's export (once it is stored) and the result of its final check that nothing remains. */
function offboardView(op: Operation) {
  const { export: key, exportBytes, exportJobs, exportObjects, scan } = op.params;
  return {
    ...(key
      ? {
          export: {
            url: `/v1/admin/operations/${op.id}/export`,
            bytes: Number(exportBytes),
            // Absent on exports recorded before they were counted.
            ...(exportJobs ? { jobs: Number(exportJobs), objects: Number(exportObjects) } : {}),
          },
        }
      : {}),
    ...(scan
      ? { check: JSON.parse(scan) as { checkedAt: string; remains: string[]; removedOnCheck: string[] } }
      : {}),
  };
}

/** How a failing step of a long operation (a move, an offboarding) waits before it runs again. */
export const STEP_RETRY: BackoffPolicy = { baseMs: 250, maxMs: 10_000 };
