import { ConflictError } from '../core/errors.ts';
import type { TenantId } from '../core/ids.ts';
import type { Operation, OperationStore } from '../ports/operation-store.ts';
import { retryOnConflict } from './conflicts.ts';

/**
 * The record that names the one upgrade allowed to run (`params.holder`, `params.claimedAt`). Filed under an
 * id no operation is given (`op_` + hex) and a tenant no listing reads, and never `running`, so no runner
 * resumes it. Listing running upgrades and creating one when none was found let two starts at once (two
 * operators, a retried request; on DynamoDB the index read lags a start besides) both create one: two
 * upgrades drove different releases to the same tenants.
 */
export const ROLLOUT_SLOT_ID = 'rollout-slot';
const SLOT_TENANT = '_slots' as TenantId;

/**
 * How long a claim may name an upgrade not yet created (its start writes the claim, then the operation)
 * before another start may take the slot: a start that stopped in between holds it no longer than this.
 */
export const CLAIM_CREATE_MS = 60_000;

/**
 * Claims the slot for the upgrade `id`, about to be created, by compare-and-set on the slot record.
 * Answers nothing when claimed.
 * @throws ConflictError `rollout_in_progress` naming the upgrade that holds it (running, or claimed less
 * than `CLAIM_CREATE_MS` ago and not created yet)
 */
export async function claimRolloutSlot(
  operations: OperationStore,
  id: string,
  now: () => number = Date.now,
): Promise<void> {
  await retryOnConflict(async () => {
    const slot = await operations.get(ROLLOUT_SLOT_ID);
    const holder = slot?.params.holder;
    if (holder !== undefined && holder !== id) {
      const running = await operations.get(holder);
      const claimedAt = Date.parse(slot?.params.claimedAt ?? '');
      if (running?.status === 'running') {
        throw new ConflictError(
          `The upgrade to ${running.params.release} is running (${running.id}); wait for it to end.`,
          'rollout_in_progress',
        );
      }
      if (!running && now() - claimedAt < CLAIM_CREATE_MS) {
        throw new ConflictError(
          `An upgrade (${holder}) is starting; wait for it to end.`,
          'rollout_in_progress',
        );
      }
    }
    const claimedAt = new Date(now()).toISOString();
    if (!slot) return operations.create(slotRecord(id, claimedAt));
    await operations.update({ ...slot, params: { holder: id, claimedAt } }, slot.version);
  });
}

function slotRecord(holder: string, claimedAt: string): Operation {
  return {
    id: ROLLOUT_SLOT_ID,
    kind: 'rollout',
    tenantId: SLOT_TENANT,
    status: 'succeeded',
    progress: 1,
    steps: [],
    params: { holder, claimedAt },
    createdAt: claimedAt,
    updatedAt: claimedAt,
    version: 1,
  };
}
