import { isJobId, isTenantId, type JobId, type TenantId } from './ids.ts';

/** The body of a job message on a model queue. Small on purpose: the job record holds the input. */
export interface JobMessage {
  v: 1;
  tenantId: TenantId;
  jobId: JobId;
  model: string;
}

export function encodeJobMessage(message: Omit<JobMessage, 'v'>): string {
  return JSON.stringify({ v: 1, ...message });
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
  return { v: 1, tenantId: m.tenantId, jobId: m.jobId, model: m.model };
}
