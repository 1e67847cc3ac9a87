import { isJobId, isTenantId, type JobId, type TenantId } from './ids.ts';
import type { BilledBefore } from './job.ts';

/** The body of a job message on a model queue. Small on purpose: the job record holds the input. */
export interface JobMessage {
  v: 1;
  tenantId: TenantId;
  jobId: JobId;
  model: string;
  /**
   * A requeued job's (a dead letter redriven, an operator's retry) `billedBefore`, as the control plane wrote
   * it when it requeued the job. A dedicated process's host bills the job's next finish against this copy:
   * the one on the record is in the tenant's own store, which the process writes (docs/billing.md, "Redrive").
   */
  billedBefore?: BilledBefore;
}

/** The message body of `message`; `billedBefore` only when it is one (whole attempts ≥ 1, MB·ms ≥ 0). */
export function encodeJobMessage(message: Omit<JobMessage, 'v'>): string {
  const { billedBefore, ...rest } = message;
  const before = billedBeforeOf(billedBefore);
  return JSON.stringify({ v: 1, ...rest, ...(before ? { billedBefore: before } : {}) });
}

/** `value` if it is a `billedBefore` (whole attempts ≥ 1, finite MB·ms, taken as ≥ 0), else undefined. */
export function billedBeforeOf(value: unknown): BilledBefore | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { attempts, computeMbMs } = value as Record<string, unknown>;
  return Number.isSafeInteger(attempts) &&
    (attempts as number) > 0 &&
    typeof computeMbMs === 'number' &&
    Number.isFinite(computeMbMs)
    ? { attempts: attempts as number, computeMbMs: Math.max(0, computeMbMs) }
    : undefined;
}

export function decodeJobMessage(body: string): JobMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const m = parsed as Record<string, unknown>;
  if (m.v !== 1 || !isTenantId(m.tenantId) || !isJobId(m.jobId) || typeof m.model !== 'string')
    return undefined;
  const billedBefore = billedBeforeOf(m.billedBefore);
  return {
    v: 1,
    tenantId: m.tenantId,
    jobId: m.jobId,
    model: m.model,
    ...(billedBefore ? { billedBefore } : {}),
  };
}
