import { randomBytes } from 'node:crypto';
import { newApiKey } from '../core/api-keys.ts';
import { ConflictError, NotFoundError, ValidationError } from '../core/errors.ts';
import { parseTenantId, type TenantId } from '../core/ids.ts';
import { checkRegion, REGION_PATTERN, type RegionPolicy } from '../core/region.ts';
import {
  DEFAULT_PLAN,
  emptyConfig,
  PLANS,
  type Placement,
  type Plan,
  type Tenant,
  type TenantConfig,
} from '../core/tenant.ts';
import type { BillingItems } from '../ports/billing-items.ts';
import type { OnboardDedicated, OnboardMoving } from '../ports/control-hooks.ts';
import type { MessageQueue } from '../ports/message-queue.ts';
import type { Operation } from '../ports/operation-store.ts';
import type { StoreProvider } from '../ports/stores.ts';
import type { TenantDirectory } from '../ports/tenant-directory.ts';
import type { InfrastructureOptions, TenantInfrastructure } from '../ports/tenant-infrastructure.ts';
import type { UsageLedger } from '../ports/usage-ledger.ts';
import { retryOnConflict } from './conflicts.ts';
import { settleCreation } from './creation-fence.ts';
import { dedicatedPlacementProblem, laneInfrastructure, laneQueues } from './lanes.ts';
import { recordTierChange } from './plan-catalogue.ts';
import { checkConfig } from './tenant-config.ts';

export interface ControlDeps {
  directory: TenantDirectory;
  queue: MessageQueue;
  stores: StoreProvider;
  /** Settings of the queues the control plane creates (a dedicated tenant's lanes). */
  queueSettings?: { visibilityTimeoutSec?: number; maxReceiveCount?: number };
  /** A dedicated tenant's own resources; by default queues and a store made here (`laneInfrastructure`). */
  infrastructure?: TenantInfrastructure;
  /** The usage ledger: a store about to be removed has its finished jobs metered first (control/meter.ts). */
  usage?: UsageLedger;
  /** Billing's items: an offboarded tenant's plan is remembered there (control/former-tenants.ts). */
  billing?: BillingItems;
  /** Where tenants may be placed: onboarding with a contract region is checked against it. */
  regions?: RegionPolicy;
}

export function infrastructureOf(deps: ControlDeps): TenantInfrastructure {
  return deps.infrastructure ?? laneInfrastructure(deps);
}

export interface CreateTenantInput {
  id: string;
  name: string;
  placement?: Placement;
  plan?: Plan;
  config?: Partial<TenantConfig>;
  /** The region its contract names (data residency): only a dedicated tenant may have another than the platform's. */
  region?: string;
}

const PLACEMENTS: Placement[] = ['shared', 'dedicated'];

/** Onboards a tenant: its record, its first API key (returned once, stored hashed) and, if dedicated, its lanes. */
export async function createTenant(
  deps: ControlDeps,
  input: CreateTenantInput,
  /** The placement it is onboarded for: `dedicated` when a promotion follows at once (`onboardTenant`). */
  intended: Placement = input.placement ?? 'shared',
  /** That promotion, recorded on the tenant in the write that creates it (`MoveRunner.onboard`). */
  move?: Tenant['move'],
  /** Records a dedicated onboarding's intent before its lanes are made (control/onboarding.ts). */
  record?: OnboardDedicated,
): Promise<{ tenant: Tenant; apiKey: string }> {
  const id = parseTenantId(input.id);
  const placement = input.placement ?? 'shared';
  const plan = input.plan ?? DEFAULT_PLAN;
  checkChoices(placement, plan, input.name);
  checkOnboardingRegion(deps, input.region, intended);
  if (input.config !== undefined && !isPlainObject(input.config))
    throw new ValidationError([{ path: '/config', message: 'must be an object', rule: 'type' }]);
  const config = { ...emptyConfig(), ...input.config };
  checkConfig(config);
  const tooLong = placement === 'dedicated' ? dedicatedPlacementProblem(id) : undefined;
  if (tooLong) throw new ValidationError([{ path: '/placement', message: tooLong, rule: 'length' }]);
  const now = new Date().toISOString();
  const key = newApiKey(id);
  const tenant: Tenant = {
    id,
    name: input.name.trim(),
    status: 'active',
    placement,
    plan,
    config,
    apiKeys: [key.record],
    ...(input.region !== undefined ? { region: input.region } : {}),
    ...(move ? { move } : {}),
    createdAt: now,
    incarnation: randomBytes(12).toString('base64url'),
    updatedAt: now,
    version: 1,
  };
  // Refused before anything is made: a dedicated onboarding of a taken id made that id's dedicated queues and
  // store before the directory refused it (a shared tenant got lanes nobody used; one being offboarded got
  // them again after its offboarding removed them). The create below still refuses a tenant made meanwhile.
  const taken = await deps.directory.get(id);
  if (taken?.status === 'offboarding')
    throw new ConflictError(
      `Tenant ${id} is being offboarded: onboard the id again once its offboarding has finished.`,
      'tenant_exists',
    );
  if (taken) throw new ConflictError(`Tenant ${id} already exists.`, 'tenant_exists');
  const provisionAndCreate = async () => {
    await provisionPlacement(deps, tenant, placement);
    await deps.directory.create(tenant);
  };
  // A dedicated tenant's lanes are made before its record: a crash between the two left them with no
  // tenant and nothing to find them. Recorded first, a start removes them (`driveOnboard`).
  if (placement === 'dedicated' && record) await record(tenant, provisionAndCreate);
  else await provisionAndCreate();
  // A close of its month that listed tenants before the record was written bills it from the next month.
  return { tenant: await settleCreation(deps, tenant), apiKey: key.key };
}

/**
 * Onboards a tenant as the admin API does. Where a dedicated tenant's own resources take minutes (a
 * stack on AWS) and moves can start, it is created shared and its promotion started, so it can submit at
 * once; the answer then carries that operation.
 */
export async function onboardTenant(
  deps: ControlDeps,
  input: CreateTenantInput,
  hooks: {
    onboardMoving?: OnboardMoving;
    onboardDedicated?: OnboardDedicated;
    tenantChanged?(tenantId: TenantId): Promise<void>;
  } = {},
): Promise<{ tenant: Tenant; apiKey: string; operation?: Operation }> {
  const slow =
    input.placement === 'dedicated' && infrastructureOf(deps).speed === 'slow' && hooks.onboardMoving;
  if (!slow) {
    const created = await createTenant(deps, input, undefined, undefined, hooks.onboardDedicated);
    await hooks.tenantChanged?.(created.tenant.id);
    return created;
  }
  const tooLong = dedicatedPlacementProblem(parseTenantId(input.id));
  if (tooLong) throw new ValidationError([{ path: '/placement', message: tooLong, rule: 'length' }]);
  // A contract-region tenant is shared only until its promotion switches sends; admission refuses its jobs
  // until then (control/hooks.ts), so none is ever kept outside its region. The promotion is recorded first
  // and the tenant is born with it: a crash between creating the tenant and starting its move left a
  // tenant that was meant dedicated (with a contract region: every submit refused) shared for good, as
  // nothing resumes a move never recorded. Now a restart resumes it like any running operation.
  const { created, operation } = await hooks.onboardMoving!(parseTenantId(input.id), (move) =>
    createTenant(deps, { ...input, placement: 'shared' }, 'dedicated', move),
  );
  await hooks.tenantChanged?.(created.tenant.id);
  const tenant = (await deps.directory.get(created.tenant.id)) ?? created.tenant;
  return { tenant, apiKey: created.apiKey, operation };
}

/** A contract region is an AWS Region name the placement can honour (`checkRegion`: 409 or 422 otherwise). */
function checkOnboardingRegion(deps: ControlDeps, region: string | undefined, placement: Placement): void {
  if (region === undefined) return;
  if (!REGION_PATTERN.test(region))
    throw new ValidationError([
      { path: '/region', message: 'must be an AWS Region name like eu-central-1', rule: 'pattern' },
    ]);
  if (deps.regions) checkRegion(region, placement, deps.regions);
}

/** Lanes (queues and stores) of a tenant's placement; idempotent so a retried onboarding resumes. */
export async function provisionPlacement(
  deps: ControlDeps,
  tenant: Tenant,
  placement: Placement,
  options?: InfrastructureOptions,
): Promise<string> {
  // Shared lanes belong to the platform (created at start with its settings); only dedicated ones are the tenant's.
  if (placement !== 'dedicated') return `queues ${laneQueues(tenant.id, placement).join(', ')}`;
  return infrastructureOf(deps).deploy(tenant, options);
}

export interface TenantPatch {
  name?: string;
  status?: Tenant['status'];
  plan?: Plan;
  config?: Partial<TenantConfig>;
}

/**
 * Applies a patch with compare-and-set, re-reading and retrying when another writer got there first. A new
 * tier (`plan`) is recorded in billing as a plan change from today (`recordTierChange`; 409
 * `plan_currency_mixed` when its plan bills in another currency this month), unless the caller is a plan
 * change that recorded it (`planRecorded`).
 */
export async function updateTenant(
  deps: ControlDeps,
  id: TenantId,
  patch: TenantPatch,
  options: { planRecorded?: boolean } = {},
): Promise<Tenant> {
  return retryOnConflict(async () => {
    const current = await deps.directory.get(id);
    if (!current) throw new NotFoundError(`Tenant "${id}"`);
    // Setting it `active` again would let it submit while its offboarding removes its data.
    if (current.status === 'offboarding')
      throw new ConflictError(`Tenant ${id} is being offboarded.`, 'offboarding');
    checkChoices(current.placement, patch.plan ?? current.plan, patch.name ?? current.name);
    if (patch.config !== undefined && !isPlainObject(patch.config))
      throw new ValidationError([{ path: '/config', message: 'must be an object', rule: 'type' }]);
    const config = { ...current.config, ...(patch.config ?? {}) };
    // The whole result is checked, so sections that must agree (sheet names) are checked together; a patch
    // that leaves the settings alone is not refused for what was stored before.
    if (patch.config !== undefined) checkConfig(config);
    if (patch.status && !['active', 'suspended'].includes(patch.status)) {
      throw new ValidationError([{ path: '/status', message: 'must be active or suspended', rule: 'enum' }]);
    }
    if (deps.billing && !options.planRecorded && patch.plan !== undefined && patch.plan !== current.plan)
      await recordTierChange(deps.billing, current, patch.plan);
    const next: Tenant = {
      ...current,
      ...(patch.name !== undefined ? { name: patch.name.trim() } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      ...(patch.plan !== undefined ? { plan: patch.plan } : {}),
      config,
      version: current.version + 1,
      updatedAt: new Date().toISOString(),
    };
    return deps.directory.update(next, current.version);
  }, 6);
}

export async function issueApiKey(
  deps: ControlDeps,
  id: TenantId,
): Promise<{ tenant: Tenant; apiKey: string }> {
  const current = await deps.directory.get(id);
  if (!current) throw new NotFoundError(`Tenant "${id}"`);
  const key = newApiKey(id);
  const next = { ...current, apiKeys: [...current.apiKeys, key.record], version: current.version + 1 };
  return { tenant: await deps.directory.update(next, current.version), apiKey: key.key };
}

function isPlainObject(value: unknown): value is object {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkChoices(placement: Placement, plan: Plan, name: string): void {
  const problems = [];
  if (!PLACEMENTS.includes(placement))
    problems.push({ path: '/placement', message: 'must be shared or dedicated', rule: 'enum' });
  if (!PLANS.includes(plan))
    problems.push({ path: '/plan', message: 'must be free, standard or enterprise', rule: 'enum' });
  if (typeof name !== 'string' || name.trim().length === 0 || name.length > 200) {
    problems.push({ path: '/name', message: 'must be 1-200 characters', rule: 'length' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
}

/** Every tenant of the directory, page by page. */
export async function allTenants(deps: Pick<ControlDeps, 'directory'>): Promise<Tenant[]> {
  const tenants: Tenant[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.directory.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    tenants.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tenants;
}
