import type { TenantId } from '../core/ids.ts';
import type { Tenant } from '../core/tenant.ts';
import type { Operation } from './operation-store.ts';

/**
 * Onboards a tenant that is promoted at once: the promotion's operation is recorded, then `create` writes
 * the tenant with that move on it (one write: never a tenant without the move), then the move is driven.
 */
export type OnboardMoving = <T extends { tenant: Tenant }>(
  tenantId: TenantId,
  create: (move: NonNullable<Tenant['move']>) => Promise<T>,
) => Promise<{ created: T; operation: Operation }>;

/**
 * Onboards a dedicated tenant whose lanes are made within the request: its intent is recorded (an `onboard`
 * operation), then `provisionAndCreate` makes its lanes and writes its record, then the operation ends. One
 * cut short between the two is reconciled at the next start (control/onboarding.ts `driveOnboard`).
 */
export type OnboardDedicated = (
  tenant: Pick<Tenant, 'id' | 'incarnation' | 'createdAt'>,
  provisionAndCreate: () => Promise<void>,
) => Promise<void>;

/** Hooks the control plane adds (placement moves, usage); optional so the API runs without them. */
export interface ControlHooks {
  /**
   * Onboarding a dedicated tenant whose resources take minutes (a stack on AWS) creates it shared and
   * promotes it with this, so it can submit at once.
   */
  onboardMoving?: OnboardMoving;
  /** Onboarding a dedicated tenant whose lanes are made at once records its intent first with this. */
  onboardDedicated?: OnboardDedicated;
  /** After a tenant was created or changed: the local function host applies its limits at once. */
  tenantChanged?(tenantId: TenantId): Promise<void>;
  /** After a dedicated tenant's function settings change: the operation applying them, if one is needed. */
  applySettings?(tenantId: TenantId): Promise<Operation | undefined>;
  /** Gate per submit: quotas and rate limits. Throws RateLimitedError. Returns headers to add. */
  admitSubmit?(tenant: Tenant): Promise<Record<string, string>>;
  /** After an admitted submit finished, whether it succeeded or failed. */
  submitSettled?(tenant: Tenant): void;
}
