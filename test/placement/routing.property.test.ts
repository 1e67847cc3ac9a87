import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CurrentTenant, type DeclaredTenant, planApply } from '../../src/control/apply.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { laneFor, laneStoreOf, MOVE_PHASES, recordRoutingFor, storeFor } from '../../src/core/placement.ts';
import type { Placement } from '../../src/core/tenant.ts';

const placement = fc.constantFrom<Placement>('shared', 'dedicated');
const tenantId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{1,20}$/).map((s) => s as TenantId);
const tenant = fc
  .record({ id: tenantId, placement, moving: fc.boolean(), phase: fc.constantFrom(...MOVE_PHASES) })
  .map(({ id, placement, moving, phase }) => ({
    id,
    placement,
    ...(moving
      ? {
          move: {
            operationId: 'op',
            from: placement,
            to: (placement === 'shared' ? 'dedicated' : 'shared') as Placement,
            phase,
          },
        }
      : {}),
  }));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

describe('placement routing (pure)', () => {
  it("a new job's record is created in the store of the lane its message is sent to", () => {
    fc.assert(
      fc.property(tenant, fc.constantFrom('finance', 'funds'), (t, model) => {
        expect(recordRoutingFor(t).create).toEqual(laneFor(t, model).store);
      }),
    );
  });

  it("a function finds a job's record in the store of the lane its message came from", () => {
    fc.assert(
      fc.property(tenant, tenantId, fc.constantFrom('finance', 'funds'), (t, other, model) => {
        const lane = laneFor(t, model);
        expect(laneStoreOf(lane.queue, t.id)).toEqual(recordRoutingFor(t).create);
        // Another tenant's dedicated lane is never taken for this tenant's.
        if (other !== t.id)
          expect(
            laneStoreOf(laneFor({ id: other, placement: 'dedicated' }, model).queue, t.id),
          ).toBeUndefined();
      }),
    );
    expect(laneStoreOf('system_webhooks', 'a1' as TenantId)).toBeUndefined();
  });

  it('reads find every record: the create store and the home store are both looked up, nothing else', () => {
    fc.assert(
      fc.property(tenant, (t) => {
        const r = recordRoutingFor(t);
        expect(r.lookup.some((s) => same(s, r.create))).toBe(true);
        expect(r.lookup.some((s) => same(s, storeFor(t)))).toBe(true);
        expect(new Set(r.lookup.map((s) => JSON.stringify(s))).size).toBe(r.lookup.length);
        expect(r.lookup.length).toBeLessThanOrEqual(2);
        // Keys are claimed in every store reads use, the home (source) store first.
        expect(r.keys[0]).toEqual(storeFor(t));
        expect(new Set(r.keys.map((s) => JSON.stringify(s)))).toEqual(
          new Set(r.lookup.map((s) => JSON.stringify(s))),
        );
      }),
    );
  });

  it('outside a move, and while provisioning, everything stays home; past it, new jobs go to the target', () => {
    fc.assert(
      fc.property(tenant, fc.constantFrom('finance', 'funds'), (t, model) => {
        const routed = t.move !== undefined && t.move.phase !== 'provisioning';
        expect(laneFor(t, model).placement).toBe(routed ? t.move!.to : t.placement);
        expect(recordRoutingFor(t).lookup.length).toBe(routed ? 2 : 1);
        // Reads of the home store only switch with placement itself (the switch step).
        expect(storeFor(t).kind).toBe(t.placement);
      }),
    );
  });

  it('a tenant id never routes into another tenant’s dedicated store or lane', () => {
    fc.assert(
      fc.property(tenant, (t) => {
        for (const ref of recordRoutingFor(t).lookup)
          if (ref.kind === 'dedicated') expect(ref.tenantId).toBe(t.id);
        const lane = laneFor(t, 'finance');
        if (lane.placement === 'dedicated') expect(lane.queue).toBe(`tenant_${t.id}_finance`);
      }),
    );
  });
});

describe('apply plan (pure)', () => {
  const declared = fc.record({
    id: tenantId,
    name: fc.option(fc.constantFrom('A', 'B'), { nil: undefined }),
    placement: fc.option(placement, { nil: undefined }),
    plan: fc.option(fc.constantFrom('free' as const, 'standard' as const), { nil: undefined }),
    offboard: fc.option(fc.boolean(), { nil: undefined }),
  });
  const current = fc.record({
    id: tenantId,
    name: fc.constantFrom('A', 'B'),
    placement,
    plan: fc.constantFrom('free' as const, 'standard' as const),
    status: fc.constant('active' as const),
    config: fc.constant({}),
  });

  it('applying the plan makes the next plan empty', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(declared, { selector: (t) => t.id }),
        fc.uniqueArray(current, { selector: (t) => t.id }),
        (want, have) => {
          const plan = planApply(want as DeclaredTenant[], have as CurrentTenant[]);
          // Simulate the plan on the current state.
          const after = new Map<string, CurrentTenant>(have.map((t) => [t.id, { ...t }]));
          for (const item of plan) {
            if (item.action === 'offboard') after.delete(item.id);
            else if (item.action === 'create')
              after.set(item.id, {
                id: item.id,
                name: item.tenant.name ?? item.id,
                placement: item.tenant.placement ?? 'shared',
                plan: item.tenant.plan ?? 'standard',
                status: 'active',
                config: {},
              });
            else if (item.action === 'update') Object.assign(after.get(item.id)!, item.patch);
            else after.get(item.id)!.placement = item.to;
          }
          expect(planApply(want as DeclaredTenant[], [...after.values()])).toEqual([]);
          // Order: creates, updates, moves, offboards.
          const order = plan.map((p) => ['create', 'update', 'move', 'offboard'].indexOf(p.action));
          expect([...order].sort((x, y) => x - y)).toEqual(order);
        },
      ),
    );
  });
});
