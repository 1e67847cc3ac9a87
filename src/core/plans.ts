import type { Plan, TenantLimits } from './tenant.ts';
import type { Meter } from './usage.ts';

/** A price of `minor` minor units (cents) per `per` units of a meter: 1 cent per 10 jobs is `{ minor: 1, per: 10 }`. */
export interface UnitPrice {
  minor: number;
  per: number;
}

/** The limits a plan sets: rate (`submitRatePerSec`, `submitBurst`), concurrency, queued jobs, fair-scheduling weight. */
export type PlanLimits = Partial<
  Pick<TenantLimits, 'submitRatePerSec' | 'submitBurst' | 'maxRunningJobs' | 'maxQueuedJobs' | 'weight'>
>;

/** A pricing tier, as data (plans.yaml or the operator API). Amounts are minor units of `currency` per month. */
export interface BillingPlan {
  id: string;
  name: string;
  /** The limits tier behind it (core/tenant.ts PLAN_LIMITS); `limits` overrides parts of it. */
  tier: Plan;
  currency: string;
  baseFee: number;
  /** Units of each meter the base fee includes per month; each needs an `overage` price (`checkPlans`). */
  included: Partial<Record<Meter, number>>;
  /** Price of each unit beyond the included ones; a meter without a price is not billed. */
  overage: Partial<Record<Meter, UnitPrice>>;
  /** Extra per month while the tenant is dedicated, prorated by its dedicated lane hours. */
  dedicatedSurcharge: number;
  limits: PlanLimits;
}

export interface PlanCatalogue {
  plans: BillingPlan[];
}

/** JSON Schema of a plans file (`plans:` a list); Ajv checks it where plans enter (file and API). */
export const PLANS_SCHEMA = {
  type: 'object',
  required: ['plans'],
  additionalProperties: false,
  properties: {
    plans: {
      type: 'array',
      minItems: 1,
      maxItems: 200,
      items: {
        type: 'object',
        required: ['id', 'name', 'tier', 'currency', 'baseFee'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' },
          name: { type: 'string', minLength: 1, maxLength: 100 },
          tier: { type: 'string', enum: ['free', 'standard', 'enterprise'] },
          currency: { type: 'string', enum: ['USD', 'EUR', 'GBP', 'JPY'] },
          baseFee: { type: 'integer', minimum: 0, maximum: 1e12 },
          included: { $ref: '#/$defs/quantities' },
          overage: {
            type: 'object',
            additionalProperties: false,
            patternProperties: {
              '^(jobs|compute_mb_ms|mc_paths|storage_byte_days|api_requests|dedicated_lane_hours)$': {
                type: 'object',
                required: ['minor', 'per'],
                additionalProperties: false,
                properties: {
                  minor: { type: 'integer', minimum: 0, maximum: 1e9 },
                  per: { type: 'integer', minimum: 1, maximum: 1e15 },
                },
              },
            },
          },
          dedicatedSurcharge: { type: 'integer', minimum: 0, maximum: 1e12 },
          limits: {
            type: 'object',
            additionalProperties: false,
            properties: {
              submitRatePerSec: { type: 'number', minimum: 0.01, maximum: 100_000 },
              submitBurst: { type: 'integer', minimum: 1, maximum: 1_000_000 },
              maxRunningJobs: { type: 'integer', minimum: 1, maximum: 10_000 },
              maxQueuedJobs: { type: 'integer', minimum: 1, maximum: 10_000_000 },
              weight: { type: 'number', minimum: 0.01, maximum: 1000 },
            },
          },
        },
      },
    },
  },
  $defs: {
    quantities: {
      type: 'object',
      additionalProperties: false,
      patternProperties: {
        '^(jobs|compute_mb_ms|mc_paths|storage_byte_days|api_requests|dedicated_lane_hours)$': {
          type: 'integer',
          minimum: 0,
          maximum: 1e15,
        },
      },
    },
  },
} as const;

const GB_DAY = 1024 ** 3;
const GB_SECOND_MB_MS = 1024 * 1000;

/**
 * The plans a platform starts with (replace them with a plans file): one per limits tier. Enterprise's
 * base fee is above the seed's $10K/month line, where the decision matrix favours a dedicated placement.
 * Dedicated lane hours are priced by `dedicatedSurcharge` alone (a lane-hour allowance without an overage
 * price — Enterprise's former 744 — billed nothing, and is now refused by `checkPlans`).
 */
export const DEFAULT_PLANS: PlanCatalogue = {
  plans: [
    {
      id: 'free',
      name: 'Free',
      tier: 'free',
      currency: 'USD',
      baseFee: 0,
      // No allowance: nothing beyond one would be billed (Free's limits tier throttles it instead), and an
      // included quantity without an overage price is refused (control/plans.ts `checkPlans`).
      included: {},
      overage: {},
      dedicatedSurcharge: 0,
      limits: {},
    },
    {
      id: 'standard',
      name: 'Standard',
      tier: 'standard',
      currency: 'USD',
      baseFee: 50_000,
      included: {
        jobs: 50_000,
        compute_mb_ms: 100_000 * GB_SECOND_MB_MS,
        mc_paths: 10_000_000,
        storage_byte_days: 300 * GB_DAY,
        api_requests: 500_000,
      },
      overage: {
        jobs: { minor: 1, per: 1 },
        compute_mb_ms: { minor: 1, per: 10 * GB_SECOND_MB_MS },
        mc_paths: { minor: 1, per: 10_000 },
        storage_byte_days: { minor: 1, per: GB_DAY },
        api_requests: { minor: 1, per: 1000 },
      },
      dedicatedSurcharge: 100_000,
      limits: {},
    },
    {
      id: 'enterprise',
      name: 'Enterprise',
      tier: 'enterprise',
      currency: 'USD',
      baseFee: 1_200_000,
      included: {
        jobs: 1_000_000,
        compute_mb_ms: 2_000_000 * GB_SECOND_MB_MS,
        mc_paths: 500_000_000,
        storage_byte_days: 3000 * GB_DAY,
        api_requests: 10_000_000,
      },
      overage: {
        jobs: { minor: 1, per: 2 },
        compute_mb_ms: { minor: 1, per: 20 * GB_SECOND_MB_MS },
        mc_paths: { minor: 1, per: 20_000 },
        storage_byte_days: { minor: 1, per: 2 * GB_DAY },
        api_requests: { minor: 1, per: 2000 },
      },
      dedicatedSurcharge: 200_000,
      limits: {},
    },
  ],
};

export function planById(catalogue: PlanCatalogue, id: string): BillingPlan | undefined {
  return catalogue.plans.find((p) => p.id === id);
}
