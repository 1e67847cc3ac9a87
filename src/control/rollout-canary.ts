import type { TenantId } from '../core/ids.ts';
import { planWaves } from '../core/release.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { changeOperation, numberParam, progressOf } from './operations.ts';
import { tenantList, unobservedTenants } from './rollout-evidence.ts';
import { incarnationsOf, inUpgrade } from './rollout-waves.ts';
import type { ControlDeps } from './tenants.ts';

/** The step of wave `index` (from 0) of `size` tenants: `wave 1 (canary): 1 tenant`. */
export function waveStepName(index: number, size: number, canary: boolean): string {
  return `wave ${index + 1}${canary ? ' (canary)' : ''}: ${size} tenant${size === 1 ? '' : 's'}`;
}

/** The upgrade's waves (`params.waves`): tenant ids, the canary's wave first. */
export function wavesOf(op: Operation): TenantId[][] {
  return JSON.parse(op.params.waves ?? '[]') as TenantId[][];
}

/**
 * Whether a wave before `index` is done with a tenant of the upgrade watched on the release to its end and
 * observed running it (`wave{j}.watched`, which counts no tenant recorded `unobserved`: no job ran on the
 * release; an upgrade recorded before it counts the tenants of the wave's baseline).
 */
export function canaryWatched(op: Operation, index: number): boolean {
  for (let j = 0; j < index; j++) {
    if (op.steps[j]?.status !== 'done') continue;
    const recorded = op.params[`wave${j}.watched`];
    const watched =
      recorded !== undefined
        ? numberParam(op, `wave${j}.watched`, 0)
        : Object.keys(JSON.parse(op.params[`wave${j}.baseline`] ?? '{}') as object).length;
    if (watched > 0) return true;
  }
  return false;
}

/**
 * Before wave `index` begins, while no canary has been watched (`canaryWatched`): a wave that is not one
 * tenant still in the upgrade (`inUpgrade`) is no canary. Its tenants that left (demoted, offboarded, the id
 * another customer's) would leave it empty, read "healthy", and the next, larger wave would go out with no
 * tenant watched before it; a canary that left while watched leaves the same gap. The tenants still in the
 * upgrade, from this wave on, are then planned again (`planWaves`, with the upgrade's `growth` and `maxWave`):
 * the first becomes the canary, alone in wave `index`, and its step says whom it replaces (`wave{i}.canary`).
 * Written in one compare-and-set with the waves' steps, unless the wave has begun meanwhile. Answers the
 * operation as it is then.
 */
export async function ensureCanary(
  deps: Pick<ControlDeps, 'directory'> & { operations: OperationStore },
  op: Operation,
  index: number,
): Promise<Operation> {
  if (op.params[`wave${index}.start`] !== undefined || canaryWatched(op, index)) return op;
  const waves = wavesOf(op);
  const wave = waves[index] ?? [];
  const stays = (tenantId: TenantId) => inUpgrade(deps, tenantId, incarnationsOf(op));
  if (wave.length === 1 && (await stays(wave[0]!))) return op;
  const staying: TenantId[] = [];
  for (const tenantId of waves.slice(index).flat()) if (await stays(tenantId)) staying.push(tenantId);
  const left = wave.filter((tenantId) => !staying.includes(tenantId));
  const planned = planWaves(staying, {
    ...(op.params.growth !== undefined ? { growth: numberParam(op, 'growth', 2) } : {}),
    ...(op.params.maxWave !== undefined ? { maxWave: numberParam(op, 'maxWave', 1) } : {}),
  });
  const unobserved = unobservedTenants(op);
  const why =
    left.length > 0
      ? `${tenantList(left)} left the upgrade before ${left.length === 1 ? 'its' : 'their'} wave (demoted, offboarded)`
      : unobserved.length > 0
        ? `no tenant of the waves before ran a job on the release while watched (unobserved: ${tenantList(unobserved)})`
        : 'no tenant of the waves before was watched on the release to the end (the canary left the upgrade)';
  const note = staying[0] !== undefined ? `${staying[0]} is the canary: ${why}` : undefined;
  return changeOperation(deps.operations, op.id, (o) => {
    if (o.status !== 'running' || o.params[`wave${index}.start`] !== undefined) return o;
    const current = o.steps[o.steps.length - 1];
    const steps = [
      ...o.steps.slice(0, index),
      ...planned.map((w, k) => ({
        name: waveStepName(index + k, w.length, k === 0),
        status: 'pending' as const,
        ...(k === 0 && note ? { detail: note } : {}),
      })),
      ...(current ? [current] : []),
    ];
    const params: Record<string, string> = {
      ...o.params,
      waves: JSON.stringify([...waves.slice(0, index), ...planned]),
    };
    if (note) params[`wave${index}.canary`] = note;
    return { ...o, steps, progress: progressOf(steps), params };
  });
}
