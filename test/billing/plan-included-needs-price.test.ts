import { describe, expect, it } from 'vitest';
import { checkPlans, parsePlansFile } from '../../src/control/plans.ts';
import type { TenantId } from '../../src/core/ids.ts';
import { DEFAULT_PLANS } from '../../src/core/plans.ts';
import { buildStatement, planSegments } from '../../src/core/statement.ts';
import type { UsageRecord } from '../../src/core/usage.ts';

// A statement bills a meter only where the plan prices its overage (`buildStatement` skips a meter without
// one): an included quantity without an overage price changed no bill. Enterprise included 744 dedicated
// lane hours (every hour of a 31-day month) and priced no lane-hour overage, so the allowance did nothing,
// while its $2,000 dedicated surcharge billed every one of those "included" hours all the same; Free included
// 1,000 jobs, 1,000 GB-s and 30 GB-months of storage with no price beyond them, so a Free tenant running a
// million jobs was billed the same $0 as one running ten. A catalogue now says what it bills: an included
// quantity needs an overage price (a `minor: 0` price says "free beyond it" out loud).
describe('a plan catalogue whose included quantities bill nothing', () => {
  it('refuses an included quantity without an overage price, naming the field and what to change', () => {
    const doc = {
      plans: [
        {
          id: 'ent',
          name: 'Ent',
          tier: 'enterprise',
          currency: 'USD',
          baseFee: 1_200_000,
          included: { jobs: 1000, dedicated_lane_hours: 744 },
          overage: { jobs: { minor: 1, per: 2 } },
          dedicatedSurcharge: 200_000,
        },
      ],
    };
    let thrown: unknown;
    try {
      checkPlans(doc);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ status: 400 });
    const problems = (thrown as { problems: { path: string; message: string }[] }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('/plans/0/included/dedicated_lane_hours');
    expect(problems[0]!.message).toContain('overage.dedicated_lane_hours');
    // A file is checked the same way (SILOPOOL_PLANS_FILE, PUT /v1/admin/billing/plans).
    expect(() => parsePlansFile(JSON.stringify(doc))).toThrow(/included\/dedicated_lane_hours/);
  });

  it('takes an included quantity with a price, a zero price included (free beyond it, said out loud)', () => {
    const plan = {
      id: 'free-ish',
      name: 'Free-ish',
      tier: 'free',
      currency: 'USD',
      baseFee: 0,
      included: { jobs: 1000 },
      overage: { jobs: { minor: 0, per: 1 } },
    };
    expect(checkPlans({ plans: [plan] }).plans[0]!.included).toEqual({ jobs: 1000 });
  });

  it('refuses a plan that prices dedicated lane hours twice: an overage price and a dedicated surcharge', () => {
    const doc = {
      plans: [
        {
          id: 'twice',
          name: 'Twice',
          tier: 'standard',
          currency: 'USD',
          baseFee: 50_000,
          overage: { dedicated_lane_hours: { minor: 100, per: 1 } },
          dedicatedSurcharge: 100_000,
        },
      ],
    };
    expect(() => checkPlans(doc)).toThrow(/dedicatedSurcharge/);
  });

  it('the default plans pass the check, and every quantity they include is billed beyond it', () => {
    const checked = checkPlans(DEFAULT_PLANS);
    for (const plan of checked.plans)
      for (const meter of Object.keys(plan.included))
        expect(plan.overage, `${plan.id} includes ${meter}`).toHaveProperty(meter);
  });

  it('Enterprise dedicated all of November bills its lane hours once, by the surcharge', () => {
    const enterprise = DEFAULT_PLANS.plans.find((p) => p.id === 'enterprise')!;
    const t = 'ent-lanes' as TenantId;
    const records: UsageRecord[] = [];
    for (let d = 1; d <= 30; d++)
      for (let h = 0; h < 24; h++) {
        const day = `2026-11-${String(d).padStart(2, '0')}`;
        const at = `${day}T${String(h).padStart(2, '0')}:00:00.000Z`;
        records.push({
          id: `lane/${t}/${at.slice(0, 13)}`,
          tenantId: t,
          meter: 'dedicated_lane_hours',
          model: '',
          quantity: 1,
          at,
          day,
        });
      }
    const st = buildStatement({
      tenantId: t,
      month: '2026-11',
      segments: planSegments('2026-11', [], () => undefined, enterprise),
      records,
      costMicros: 0,
      adjustments: [],
    });
    // 720 lane hours of 720: base fee 1,200,000 + surcharge 200,000 × 720 ÷ 720 = 200,000; no lane-hour usage
    // line (no "720 used, 744 included" line claiming an allowance that changes nothing): 1,400,000 cents.
    expect(st.usage.dedicated_lane_hours).toBe(720);
    expect(st.lines.filter((l) => l.meter === 'dedicated_lane_hours')).toEqual([]);
    expect(st.total).toBe(1_400_000);
  });
});
