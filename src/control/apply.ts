import { parse } from 'yaml';
import { ValidationError } from '../core/errors.ts';
import { isTenantId } from '../core/ids.ts';
import {
  DEFAULT_PLAN,
  emptyConfig,
  type Placement,
  type Plan,
  type TenantConfig,
  type TenantStatus,
} from '../core/tenant.ts';
import { tenantConfigProblems } from './tenant-config.ts';

/** One tenant as declared in `tenants.yaml`. `offboard: true` removes it (after an export). */
export interface DeclaredTenant {
  id: string;
  name?: string;
  placement?: Placement;
  plan?: Plan;
  status?: Extract<TenantStatus, 'active' | 'suspended'>;
  config?: Partial<TenantConfig>;
  offboard?: boolean;
}

/** The part of a tenant the file can declare, as the platform reports it now. */
export interface CurrentTenant {
  id: string;
  name: string;
  placement: Placement;
  plan: Plan;
  status: TenantStatus;
  config: Partial<TenantConfig>;
  move?: { to: Placement } | undefined;
}

export type PlanItem =
  | { action: 'create'; id: string; tenant: DeclaredTenant }
  | {
      action: 'update';
      id: string;
      changes: string[];
      patch: Pick<DeclaredTenant, 'name' | 'plan' | 'status' | 'config'>;
    }
  | { action: 'move'; id: string; from: Placement; to: Placement }
  | { action: 'offboard'; id: string };

/** Reads and checks a tenants file: `tenants:` a list of tenants (YAML or JSON). */
export function parseTenantsFile(text: string): DeclaredTenant[] {
  let doc: { tenants?: unknown } | null;
  try {
    // Unique keys and a small alias budget: a duplicate key is a mistake to name, an alias bomb an attack.
    doc = parse(text, { uniqueKeys: true, maxAliasCount: 100 }) as { tenants?: unknown } | null;
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ValidationError([
      {
        path: '/',
        message: `is not valid YAML${line ? ` (line ${line})` : ''}: ${(error as Error).message.split('\n')[0]}`,
        rule: 'yaml',
      },
    ]);
  }
  const list = doc?.tenants;
  if (!Array.isArray(list))
    throw new ValidationError([{ path: '/tenants', message: 'must be a list of tenants' }]);
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();
  const KEYS = new Set(['id', 'name', 'placement', 'plan', 'status', 'config', 'offboard']);
  for (const [i, raw] of (list as unknown[]).entries()) {
    const at = `/tenants/${i}`;
    if (typeof raw !== 'object' || raw === null) {
      problems.push({ path: at, message: 'must be an object' });
      continue;
    }
    const t = raw as Record<string, unknown>;
    if (!isTenantId(t.id))
      problems.push({
        path: `${at}/id`,
        message: 'must be a tenant id (lowercase letters, digits, hyphens)',
      });
    else if (seen.has(t.id)) problems.push({ path: `${at}/id`, message: `${t.id} is declared twice` });
    else seen.add(t.id);
    for (const key of Object.keys(t))
      if (!KEYS.has(key)) problems.push({ path: `${at}/${key}`, message: 'is not a tenant setting' });
    if (t.placement !== undefined && t.placement !== 'shared' && t.placement !== 'dedicated')
      problems.push({ path: `${at}/placement`, message: 'must be shared or dedicated' });
    if (t.plan !== undefined && !['free', 'standard', 'enterprise'].includes(String(t.plan)))
      problems.push({ path: `${at}/plan`, message: 'must be free, standard or enterprise' });
    if (t.status !== undefined && t.status !== 'active' && t.status !== 'suspended')
      problems.push({ path: `${at}/status`, message: 'must be active or suspended' });
    if (
      t.config !== undefined &&
      (typeof t.config !== 'object' || t.config === null || Array.isArray(t.config))
    )
      problems.push({ path: `${at}/config`, message: 'must be an object' });
    // The settings schema the platform applies, here too: a bad file fails its plan, before any change.
    else if (t.config !== undefined)
      problems.push(...tenantConfigProblems({ ...emptyConfig(), ...t.config }, `${at}/config`));
    if (t.offboard !== undefined && typeof t.offboard !== 'boolean')
      problems.push({ path: `${at}/offboard`, message: 'must be true or false' });
  }
  if (problems.length > 0) throw new ValidationError(problems);
  return list as DeclaredTenant[];
}

/**
 * What applying the file changes, in order: creates, updates, moves, offboardings. Pure: the same file and
 * the same platform state give the same plan, and applying it makes the next plan empty.
 */
export function planApply(desired: DeclaredTenant[], current: CurrentTenant[]): PlanItem[] {
  const byId = new Map(current.map((t) => [t.id, t]));
  const creates: PlanItem[] = [];
  const updates: PlanItem[] = [];
  const moves: PlanItem[] = [];
  const offboards: PlanItem[] = [];
  for (const want of desired) {
    const have = byId.get(want.id);
    if (want.offboard) {
      if (have) offboards.push({ action: 'offboard', id: want.id });
      continue;
    }
    if (!have) {
      creates.push({ action: 'create', id: want.id, tenant: want });
      continue;
    }
    const changes: string[] = [];
    const patch: Pick<DeclaredTenant, 'name' | 'plan' | 'status' | 'config'> = {};
    if (want.name !== undefined && want.name !== have.name) {
      changes.push(`name ${JSON.stringify(have.name)} → ${JSON.stringify(want.name)}`);
      patch.name = want.name;
    }
    if (want.plan !== undefined && want.plan !== have.plan) {
      changes.push(`plan ${have.plan} → ${want.plan}`);
      patch.plan = want.plan;
    }
    if (want.status !== undefined && want.status !== have.status) {
      changes.push(`status ${have.status} → ${want.status}`);
      patch.status = want.status;
    }
    for (const [section, value] of Object.entries(want.config ?? {})) {
      const now = (have.config as Record<string, unknown>)[section];
      if (canonical(value) !== canonical(now ?? {})) {
        changes.push(`config.${section}`);
        patch.config = { ...patch.config, [section]: value };
      }
    }
    if (changes.length > 0) updates.push({ action: 'update', id: want.id, changes, patch });
    const placedTo = have.move?.to ?? have.placement;
    if (want.placement !== undefined && want.placement !== placedTo) {
      moves.push({ action: 'move', id: want.id, from: have.placement, to: want.placement });
    }
  }
  return [...creates, ...updates, ...moves, ...offboards];
}

export function describePlanItem(item: PlanItem): string {
  switch (item.action) {
    case 'create':
      return `+ create   ${item.id} (${item.tenant.placement ?? 'shared'}, ${item.tenant.plan ?? DEFAULT_PLAN})`;
    case 'update':
      return `~ update   ${item.id}: ${item.changes.join(', ')}`;
    case 'move':
      return `> move     ${item.id}: ${item.from} → ${item.to}`;
    case 'offboard':
      return `- offboard ${item.id} (exported first)`;
  }
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
